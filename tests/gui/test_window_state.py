"""The window comes back as it was left: size, maximised, the conversation pane's width; and a
first start gets a size that fits the screen, never below 800 x 600."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_size_and_pane_width_are_remembered(make_app) -> None:
    # Sizes within the offscreen screen (800 x 800): Qt fits a restored window to its screen.
    first = make_app()
    window = first.window
    window.resize(800, 640)
    first.qtbot.waitUntil(lambda: window.size().toTuple() == (800, 640), timeout=5_000)
    window.splitter.setSizes([800 - 290, 290])
    first.close()
    saved = first.store.load()
    assert saved.window_geometry and not saved.window_maximized
    assert saved.conversation_width == window.splitter.sizes()[1] == 290

    again = make_app(settings=saved)
    restored = again.window
    again.qtbot.waitUntil(lambda: restored.size().toTuple() == (800, 640), timeout=5_000)
    again.qtbot.waitUntil(lambda: restored.splitter.sizes()[1] == 290, timeout=5_000)


def test_maximised_is_remembered(make_app) -> None:
    first = make_app()
    first.window.showMaximized()
    first.qtbot.waitUntil(first.window.isMaximized, timeout=5_000)
    first.close()
    saved = first.store.load()
    assert saved.window_maximized

    again = make_app(settings=saved)
    again.qtbot.waitUntil(again.window.isMaximized, timeout=5_000)


def test_a_first_start_fits_the_screen(make_app) -> None:
    app = make_app()
    window = app.window
    screen = window.screen().availableGeometry()
    assert window.minimumSize().toTuple() == (800, 600)
    assert window.width() <= max(800, screen.width()) and window.height() <= max(600,
                                                                                  screen.height())
    assert window.width() >= 800 and window.height() >= 600
    assert 240 <= window.splitter.sizes()[1] <= 420, "the conversation gets a sensible share"
