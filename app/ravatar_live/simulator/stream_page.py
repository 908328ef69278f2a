"""The stand-in for RAVATAR's Pixel Streaming page: /stream/<LicenseId>?width=&height=&token=.

The page follows the simulator's events over /stream/<LicenseId>/events?token= (listening /
thinking / speaking / session-end). With WebRTC (aiortc installed, `stream_webrtc` on) it asks
for the avatar as a real WebRTC stream on that same socket (see webrtc_support) and plays it in a
<video>; otherwise, or when WebRTC fails, it draws the avatar on a canvas itself. It tells its
parent window "ravatar-session-start" once the stream runs (WebRTC connected, or the canvas
started) and "ravatar-session-close" when the license ends or the token check fails
(PROTOCOL.md section 3).
"""

from __future__ import annotations

import contextlib
import json
import logging
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from aiohttp import WSMsgType, web

from ravatar_live.simulator.auth import TokenRejectedError
from ravatar_live.simulator.catalog import avatar_by_id
from ravatar_live.simulator.licenses import License
from ravatar_live.simulator.rest import MAX_HEIGHT, MAX_WIDTH
from ravatar_live.simulator.state import STATE_KEY, SimulatorState
from ravatar_live.simulator.webrtc_support import PageStream, webrtc_enabled

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")


def _size(raw: str | None, fallback: int, maximum: int) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        return fallback
    return value if 1 <= value <= maximum else fallback


def _page_headers(state: SimulatorState) -> dict[str, str]:
    headers = {"Cache-Control": "no-store"}
    if state.config.deny_framing:
        # Like a stream server that refuses to be framed: the iframe stays blank (PROTOCOL.md 3).
        headers["X-Frame-Options"] = "DENY"
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return headers


def _checked_license(state: SimulatorState, license_id: str, token: str | None) -> License | str:
    """The live license, or the reason the page must refuse."""
    try:
        state.tokens.verify(token)
    except TokenRejectedError as exc:
        return str(exc)
    lic = state.licenses.get(license_id)
    return lic if lic is not None else "license is not live"


async def stream_page(request: web.Request) -> web.Response:
    """The avatar page, or a black "forbidden" page that closes the session in its parent."""
    state = request.app[STATE_KEY]
    license_id = request.match_info["license_id"]
    checked = _checked_license(state, license_id, request.query.get("token"))
    headers = _page_headers(state)
    if isinstance(checked, str):
        log.info("stream page refused for %s: %s", license_id, checked)
        page = (STATIC_DIR / "forbidden.html").read_text(encoding="utf-8")
        return web.Response(text=Template(page).substitute(reason=escape(checked)),
                            status=403, content_type="text/html", headers=headers)
    avatar = avatar_by_id(checked.avatar_id)
    config = {
        "licenseId": license_id,
        "width": _size(request.query.get("width"), checked.width, MAX_WIDTH),
        "height": _size(request.query.get("height"), checked.height, MAX_HEIGHT),
        "avatarName": avatar.name if avatar else "Avatar",
        "color": avatar.color if avatar else "#4f8cc9",
        "webrtc": webrtc_enabled(state.config),
    }
    page = (STATIC_DIR / "stream.html").read_text(encoding="utf-8")
    text = Template(page).substitute(
        title=escape(f"{config['avatarName']} - RAVATAR simulator stream"),
        # Embedded as an HTML attribute, so the JSON is HTML-escaped and read back with JSON.parse.
        config=escape(json.dumps(config), quote=True))
    return web.Response(text=text, content_type="text/html", headers=headers)


async def stream_events(request: web.Request) -> web.StreamResponse:
    """The page's event feed; 403 at the upgrade when the token or license is bad. While a page
    is connected its license counts as in use, so it does not expire."""
    state = request.app[STATE_KEY]
    license_id = request.match_info["license_id"]
    checked = _checked_license(state, license_id, request.query.get("token"))
    if isinstance(checked, str):
        return web.json_response({"status": 403, "error": checked}, status=403)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024 * 1024)
    await ws.prepare(request)
    avatar = avatar_by_id(checked.avatar_id)
    media = PageStream(state.config, checked.width, checked.height,
                       avatar.color if avatar else "#4f8cc9")
    state.sockets.add(ws)
    state.stream_watchers.setdefault(license_id, set()).add(ws)
    state.stream_media.setdefault(license_id, set()).add(media)
    state.licenses.watch(license_id, +1)
    try:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_json({"event": "ready", "licenseId": license_id})
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                reply = await media.handle(_page_message(frame.data))
                if reply is not None:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.send_json(reply)
    finally:
        state.sockets.discard(ws)
        state.stream_watchers.get(license_id, set()).discard(ws)
        state.stream_media.get(license_id, set()).discard(media)
        state.licenses.watch(license_id, -1)
        await media.close()
    return ws


def _page_message(raw: str) -> dict[str, Any]:
    """A page frame as a dict; anything else becomes an empty (ignored) message."""
    try:
        message = json.loads(raw)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def add_routes(app: web.Application) -> None:
    """Register the stream page, its event feed and its static assets."""
    app.router.add_get("/stream/{license_id}", stream_page)
    app.router.add_get("/stream/{license_id}/events", stream_events)
    app.router.add_static("/static/", STATIC_DIR)
