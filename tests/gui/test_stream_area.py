"""The stream area hosts more than one player view (the web view today, a native one next) and
keeps the banner above whichever is shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.stream_area import BANNER_MAX_WIDTH, StreamArea

pytestmark = pytest.mark.gui


@pytest.fixture
def area(qtbot) -> Iterator[StreamArea]:
    host = QWidget()
    qtbot.addWidget(host)
    first = QWidget()  # plain widgets stand for the players: only the stacking is under test
    made = StreamArea(first, Banner(), host)
    made.resize(1000, 560)
    host.show()
    yield made


def test_a_second_view_can_be_stacked_and_shown(area, qtbot) -> None:
    second = QWidget()
    area.add_view(second)
    assert area.current_view is area.view, "a new view waits until it is shown"
    area.show_view(second)
    assert area.current_view is second
    qtbot.waitUntil(second.isVisible, timeout=2_000)
    assert not area.view.isVisible()
    assert second.focusPolicy() is Qt.FocusPolicy.NoFocus, "the area keeps the focus"
    assert area.focusPolicy() is Qt.FocusPolicy.StrongFocus
    assert second.geometry().size() == area.contentsRect().size()


def test_the_banner_floats_centred_over_whichever_view(area, qtbot) -> None:
    second = QWidget()
    area.add_view(second)
    area.show_view(second)
    area.banner.post("t", BannerKind.INFO, "Connecting stream…", "Waiting for the video.")
    qtbot.waitUntil(area.banner.isVisible, timeout=2_000)
    geometry = area.banner.geometry()
    assert geometry.width() == BANNER_MAX_WIDTH
    assert abs(geometry.center().x() - area.width() // 2) <= 1
    siblings = [w for w in area.children() if isinstance(w, QWidget)]
    assert siblings.index(area.banner) > siblings.index(second), "drawn above the view"
