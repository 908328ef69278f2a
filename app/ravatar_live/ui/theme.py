"""The app's look: a light or dark scheme (following the system unless the user picks one), the
stylesheet filled from that scheme, and SVG icons tinted to it.

`apply_theme(app, choice)` installs the scheme once and returns the `ThemeManager`; while the
choice is "system" it follows `QStyleHints.colorScheme` as the desktop switches. Icons set with
`tint()` are re-tinted when the scheme changes, so nothing keeps the old colours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QByteArray, QObject, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from shiboken6 import Shiboken

from ravatar_live.resources import MissingResourceError, resource_path
from ravatar_live.ui.palette import DARK, LIGHT, SCHEMES, Colors, template_values

logger = logging.getLogger(__name__)

#: The scheme used when the system does not say (the app's original look).
FALLBACK_SCHEME = DARK


def system_scheme(scheme: Qt.ColorScheme | None = None) -> Colors:
    """The scheme the desktop asks for (`scheme`, or what it says now; dark when it does not
    say)."""
    if scheme is None:
        scheme = QGuiApplication.styleHints().colorScheme()
    if scheme is Qt.ColorScheme.Light:
        return LIGHT
    if scheme is Qt.ColorScheme.Dark:
        return DARK
    return FALLBACK_SCHEME


def stylesheet(colors: Colors) -> str:
    """The app's stylesheet for `colors` (empty when the template is missing)."""
    try:
        sheet = resource_path("style", "app.qss").read_text(encoding="utf-8")
        # url() in a stylesheet is relative to the working directory, so icons get full paths.
        icons = resource_path("icons", "ui").as_posix()
    except (MissingResourceError, OSError) as exc:
        logger.warning("stylesheet not loaded: %s", exc)
        return ""
    sheet = sheet.replace("@ICONS@", icons).replace("@ON@", "-on-light" if colors is LIGHT
                                                     else "")
    for placeholder, color in template_values(colors).items():
        sheet = sheet.replace(placeholder, color)
    return sheet


def qt_palette(colors: Colors) -> QPalette:
    """The palette behind the stylesheet (what it does not cover: item views, menus)."""
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, colors.window), (QPalette.ColorRole.WindowText, colors.text),
        (QPalette.ColorRole.Base, colors.field), (QPalette.ColorRole.AlternateBase,
                                                  colors.surface),
        (QPalette.ColorRole.Text, colors.text), (QPalette.ColorRole.Button, colors.button),
        (QPalette.ColorRole.ButtonText, colors.text),
        (QPalette.ColorRole.Highlight, colors.selection),
        (QPalette.ColorRole.HighlightedText, colors.on_selection),
        (QPalette.ColorRole.ToolTipBase, colors.tooltip),
        (QPalette.ColorRole.ToolTipText, colors.on_tooltip),
        (QPalette.ColorRole.PlaceholderText, colors.muted), (QPalette.ColorRole.Link,
                                                             colors.accent),
    ):
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colors.disabled))
    return palette


class ThemeManager(QObject):
    """Which scheme is on, and keeping it on: the user's choice or the system's."""

    changed = Signal(object)  # Colors

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self._choice = choice
        self._colors: Colors | None = None
        self._system: Qt.ColorScheme | None = None  # as last announced by the desktop
        # One refresh per widget (the latest): a button re-tinted on every state change must
        # not pile up callbacks.
        self._tinted: dict[QObject, Callable[[Colors], None]] = {}
        app.styleHints().colorSchemeChanged.connect(self._on_system_scheme)
        app.setStyle("Fusion")
        self._apply()

    @property
    def colors(self) -> Colors:
        return self._colors or FALLBACK_SCHEME

    @property
    def choice(self) -> str:
        return self._choice

    def set_choice(self, choice: str) -> None:
        """"system", "light" or "dark"; anything else means "system"."""
        self._choice = choice if choice in SCHEMES else "system"
        self._apply()

    def on_change(self, widget: QObject, refresh: Callable[[Colors], None]) -> None:
        """Call `refresh(colors)` now and whenever the scheme changes, while `widget` lives
        (it replaces the widget's earlier refresh)."""
        if len(self._tinted) > 512:  # windows come and go (tests): forget the deleted widgets
            self._forget_deleted()
        self._tinted[widget] = refresh
        refresh(self.colors)

    def _forget_deleted(self) -> None:
        self._tinted = {w: f for w, f in self._tinted.items() if Shiboken.isValid(w)}

    @Slot(Qt.ColorScheme)
    def _on_system_scheme(self, scheme: Qt.ColorScheme) -> None:
        self._system = scheme
        if self._choice == "system":
            self._apply()

    def _apply(self) -> None:
        colors = SCHEMES.get(self._choice) or system_scheme(self._system)
        if colors is self._colors:
            return
        self._colors = colors
        self._app.setPalette(qt_palette(colors))
        self._app.setStyleSheet(stylesheet(colors))
        self._forget_deleted()
        for refresh in self._tinted.values():
            refresh(colors)
        logger.info("look: %s scheme (%s)", colors.name, self._choice)
        self.changed.emit(colors)


_manager: ThemeManager | None = None


def apply_theme(app: QApplication, choice: str = "system") -> ThemeManager:
    """Install the look on `app` (once; later calls change the choice) and return its manager."""
    global _manager  # noqa: PLW0603 - one look per process
    if _manager is None or not Shiboken.isValid(_manager):
        _manager = ThemeManager(app, choice)
    else:
        _manager.set_choice(choice)
    return _manager


def colors() -> Colors:
    """The scheme in use (the fallback before any is applied)."""
    return _manager.colors if _manager is not None else FALLBACK_SCHEME


def tint(widget: QAbstractButton | QLabel | QAction, name: str, role: str = "text",
         size: int = 16) -> None:
    """Give `widget` the icon `name` in the scheme's colour `role` (a Colors field, or a
    '#rrggbb' colour), kept in step with the scheme."""

    def refresh(scheme: Colors) -> None:
        color = role if role.startswith("#") else getattr(scheme, role)
        if isinstance(widget, QLabel):
            widget.setPixmap(icon(name, color).pixmap(QSize(size, size)))
        else:
            widget.setIcon(icon(name, color))

    if _manager is None:
        refresh(FALLBACK_SCHEME)
    else:
        _manager.on_change(widget, refresh)


@cache
def icon(name: str, color: str, size: int = 48) -> QIcon:
    """A tinted icon from resources/icons/ui/<name>.svg (an empty icon if it is missing)."""
    try:
        svg = resource_path("icons", "ui", f"{name}.svg").read_text(encoding="utf-8")
    except (MissingResourceError, OSError) as exc:
        logger.warning("icon %s not found: %s", name, exc)
        return QIcon()
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode()))
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    result = QIcon(pixmap)
    # A dimmer variant for disabled buttons, so a disabled icon reads as disabled.
    result.addPixmap(_dimmed(pixmap), QIcon.Mode.Disabled)
    return result


def _dimmed(pixmap: QPixmap) -> QPixmap:
    out = QPixmap(pixmap.size())
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setOpacity(0.35)
    painter.drawPixmap(0, 0, pixmap)
    painter.end()
    return out


def app_icon() -> QIcon:
    """The application icon (resources/icons/app, owned by packaging)."""
    result = QIcon()
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        try:
            result.addFile(str(resource_path("icons", "app", f"ravatar-live-{size}.png")),
                           QSize(size, size))
        except MissingResourceError:
            continue
    return result


def set_variant(widget: QWidget, name: str, value: str) -> None:
    """Change a dynamic style property and make the stylesheet notice."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()
