"""Stream health wired into the real main window (AppController in demo mode, the embedded
simulator on the app's own qasync loop, a real offscreen QtWebEngine):

- an H.264-only stream: the window's banner explains the codec and offers "Open in browser";
- a VP8 stream: the stats overlay shows the codec and decoded frames, a voice turn gets its
  latency figure beside the avatar's reply, the avatar speaks it in the stream (whose page shows
  the stream only, no captions), and the latencies export as CSV;
- a connected stream with no frames, the gear menu and the Ctrl+Shift+S shortcut.

Set RAVATAR_HEALTH_SHOT=<dir> to keep a screenshot of the live window with the overlay shown.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWebEngineCore import QWebEngineFrame

from ravatar_live.live.states import SessionState, StreamStage
from ravatar_live.live.stream_health import STATS_PREFIX
from ravatar_live.live.turn_latency import CSV_HEADER
from ravatar_live.settings import Settings
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.main_window import MainWindow
from ravatar_live.ui.stream_stats import PROBLEM_TITLES

pytestmark = pytest.mark.gui

AppHarness = Any  # tests/gui/conftest.py's harness, handed out by its make_app fixture
log = logging.getLogger("figures")
WAIT_MS = 30_000  # generous: the first QtWebEngine start on a 2-core CI box is slow
SMALL = Settings(user_id="0123456789abcdef01234567", stream_width=640, stream_height=360)


def quick_simulator(**changes: Any) -> SimulatorConfig:
    """As tests/gui/conftest.py's: no speech recognition, then the stream parts a test asks for
    (the replies still quote what arrived, ">(...)", as a voice reply does)."""
    base: dict[str, Any] = {"transcribe": False, "utterance_gap_s": 0.3,
                            "stream_webrtc": False, "stream_voice": False}
    return SimulatorConfig(**{**base, **changes})


def start_session(app: AppHarness) -> None:
    app.wait_connected()
    app.window.session_button.click()
    app.wait_session(SessionState.LIVE)


def stats_message(**fields: Any) -> str:
    report = {"v": 1, "t": 1, "kind": "stats", "state": "connected", "offeredVideo": ["VP8"],
              "videoRejected": False, "hasVideo": True, "framesDecoded": 0,
              "framesReceived": 0, **fields}
    return STATS_PREFIX + json.dumps(report)


def stream_frame(app: AppHarness) -> QWebEngineFrame:
    """The stream page's frame inside the host page (cross-origin, so only the frame API)."""
    children: list[QWebEngineFrame] = []

    def found() -> bool:
        children[:] = app.window.stream_view.page().mainFrame().children()
        return bool(children)

    app.qtbot.waitUntil(found, timeout=WAIT_MS)
    return children[0]


def frame_js(app: AppHarness, frame: QWebEngineFrame, script: str) -> object:
    results: list[object] = []
    frame.runJavaScript(script, 0, results.append)
    app.qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    return results[0]


def window_shot(window: MainWindow, path: Path) -> Path:
    """The window as the user sees it: offscreen, the web content lives in the view's focus proxy
    and a plain window grab leaves it blank, so it is painted in at the view's place."""
    image = window.grab()
    view = window.stream_view
    proxy = view.focusProxy()
    assert proxy is not None
    content = proxy.grab()
    painter = QPainter(image)
    painter.drawPixmap(view.mapTo(window, view.rect().topLeft()), content)
    # The overlay and banner float over the web content: paint them again on top.
    for widget in (window.stats_overlay, window.banner):
        if widget.isVisible():
            painter.drawPixmap(widget.mapTo(window, widget.rect().topLeft()), widget.grab())
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    assert QPixmap(image).save(str(path))
    return path


