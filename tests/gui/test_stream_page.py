"""The simulator's stream page (a stream instance's own Pixel Streaming player) inside a real
QtWebEngine iframe: it posts "ravatar-session-start" / "ravatar-session-close" to its parent and
runs the microphone handshake with it.

The simulator runs on its own asyncio loop in a background thread (SimulatorThread), so this test
needs no qasync loop: Qt's event loop (driven by qtbot) only renders the page, and the test talks
to the simulator over real HTTP. The host page here is the test's own (the app's forwards only
strings): it logs every message event as console lines, "host got: <string>" or
"host got object: <json>", and a QWebEnginePage subclass turns console lines into a Qt signal
(javaScriptConsoleMessage sees every frame's console; the "host got" prefix proves the message
crossed from the iframe to its parent).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineSettings,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from shiboken6 import Shiboken

from ravatar_live.simulator.server import PlayerFacts, SimulatorConfig
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
  window.addEventListener("message", function (e) {{
    console.log(typeof e.data === "string" ? "host got: " + e.data
                                           : "host got object: " + JSON.stringify(e.data));
  }});
  // What RAVATAR's widget sends to control the page's microphone.
  window.micCommand = function (type) {{
    document.getElementById("stream").contentWindow.postMessage(
      {{type: type, timestamp: Date.now()}}, "*");
  }};
</script>
</body></html>"""

# This machine has no sound card, so the stream page's microphone is a tone from WebAudio: a
# real MediaStreamTrack that Chromium encodes and sends like a microphone's (a stand-in for the
# device only; everything after getUserMedia is the real path).
FAKE_MICROPHONE = """(function () {
  if (!/^https?:$/.test(location.protocol) || !navigator.mediaDevices) { return; }
  navigator.mediaDevices.getUserMedia = function () {
    var context = new AudioContext();
    var tone = context.createOscillator();
    var gain = context.createGain();
    gain.gain.value = 0.3;
    var destination = context.createMediaStreamDestination();
    tone.connect(gain);
    gain.connect(destination);
    tone.start();
    context.resume();
    return Promise.resolve(destination.stream);
  };
})();"""


class ConsolePage(QWebEnginePage):
    """Emits every console line of every frame; grants the microphone to any page."""

    console = Signal(str)

    def __init__(self, parent: QWebEngineView) -> None:
        super().__init__(parent)
        self.permissionRequested.connect(self._grant)
        # As after a user's click: the WebAudio microphone may play without one.
        self.settings().setAttribute(
            QWebEngineSettings.WebAttribute.PlaybackRequiresUserGesture, False)

    def _grant(self, permission: QWebEnginePermission) -> None:
        permission.grant()

    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel,
                                 message: str, line: int, source: str) -> None:
        self.console.emit(message)


@pytest.fixture(scope="module", params=["webrtc", "canvas"])
def simulator(request) -> Iterator[SimulatorThread]:
    """Both ways the page shows the avatar: a VP8 WebRTC stream (QtWebEngine decodes it), and
    the canvas it draws when aiortc is missing (forced here by the config flag)."""
    config = SimulatorConfig(port=0, transcribe=False, stream_video_codec="VP8", max_licenses=8,
                             stream_webrtc=request.param == "webrtc")
    with SimulatorThread(config) as sim:
        assert sim.call(lambda s: s.webrtc_enabled) is (request.param == "webrtc"), \
            sim.call(lambda s: s.webrtc_missing_reason())
        yield sim


@pytest.fixture
def fake_microphone() -> Iterator[None]:
    """The WebAudio microphone in every frame of the default profile, for one test."""
    script = QWebEngineScript()
    script.setName("test-fake-microphone")
    script.setSourceCode(FAKE_MICROPHONE)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    scripts = QWebEngineProfile.defaultProfile().scripts()
    scripts.insert(script)
    yield
    scripts.remove(script)


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
    # Served from another origin than the stream, as the app's host page is.
    view.setHtml(HOST_PAGE.format(src=src), QUrl("http://localhost/host.html"))


def wait_line(qtbot, page: ConsolePage, matches: Callable[[str], bool]) -> str:
    lines: list[str] = []

    def check(line: str) -> bool:
        if matches(line):
            lines.append(line)
            return True
        return False

    with qtbot.waitSignal(page.console, timeout=WAIT_MS, check_params_cb=check):
        pass
    return lines[0]


def mic_objects(seen: list[str], name: str) -> list[dict[str, Any]]:
    prefix = "host got object: "
    found = [json.loads(line[len(prefix):]) for line in seen if line.startswith(prefix)]
    return [message for message in found if message.get("name") == name]


def test_stream_page_posts_start_then_close_to_its_parent(qtbot, simulator, view,
                                                          tmp_path: Path) -> None:
    web, page, seen = view
    token, license_id, url = start_session(simulator)
    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda m: m == "host got: ravatar-session-start"):
        load_host(web, f"{url}?token={token}")
    assert simulator.call(lambda s: s.stats())["live"] == 1
    # The page's signalling socket counts as a player: the license is in use.
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
    if simulator.call(lambda s: s.webrtc_enabled):
        [player] = simulator.call(lambda s: s.stream_players(license_id))
        assert (player["state"], player["codec"], player["rejected"]) == ("connected", "VP8", [])
        log = simulator.call(lambda s: s.signalling_log(license_id))
        from_page = [e["type"] for e in log if e["direction"] == "in"]
        assert from_page[:3] == ["listStreamers", "subscribe", "answer"]
        assert "iceCandidate" in from_page  # the page trickles its candidates
        # Epic's two events each post the start: streamConnect, then videoInitialized.
        assert seen.count("host got: ravatar-session-start") == 2
    else:
        assert seen.count("host got: ravatar-session-start") == 1

    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda m: m == "host got: ravatar-session-close"):
        post(simulator.base_url + "/endLiveSession", {"LicenseId": license_id}, token)


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


