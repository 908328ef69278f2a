"""The stream problem banner and the stats overlay as widgets (real Qt, no web engine): the
problem survives the window's "Live" banner, yields to real errors, goes with the stream; the
overlay toggles with its action and keeps to the stream's top-right corner, clear of the banner."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget

from ravatar_live.live.stream_health import STATS_PREFIX, StreamHealth
from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.stream_stats import StreamProblemPresenter, StreamStatsOverlay

pytestmark = pytest.mark.gui

H264_REFUSED = STATS_PREFIX + ('{"kind": "stats", "state": "connecting", "offeredVideo": ["H264"],'
                               ' "videoRejected": true}')


@pytest.fixture
def parts(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(800, 450)
    banner = Banner(host)
    health = StreamHealth()
    opened: list[int] = []
    StreamProblemPresenter(health, banner, lambda: opened.append(1))
    host.show()
    return host, banner, health, opened


def test_the_codec_problem_outlives_the_live_banner(qtbot, parts) -> None:
    _host, banner, health, opened = parts
    health.begin()
    health.on_page_message(H264_REFUSED)
    assert banner.isVisible() and banner.kind is BannerKind.ERROR and "H.264" in banner.text()
    # The window greets "ravatar-session-start" with a short success banner...
    banner.show_message(BannerKind.SUCCESS, "Live", "The avatar can hear you now.")
    qtbot.waitUntil(lambda: banner.kind is BannerKind.ERROR, timeout=2000)
    assert "H.264" in banner.text()
    banner.action("Open in browser").click()
    assert opened == [1]
    # ...but a real error is not covered up.
    banner.show_message(BannerKind.ERROR, "Chat connection lost", "Reconnecting.")
    qtbot.wait(50)
    assert banner.title() == "Chat connection lost"


def test_the_problem_goes_with_the_stream(qtbot, parts) -> None:
    _host, banner, health, _opened = parts
    health.begin()
    health.on_page_message(H264_REFUSED)
    assert banner.isVisible()
    health.reset()  # the session ended / the stream closed
    assert not banner.isVisible()
    banner.show_message(BannerKind.SUCCESS, "Live")
    qtbot.wait(50)
    assert banner.title() == "Live"


def test_overlay_toggles_and_sits_top_right_clear_of_the_banner(qtbot, parts) -> None:
    host, banner, health, _opened = parts
    overlay = StreamStatsOverlay(host)
    overlay.keep_clear_of(banner)
    health.stats_updated.connect(overlay.show_stats)
    action = overlay.toggle_action()
    assert not overlay.isVisible() and not action.isChecked()
    action.trigger()
    assert overlay.isVisible()
    health.on_page_message(STATS_PREFIX + '{"kind": "stats", "state": "connected", '
                           '"videoCodec": "VP9", "framesDecoded": 3, "fps": 30}')
    assert overlay.values()["Video codec"] == "VP9"
    assert overlay.values()["State"] == "WebRTC connected"
    geometry = overlay.geometry()
    assert geometry.right() <= host.width() and geometry.top() >= 0
    assert geometry.left() > host.width() // 2 and geometry.bottom() < host.height() // 2
    host.resize(1000, 600)
    qtbot.waitUntil(lambda: overlay.geometry().right() > 800, timeout=2000)
    # A banner across the top (as the window places it) pushes the panel below itself...
    banner.show_message(BannerKind.WARNING, "No video from the stream", "Open it in a browser.")
    banner.setGeometry(200, 16, 620, 90)
    assert overlay.geometry().top() > banner.geometry().bottom()
    assert overlay.geometry().bottom() <= host.height()
    banner.clear()  # ...and lets it back up once it is gone
    assert overlay.geometry().top() < banner.geometry().top() + 10
    overlay.toggle()
    assert not overlay.isVisible() and not action.isChecked()
    overlay.clear()
    assert overlay.values()["Video codec"] == "\u2014"