def test_h264_only_stream_is_explained_on_the_window_banner(make_app) -> None:
    # The web player chosen: it never switches, so the user must be told (in "auto" the app
    # switches to its own player instead: tests/gui/test_stream_players.py).
    app = make_app(sim=quick_simulator(stream_webrtc=True, stream_video_codec="H264"),
                   settings=SMALL.replace(stream_player="web"))
    start_session(app)
    window, banner = app.window, app.window.banner
    # The short "Live" banner may come and go first; the codec problem must be what stays.
    app.qtbot.waitUntil(lambda: banner.isVisible()
                        and banner.title() == PROBLEM_TITLES["codec"], timeout=WAIT_MS)
    assert banner.kind is BannerKind.ERROR
    assert "H.264" in banner.text() and "web browser" in banner.text()
    assert [b.text() for b in banner.action_buttons()] == ["Open in browser"]
    assert window.stream_health.problem_kind == "codec"
    assert window.stream_health.first_frame_s is None

    window.stats_action.trigger()
    assert window.stats_overlay.isVisible()
    overlay = window.stats_overlay.values()
    assert "H.264" in overlay["Video codec"]
    assert overlay["Frames"].startswith("0 decoded")
    # The banner grows to its whole message and button (nothing clipped)...
    app.qtbot.waitUntil(lambda: banner.height() >= banner.heightForWidth(banner.width()),
                        timeout=5_000)
    assert banner.action("Open in browser").geometry().bottom() < banner.height()
    # ...and the statistics panel moves below it (once the banner's new height is laid out),
    # not over its words or its button.
    app.qtbot.waitUntil(
        lambda: window.stats_overlay.geometry().top() > banner.geometry().bottom(), timeout=5_000)
    if folder := os.environ.get("RAVATAR_HEALTH_SHOT"):
        window_shot(window, Path(folder) / "live-window-h264.png")

    banner.action("Open in browser").click()
    assert len(app.opened_urls) == 1
    assert app.opened_urls[0].startswith(
        f"{app.sim.stream_origin(app.controller.session.license_id)}/")
    assert "token=" in app.opened_urls[0]
    assert banner.title() == "Opened in your browser"

    window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert window.stream_health.problem_kind is None
    assert window.stats_overlay.values()["State"] == "No stream"


def test_vp8_stream_shows_figures_turn_latency_and_the_spoken_reply(
        make_app, qtbot, tmp_path: Path) -> None:
    app = make_app(sim=quick_simulator(stream_webrtc=True, stream_voice=True,
                                       stream_video_codec="VP8"), settings=SMALL)
    start_session(app)
    app.wait_stream(StreamStage.PLAYING)
    window = app.window
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.stats_overlay.isVisible() and window.stats_action.isChecked()
    health = window.stream_health
    qtbot.waitUntil(lambda: health.latest is not None and health.latest.frames_decoded > 0,
                    timeout=WAIT_MS)
    assert health.first_frame_s is not None and health.first_frame_s > 0
    assert health.problem_kind is None
    overlay = window.stats_overlay.values()
    assert overlay["Video codec"] == "VP8"
    assert overlay["Resolution"] == "640\u00d7360"
    assert overlay["First frame"].endswith(" s")

    # A voice turn: hold to talk; the reply quotes what arrived (">(...)") before its answer.
    button = window.talk_bar.talk_button
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sum("audio_base64_pcm" in m for m in app.sim.messages) >= 2,
                    timeout=10_000)
    with qtbot.waitSignal(app.controller.voice.take_sent, timeout=10_000):
        qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    conversation = window.conversation
    qtbot.waitUntil(lambda: any("voice" in f for f in conversation.latency_figures()),
                    timeout=WAIT_MS)
    turn = window.turns.log.turns[-1]
    assert turn.via == "voice"
    assert turn.reply_s is not None and turn.speaking_s is not None
    figure = conversation.latency_figures()[-1]
    assert figure == f"reply {turn.reply_s:.2f} s · voice {turn.speaking_s:.2f} s"
    assert window.stats_overlay.values()["Last turn"].startswith("reply ")

    # The avatar says its reply in the stream; the page shows the stream only (no captions).
    license_id = app.controller.session.license_id
    qtbot.waitUntil(lambda: app.sim.stream_players(license_id)[0]["samples_spoken"] > 0,
                    timeout=WAIT_MS)
    assert frame_js(app, stream_frame(app), "document.body.innerText.trim()") == ""

    exported = tmp_path / "latencies.csv"
    assert window.export_turn_latencies(exported)
    rows = list(csv.reader(exported.read_text(encoding="utf-8").splitlines()))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[-1][2] == "voice"
    assert float(rows[-1][3]) == pytest.approx(turn.reply_s, abs=0.001)
    assert float(rows[-1][4]) == pytest.approx(turn.speaking_s, abs=0.001)
    assert window.banner.title() == "Turn latencies saved"

    if folder := os.environ.get("RAVATAR_HEALTH_SHOT"):
        window.banner.clear()
        path = window_shot(window, Path(folder) / "live-window-overlay.png")
        log.info("figures: first frame %.2f s; overlay %s; turn %s; %s", health.first_frame_s,
                 window.stats_overlay.values(), figure, path)