@pytest.mark.parametrize("case", ["bad token", "another user's token"])
def test_forbidden_stream_page_posts_close(qtbot, simulator, view, case: str) -> None:
    web, page, seen = view
    token, license_id, url = start_session(simulator)
    bad = "not-a-valid-token" if case == "bad token" else \
        simulator.call(lambda s: s.mint_token("someone-else"))
    with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                          check_params_cb=lambda m: m == "host got: ravatar-session-close"):
        load_host(web, f"{url}?token={bad}")
    assert "host got: ravatar-session-start" not in seen
    post(simulator.base_url + "/endLiveSession", {"LicenseId": license_id}, token)


def mic_simulator(**changes: Any) -> SimulatorThread:
    return SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_video_codec="VP8",
                                           stream_voice=False, **changes))


def command(web: QWebEngineView, type_: str) -> None:
    web.page().runJavaScript(f"micCommand({json.dumps(type_)})")


def heard_half_a_second(players: list[PlayerFacts]) -> bool:
    return bool(players) and players[0]["mic"]["speech"] and players[0]["mic"]["frames"] >= 25


def test_the_microphone_handshake_reaches_the_parent(qtbot, view, fake_microphone) -> None:
    web, page, seen = view
    with mic_simulator() as sim:
        token, license_id, url = start_session(sim)
        load_host(web, f"{url}?token={token}")
        wait_line(qtbot, page, lambda line: "ravatar-ps-mic-ready" in line
                  and "video-initialized" in line)
        [connected, video] = mic_objects(seen, "ravatar-ps-mic-ready")
        assert connected["reason"] == "webrtc-connected" and video["reason"] == "video-initialized"
        assert (video["hasMicTrack"], video["enabled"], video["readyState"]) == (True, True, "live")
        assert isinstance(video["label"], str) and video["timestamp"] > 0
        # The streamer hears the microphone on the offer's audio track (half a second of it:
        # shorter sounds are not utterances).
        sim.run(sim.sim.wait_for_stream(license_id, heard_half_a_second, within_s=20))

        command(web, "rvo-ps-mic-mute")
        wait_line(qtbot, page, lambda line: "ravatar-ps-mic-state" in line)
        [muted] = mic_objects(seen, "ravatar-ps-mic-state")
        assert (muted["requested"], muted["applied"], muted["hasMicTrack"], muted["enabled"]) \
            == ("mute", True, True, False)
        # Muted, the track sends silence: the utterance in progress ends (a tone would go on
        # for the 15 s cap).
        sim.run(sim.sim.wait_for_stream(
            license_id, lambda ps: ps[0]["mic"]["utterances"] >= 1, within_s=8))

        # A dropped connection comes back with the wish still applied (sticky).
        assert sim.run(sim.sim.drop_stream_players(license_id)) == 1
        wait_line(qtbot, page, lambda line: "ravatar-ps-mic-ready" in line
                  and len(mic_objects(seen, "ravatar-ps-mic-ready")) >= 3)
        again = mic_objects(seen, "ravatar-ps-mic-ready")[2]
        assert (again["hasMicTrack"], again["enabled"]) == (True, False)
        assert seen.count("host got: ravatar-session-start") >= 3  # posted again on reconnect

        command(web, "rvo-ps-mic-unmute")
        wait_line(qtbot, page, lambda line: "ravatar-ps-mic-state" in line
                  and "unmute" in line)
        unmuted = mic_objects(seen, "ravatar-ps-mic-state")[-1]
        assert (unmuted["requested"], unmuted["applied"], unmuted["enabled"]) == (
            "unmute", True, True)
        with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                              check_params_cb=lambda m: m == "host got: ravatar-session-close"):
            post(sim.base_url + "/endLiveSession", {"LicenseId": license_id}, token)


def test_an_older_page_obeys_the_microphone_but_never_answers(qtbot, view,
                                                              fake_microphone) -> None:
    web, page, seen = view
    with mic_simulator(page_mic_handshake=False) as sim:
        token, license_id, url = start_session(sim)
        with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                              check_params_cb=lambda m: m == "host got: ravatar-session-start"):
            load_host(web, f"{url}?token={token}")
        sim.run(sim.sim.wait_for_stream(license_id, heard_half_a_second, within_s=20))
        command(web, "rvo-ps-mic-mute")
        sim.run(sim.sim.wait_for_stream(  # obeyed: the microphone went silent
            license_id, lambda ps: ps[0]["mic"]["utterances"] >= 1, within_s=8))
        with qtbot.waitSignal(page.console, timeout=WAIT_MS,
                              check_params_cb=lambda m: m == "host got: ravatar-session-close"):
            post(sim.base_url + "/endLiveSession", {"LicenseId": license_id}, token)
    # Messages from one frame arrive in order: an answer would have come before the close.
    assert not [line for line in seen if line.startswith("host got object: ")]
