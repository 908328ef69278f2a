"""The app's look: the dark stylesheet, its palette, and tinted SVG icons."""

from __future__ import annotations

import logging
from functools import cache

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

from ravatar_live.resources import MissingResourceError, resource_path

logger = logging.getLogger(__name__)

TEXT = "#e6e9f0"
MUTED = "#8b93a7"
ACCENT = "#6c8cff"
SUCCESS = "#3ecf8e"
WARNING = "#f5b544"
DANGER = "#ff6b6b"


def apply_theme(app: QApplication) -> None:
    """Fusion + a dark palette (for what the stylesheet does not cover) + the stylesheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#11141b"), (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, "#1a1f2b"), (QPalette.ColorRole.AlternateBase, "#1f2430"),
        (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, "#222838"),
        (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, "#4d6ef5"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase,
                                                         "#232936"),
        (QPalette.ColorRole.ToolTipText, TEXT), (QPalette.ColorRole.PlaceholderText, MUTED),
        (QPalette.ColorRole.Link, ACCENT),
    ):
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#5d6578"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText,
                     QColor("#5d6578"))
    app.setPalette(palette)
    try:
        sheet = resource_path("style", "dark.qss").read_text(encoding="utf-8")
        # url() in a stylesheet is relative to the working directory, so icons get full paths.
        icons = resource_path("icons", "ui").as_posix()
        app.setStyleSheet(sheet.replace("@ICONS@", icons))
    except (MissingResourceError, OSError) as exc:
        logger.warning("stylesheet not loaded: %s", exc)


@cache
def icon(name: str, color: str = TEXT, size: int = 48) -> QIcon:
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