def test_a_connected_stream_with_no_frames_is_explained_and_clears(make_app) -> None:
    # The canvas stream page (no WebRTC, so the probe itself stays quiet), in the web player
    # only: "auto" would switch players instead (tests/gui/test_stream_players.py).
    app = make_app(settings=SMALL.replace(stream_player="web"))
    window, banner = app.window, app.window.banner
    window.stream_health.set_no_frames_timeout(0.2)
    start_session(app)
    app.wait_stream(StreamStage.PLAYING)
    # A stand-in probe report (the simulator cannot connect WebRTC and then withhold frames):
    # it travels the real path, from the view's page_message through the window's wiring.
    window.stream_view.page_message.emit(stats_message())
    app.qtbot.waitUntil(lambda: banner.isVisible()
                        and banner.title() == PROBLEM_TITLES["no-frames"], timeout=WAIT_MS)
    assert banner.kind is BannerKind.WARNING
    assert "no video has arrived in 0.2 seconds" in banner.text()
    assert app.controller.stream.stage is StreamStage.PLAYING  # the monitor ignored the stats
    banner.action("Open in browser").click()
    assert app.opened_urls and app.opened_urls[0].startswith(
        f"{app.sim.stream_origin(app.controller.session.license_id)}/")

    window.stream_health.problem.emit("no-frames", "again")  # the problem comes back...
    assert banner.title() == PROBLEM_TITLES["no-frames"]
    window.stream_view.page_message.emit(stats_message(framesDecoded=3, framesReceived=3,
                                                       videoCodec="VP8"))
    assert not banner.isVisible()  # ...and goes once frames arrive
    assert window.stream_health.first_frame_s is not None


def test_the_gear_menu_offers_statistics_and_the_export(make_app, tmp_path: Path) -> None:
    app = make_app(connect=False)
    window = app.window
    labels = [a.text() for a in window.gear_menu.actions() if not a.isSeparator()]
    assert labels == ["Settings…", "Keyboard shortcuts", "Test your setup…", "Stream statistics",
                      "Export turn latencies…", "Save diagnostics…", "Quit"]
    assert window.stats_action.isCheckable()
    assert window.stats_action.shortcut().toString() == "Ctrl+Shift+S"
    assert window.stats_action in window.actions()
    window.stats_action.trigger()
    assert window.stats_overlay.isVisible()
    geometry, area = window.stats_overlay.geometry(), window.stream_area.rect()
    assert area.contains(geometry)
    assert geometry.left() > area.width() // 2  # bottom-right, clear of the banner
    if folder := os.environ.get("RAVATAR_HEALTH_SHOT"):
        menu = window.gear_menu
        menu.popup(window.settings_button.mapToGlobal(window.settings_button.rect().bottomLeft()))
        app.qtbot.waitExposed(menu)
        assert menu.grab().save(str(Path(folder) / "gear-menu.png"))
        menu.hide()
    window.stats_action.trigger()
    assert not window.stats_overlay.isVisible()

    chosen = tmp_path / "turns.csv"
    window.ask_save_path = lambda _suggested: str(chosen)
    window.export_latencies_action.trigger()
    assert chosen.read_text(encoding="utf-8").splitlines() == [",".join(CSV_HEADER)]
    assert window.banner.title() == "Turn latencies saved"

    window.ask_save_path = lambda _suggested: ""  # the user cancelled the dialog
    window.banner.clear()
    window.export_latencies_action.trigger()
    assert not window.banner.isVisible()

    unwritable = tmp_path / "no-such-folder" / "turns.csv"
    assert not window.export_turn_latencies(unwritable)
    assert window.banner.kind is BannerKind.ERROR
    assert window.banner.title() == "Turn latencies not saved"
    assert "turns.csv" in window.banner.text()
    assert not unwritable.exists()
