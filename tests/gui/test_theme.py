"""The look: both schemes meet WCAG AA, the window follows the system's light or dark scheme, a
setting overrides it, and nothing keeps the old colours after a switch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from ravatar_live.resources import resource_path
from ravatar_live.ui.palette import (
    COMPONENT_PAIRS,
    DARK,
    LIGHT,
    TEXT_PAIRS,
    Colors,
    contrast_ratio,
)
from ravatar_live.ui.theme import apply_theme

pytestmark = pytest.mark.gui

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.mark.parametrize("scheme", [DARK, LIGHT], ids=lambda c: c.name)
def test_text_meets_wcag_aa(scheme: Colors) -> None:
    low = [(what, round(contrast_ratio(getattr(scheme, fg), getattr(scheme, bg)), 2))
           for fg, bg, what in TEXT_PAIRS
           if contrast_ratio(getattr(scheme, fg), getattr(scheme, bg)) < 4.5]
    assert low == [], "text below 4.5:1"


@pytest.mark.parametrize("scheme", [DARK, LIGHT], ids=lambda c: c.name)
def test_focus_rings_and_edges_meet_wcag_aa(scheme: Colors) -> None:
    low = [(what, round(contrast_ratio(getattr(scheme, fg), getattr(scheme, bg)), 2))
           for fg, bg, what in COMPONENT_PAIRS
           if contrast_ratio(getattr(scheme, fg), getattr(scheme, bg)) < 3.0]
    assert low == [], "controls' edges and the focus ring below 3:1"


def test_contrast_arithmetic_matches_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_the_stylesheet_takes_every_colour_from_the_schemes() -> None:
    sheet = resource_path("style", "app.qss").read_text(encoding="utf-8")
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b", sheet) == [], "a colour outside the schemes"
    names = {f.name for f in fields(Colors)}
    unknown = set(re.findall(r"@([a-z_]+)@", sheet)) - names - {"ICONS", "ON"}
    assert unknown == set()


@pytest.fixture
def system_look(qapp: QApplication) -> Iterator[QApplication]:
    """Leaves the app following an unknown system scheme (the fallback) afterwards."""
    yield qapp
    apply_theme(qapp, "system")
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Unknown)


def window_color() -> str:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app.palette().color(QPalette.ColorRole.Window).name()


def test_the_window_follows_the_system_scheme(make_app, system_look) -> None:
    app = make_app()
    assert app.controller.settings.theme == "system"
    hints = system_look.styleHints()
    # The offscreen platform cannot change its scheme; the signal a desktop sends is emitted
    # here instead, and the app must take the scheme from it.
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert window_color() == LIGHT.window
    assert LIGHT.surface in system_look.styleSheet()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert window_color() == DARK.window


def test_a_chosen_look_overrides_the_system_and_retints_icons(make_app, system_look) -> None:
    app = make_app()
    app.go_live()
    window = app.window
    window.resize(1280, 800)
    window.conversation.add_user_turn("Hello there!", "typed")
    window.conversation.add_avatar_turn("Hi! How can I help you today?")
    before = window.settings_button.icon().pixmap(20, 20).toImage()
    window.apply_settings(app.controller.settings.replace(theme="light"))
    assert window_color() == LIGHT.window
    system_look.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert window_color() == LIGHT.window, "the user's choice wins over the desktop"
    after = window.settings_button.icon().pixmap(20, 20).toImage()
    assert before != after, "the gear was tinted again for the light scheme"
    assert app.store.load().theme == "light"
    app.qtbot.waitUntil(lambda: all(b.isVisible() for b in window.conversation.bubbles()),
                        timeout=5_000)
    app.qtbot.wait(500)  # the web view repaints in the new size on its own schedule (the shot)
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / "theme-light-1280x800.png"))
