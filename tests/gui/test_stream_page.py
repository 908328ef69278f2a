"""The simulator's stream page inside a real QtWebEngine iframe: the host page receives
"ravatar-session-start" / "ravatar-session-close" through window.postMessage.

The simulator runs on its own asyncio loop in a background thread (SimulatorThread), so this test
needs no qasync loop: Qt's event loop (driven by qtbot) only renders the page, and the test talks
to the simulator over real HTTP. The host page forwards every `message` event to
console.log("host got: ..."), and a QWebEnginePage subclass turns console lines into a Qt signal
(javaScriptConsoleMessage sees the console of every frame, so the "host got:" prefix proves the
message crossed from the iframe to its parent).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from shiboken6 import Shiboken

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.http import post_json as post

pytestmark = pytest.mark.gui

LIVE_AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
WAIT_MS = 30_000  # generous: the first QtWebEngine start on a 2-core CI box is slow

HOST_PAGE = """<!doctype html>
<html><body style="margin:0;background:#222">
<iframe id="stream" src="{src}" width="640" height="360" style="border:0"
        allow="autoplay; microphone"></iframe>
<script>
  window.addEventListener("message", function (e) {{ console.log("host got: " + e.data); }});
</script>
</body></html>"""


class ConsolePage(QWebEnginePage):
    """Emits every console line of every frame."""

    console = Signal(str)

    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel,
                                 message: str, line: int, source: str) -> None:
        self.console.emit(message)




@pytest.fixture(scope="module", params=["webrtc", "canvas"])
def simulator(request) -> Iterator[SimulatorThread]:
    """Both ways the page shows the avatar: a WebRTC stream from the simulator, and the canvas
    it falls back to when aiortc is missing (forced here by the config flag)."""
    config = SimulatorConfig(port=0, transcribe=False, stream_webrtc=request.param == "webrtc")
    with SimulatorThread(config) as sim:
        assert sim.call(lambda s: s.webrtc_enabled) is (request.param == "webrtc"), \
            sim.call(lambda s: s.webrtc_missing_reason())
        yield sim


@pytest.fixture
def view(qtbot) -> Iterator[tuple[QWebEngineView, ConsolePage, list[str]]]:
    view = QWebEngineView()
    page = ConsolePage(view)
    view.setPage(page)
    seen: list[str] = []
    page.console.connect(seen.append)
    view.resize(660, 380)
    view.show()
    yield view, page, seen
    view.close()
    # Delete the page before the view, and now: QtWebEngine warns (and may crash at exit) when
    # its profile is released while a page still exists.
    Shiboken.delete(page)
    Shiboken.delete(view)


def start_session(sim: SimulatorThread) -> tuple[str, str, str]:
    token = post(sim.base_url + "/jwt", {"user_id": "gui-user", "project_id": "gui-project"})["jwt"]
    started = post(sim.base_url + "/startLiveSession",
                   {"avatar_id": LIVE_AVATAR, "width": "640", "height": "360"}, token)
    return token, started["LicenseId"], started["streamingUrl"]


def load_host(view: QWebEngineView, src: str) -> None:
    # Served from another origin than the simulator, as the app's host page will be.
    view.setHtml(HOST_PAGE.format(src=src), QUrl("http://localhost/host.html"))


def expect(qtbot, page: ConsolePage, message: str) -> None:
    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda line: line == f"host got: {message}"):
        pass


def test_stream_page_posts_start_then_close_to_its_parent(qtbot, simulator, view,
                                                          tmp_path: Path) -> None:
    web, page, seen = view
    token, license_id, url = start_session(simulator)
    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda m: m == "host got: ravatar-session-start"):
        load_host(web, f"{url}&token={token}")
    assert simulator.call(lambda s: s.stats())["live"] == 1
    # The stream page's event feed counts as watching: the license is in use.
    assert simulator.call(lambda s: s.stream_watchers(license_id)) == 1

    # Let the avatar speak once; the page really shows it (the head's colour at its centre),
    # decoded from the WebRTC video or drawn on the canvas.
    # In offscreen mode view.grab() is blank white: the web content lives in the focus proxy.
    simulator.run(_say(simulator, token, license_id, "Hello there, how are you today?"))
    qtbot.waitUntil(
        lambda: _is_head_colour(web.focusProxy().grab().toImage().pixelColor(320, 110)),
        timeout=WAIT_MS)
    shot = os.environ.get("RAVATAR_STREAM_SHOT", str(tmp_path / "stream-page.png"))
    assert web.focusProxy().grab().save(shot)

    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda m: m == "host got: ravatar-session-close"):
        post(simulator.base_url + "/endLiveSession", {"LicenseId": license_id}, token)
    assert seen.count("host got: ravatar-session-start") == 1


def _is_head_colour(colour: QColor) -> bool:
    head = QColor("#4f8cc9")  # Rebecca's colour in the simulator's catalog
    return all(abs(a - b) <= 12 for a, b in zip(
        (colour.red(), colour.green(), colour.blue()), (head.red(), head.green(), head.blue()),
        strict=True))


async def _say(simulator: SimulatorThread, token: str, license_id: str, text: str) -> None:
    import aiohttp
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(f"{simulator.ws_url}?token={token}") as ws:
        await ws.send_json({"avatar_id": LIVE_AVATAR, "user_id": "gui-user", "chat_type": "text",
                            "requestType": "text", "language": "en", "isLive": True,
                            "LicenseId": license_id, "request": text})
        reply = await ws.receive_json(timeout=10)
        assert reply["type"] == "incoming"


@pytest.mark.parametrize("case", ["bad token", "ended license"])
def test_forbidden_stream_page_posts_close(qtbot, simulator, view, case: str) -> None:
    web, page, seen = view
    token, license_id, url = start_session(simulator)
    if case == "ended license":
        post(simulator.base_url + "/endLiveSession", {"LicenseId": license_id}, token)
    else:
        token = "not-a-valid-token"
    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda m: m == "host got: ravatar-session-close"):
        load_host(web, f"{url}&token={token}")
    assert "host got: ravatar-session-start" not in seen
