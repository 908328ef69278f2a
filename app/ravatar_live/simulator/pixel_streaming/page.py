"""The instance's HTML: the player page (static/player.html, our own Pixel Streaming player) and
the black forbidden page, plus the static assets they load."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from string import Template

from ravatar_live.simulator.pixel_streaming.spec import InstanceSpec

STATIC_DIR = Path(__file__).with_name("static")
# Served to anyone, like the Pixel Streaming web server's static files: no secrets in them.
ASSETS = {"player.js": "application/javascript", "avatar-canvas.js": "application/javascript",
          "player.css": "text/css"}


def page_headers(spec: InstanceSpec) -> dict[str, str]:
    """Headers for the HTML pages."""
    headers = {"Cache-Control": "no-store"}
    if spec.deny_framing:
        # Like a stream server that refuses to be framed: the iframe stays blank (PROTOCOL.md 3).
        headers["X-Frame-Options"] = "DENY"
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return headers


def player_page(spec: InstanceSpec) -> str:
    """The player page for this instance; its settings ride in `data-config`."""
    config = {
        "canvas": not spec.webrtc,
        "micHandshake": spec.mic_handshake,
        "colour": spec.stream.colour,
        "width": spec.stream.width,
        "height": spec.stream.height,
    }
    page = (STATIC_DIR / "player.html").read_text(encoding="utf-8")
    # Embedded as an HTML attribute: the JSON is HTML-escaped and read back with JSON.parse.
    return Template(page).substitute(config=escape(json.dumps(config), quote=True))


def forbidden_page() -> str:
    """The black page a refused request ends on; it closes the session in its parent."""
    return (STATIC_DIR / "forbidden.html").read_text(encoding="utf-8")
