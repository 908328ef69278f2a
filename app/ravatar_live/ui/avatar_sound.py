"""The avatar's sound control: a small button floating in the stream's bottom-right corner, like a
video player's, shown while a stream plays. Pressing it mutes or unmutes the avatar (both
players); its arrow (or Alt+Down) opens a volume slider (both players too). It only shows and
reports."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QMenu, QSlider, QToolButton, QWidget, QWidgetAction

from ravatar_live.ui.theme import icon

MARGIN = 12
# Over the video, whatever the window's scheme: light glyph on a dark translucent disc.
GLYPH = "#e8eef7"
STYLE = ("#AvatarSound { background: rgba(8, 10, 14, 170); border: 1px solid rgba(255, 255, "
         "255, 40); border-radius: 8px; padding: 4px 20px 4px 6px; }"
         "#AvatarSound::menu-button { width: 16px; border: none; border-left: 1px solid "
         "rgba(255, 255, 255, 40); }"
         "#AvatarSound:hover { background: rgba(8, 10, 14, 220); }"
         "#AvatarSound:focus { border: 2px solid palette(link); }")


class AvatarSoundButton(QToolButton):
    muted_changed = Signal(bool)
    volume_changed = Signal(int)  # percent

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("AvatarSound")
        self.setStyleSheet(STYLE)
        self.setCheckable(True)
        self.setIconSize(QSize(20, 20))
        self.setAccessibleName("Avatar sound")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setSingleStep(5)
        self.volume_slider.setPageStep(20)
        self.volume_slider.setMinimumWidth(140)
        self.volume_slider.setAccessibleName("Avatar volume")
        self.volume_slider.setAccessibleDescription(
            "How loud the avatar plays")
        menu = QMenu(self)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(self.volume_slider)
        menu.addAction(holder)
        self.setMenu(menu)
        self.toggled.connect(self._on_toggled)
        self.volume_slider.valueChanged.connect(self.volume_changed)
        parent.installEventFilter(self)
        self._show(False)
        self._place()

    def set_state(self, muted: bool, volume: int) -> None:
        """Reflect the settings without emitting anything."""
        blocked = self.blockSignals(True)
        self.setChecked(muted)
        self.blockSignals(blocked)
        blocked = self.volume_slider.blockSignals(True)
        self.volume_slider.setValue(volume)
        self.volume_slider.blockSignals(blocked)
        self._show(muted)

    @Slot(bool)
    def _on_toggled(self, muted: bool) -> None:
        self._show(muted)
        self.muted_changed.emit(muted)

    def _show(self, muted: bool) -> None:
        self.setIcon(icon("speaker-off" if muted else "speaker", GLYPH))
        self.setToolTip("Unmute the avatar (Ctrl+Shift+A); the arrow sets the volume" if muted
                        else "Mute the avatar (Ctrl+Shift+A); the arrow sets the volume")
        self.setAccessibleDescription(
            ("The avatar is muted. " if muted else "The avatar can be heard. ")
            + "Press to switch; Alt+Down for the volume.")

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Down and \
                event.modifiers() & Qt.KeyboardModifier.AltModifier:
            self.showMenu()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        self.adjustSize()
        self.move(max(0, parent.width() - self.width() - MARGIN),
                  max(0, parent.height() - self.height() - MARGIN))
        self.raise_()
