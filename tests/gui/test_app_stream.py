"""The embedded stream: host page bridge, letter-boxing, framing refusal and its two ways out."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWebEngineCore import QWebEnginePage

from ravatar_live.live.states import SessionState, StreamFailure, StreamStage
from ravatar_live.live.stream_monitor import StreamMonitor
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.host_scheme import HOST_URL
from ravatar_live.ui.stream_view import BRIDGE_PREFIX, StreamView, origin_of

pytestmark = pytest.mark.gui

Level = QWebEnginePage.JavaScriptConsoleMessageLevel


def js(app, script: str) -> object:
    """Evaluate JavaScript in the stream view's page and return its result."""
    return view_js(app.qtbot, app.window.stream_view, script)


def view_js(qtbot, view: StreamView, script: str) -> object:
    """Evaluate JavaScript in `view`'s page and return its result."""
    results: list[object] = []
    view.page().runJavaScript(script, 0, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    return results[0]


@pytest.mark.parametrize("size", [(1280, 720), (640, 480)])
def test_the_stream_is_letterboxed_at_the_session_aspect_ratio(make_app, size) -> None:
    from ravatar_live.settings import Settings

    width, height = size
    app = make_app(settings=Settings(user_id="0123456789abcdef01234567",
                                     stream_width=width, stream_height=height))
    app.go_live()
    box = json.loads(str(js(app, "JSON.stringify((() => { const r = document.querySelector("
                              "'iframe').getBoundingClientRect(); return [r.width, r.height, "
                              "innerWidth, innerHeight]; })())")))
    frame_w, frame_h, view_w, view_h = box
    assert frame_w / frame_h == pytest.approx(width / height, rel=0.02)
    # Fitted in the view: either at the stream's own size, or filling one dimension.
    assert frame_w <= view_w + 1 and frame_h <= view_h + 1
    assert (frame_w, frame_h) == (width, height) or frame_w >= view_w - 1 \
        or frame_h >= view_h - 1
    lic = app.run(_license_size(app))
    assert lic == (width, height)


@pytest.mark.parametrize(("view_size", "shown"), [
    ((1600, 900), (1280, 720)),  # room to spare: the stream's own size, never scaled up
    ((1274, 716), (1280, 720)),  # under 1 % short: its own size still, the edges cropped
    ((800, 600), (800, 450)),  # too small: scaled down to fit, letter-boxed
])
def test_the_stream_is_shown_at_its_own_size_when_the_view_has_room(
        qtbot, qloop, view_size: tuple[int, int], shown: tuple[int, int]) -> None:
    """QtWebEngine copies a video shown 1:1 and scales any other size on the CPU, at several
    times the cost (bench/bench_webview_scaling.py): the host page avoids scaling when it can."""
    view = StreamView()
    qtbot.addWidget(view)
    view.resize(*view_size)
    view.show()
    qtbot.waitUntil(lambda: view.host_ready, timeout=10_000)
    view.show_stream("http://127.0.0.1:9/stream", 1280, 720)
    script = ("JSON.stringify((() => { const f = document.querySelector('iframe');"
              " if (!f) return null; const r = f.getBoundingClientRect();"
              " return [r.x, r.y, r.width, r.height, innerWidth, innerHeight,"
              " devicePixelRatio]; })())")
    box: list[float] = []

    def measured() -> bool:
        answer = view_js(qtbot, view, script)
        value = json.loads(str(answer)) if answer else None
        if value is None or (value[4], value[5]) != view_size:
            return False  # no frame yet, or the page has not taken the view's size yet
        box[:] = value
        return True

    qtbot.waitUntil(measured, timeout=10_000)
    x, y, w, h, view_w, view_h, ratio = box
    assert (round(w * ratio), round(h * ratio)) == shown
    # Centred: an overflow is cropped evenly, bars are even.
    assert x == pytest.approx((view_w - w) / 2, abs=1)
    assert y == pytest.approx((view_h - h) / 2, abs=1)


async def _license_size(app) -> tuple[int, int]:
    license_id = app.controller.session.license_id
    lic = app.sim._state.licenses.get(license_id)
    return (lic.width, lic.height)


def test_refused_framing_is_explained_and_the_stream_can_be_shown_directly(make_app) -> None:
    app = make_app(sim=SimulatorConfig(transcribe=False, deny_framing=True,
                                       stream_webrtc=False, stream_voice=False))
    app.wait_connected()
    app.window.session_button.click()
    app.wait_session(SessionState.LIVE)
    app.wait_stream(StreamStage.FAILED)
    banner = app.window.banner
    assert banner.kind is BannerKind.ERROR
    assert "does not allow its page to be shown inside" in banner.text()
    assert [b.text() for b in banner.action_buttons()] == ["Show it directly",
                                                           "Open in browser"]
    banner.action("Open in browser").click()
    assert len(app.opened_urls) == 1
    assert "token=" in app.opened_urls[0]
    stream_root = f"{app.sim.stream_origin(app.controller.session.license_id)}/"
    assert app.opened_urls[0].startswith(stream_root)
    assert banner.title() == "Opened in your browser"

    app.window.show_stream_directly()
    app.wait_stream(StreamStage.PLAYING)  # the same bridge works for the top-level page
    assert app.window.stream_view.stream_page.direct_mode
    assert app.window.stream_view.url().toString().startswith(stream_root)
    # Ending the session puts the host page back.
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    app.qtbot.waitUntil(lambda: app.window.stream_view.host_ready, timeout=10_000)
    assert app.window.stream_view.url().toString() == HOST_URL


def test_a_stream_that_never_starts_is_reported(qtbot) -> None:
    monitor = StreamMonitor(start_timeout_s=0.2)
    with qtbot.waitSignal(monitor.failed, timeout=5_000) as blocker:
        monitor.begin()
    assert blocker.args[0] == StreamFailure.NO_START.value
    assert "did not start" in blocker.args[1]
    assert monitor.stage is StreamStage.FAILED
    # A late start after a failure is not silently ignored.
    monitor.on_page_message("ravatar-session-start")
    assert monitor.stage is StreamStage.PLAYING


def test_the_no_start_banner_offers_the_same_ways_out(make_app) -> None:
    app = make_app(stream_start_timeout_s=0.01)
    app.wait_connected()
    app.window.session_button.click()
    app.wait_session(SessionState.LIVE)
    # The page's start message and the tiny watchdog race at first, whichever the machine's
    # speed favours; once the stream plays, no further start message comes, so a new wait for
    # one can only end in the watchdog's failure.
    app.wait_stream(StreamStage.PLAYING)
    app.controller.stream.begin()
    app.wait_stream(StreamStage.FAILED)
    assert "did not start" in app.window.banner.text()
    assert app.window.banner.action("Open in browser").isEnabled()


def test_bridge_lines_from_other_sources_are_ignored(qtbot, qloop) -> None:
    view = StreamView()
    page = view.stream_page
    seen: list[str] = []
    page.bridge_message.connect(seen.append)
    page.stream_origin = "http://127.0.0.1:9"
    line = BRIDGE_PREFIX + json.dumps({"kind": "message", "data": "ravatar-session-start",
                                       "origin": "http://127.0.0.1:9"})
    page.javaScriptConsoleMessage(Level.InfoMessageLevel, line, 1, "http://evil.example/x.js")
    assert seen == []
    host_js = page.host_url.toString().replace("host.html", "host.js")
    page.javaScriptConsoleMessage(Level.InfoMessageLevel, line, 1, host_js)
    assert seen == ["ravatar-session-start"]
    wrong_origin = line.replace("127.0.0.1:9", "evil.example")
    page.javaScriptConsoleMessage(Level.InfoMessageLevel, wrong_origin, 1, host_js)
    assert seen == ["ravatar-session-start"]
    page.javaScriptConsoleMessage(Level.InfoMessageLevel, BRIDGE_PREFIX + "{not json", 1,
                                  host_js)
    assert seen == ["ravatar-session-start"]
    view.deleteLater()


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:8765/stream/x?width=1&token=a", "http://127.0.0.1:8765"),
    ("https://chat.rvtr.ai:443/stream", "https://chat.rvtr.ai"),
    ("https://Stream.Example.com/a#b", "https://stream.example.com"),
    ("http://[::1]:80/s", "http://[::1]"),
])
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin
