"""Hold a key (Space) to talk, without an application-wide event filter.

An application-wide Python event filter sees events for Chromium's internal widgets while they
are being destroyed, and PySide then crashes building a wrapper for them (seen with PySide6 6.12
and QtWebEngine). So this filter is installed only on our own widgets that can take focus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox)


class HoldKeyFilter(QObject):
    pressed = Signal()
    released = Signal()

    def __init__(self, key: Qt.Key = Qt.Key.Key_Space, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._key = key
        self._down = False
        self.enabled = True

    @property
    def down(self) -> bool:
        return self._down

    def watch(self, root: QWidget) -> None:
        """Watch `root` and every focusable descendant that is not a text input."""
        for widget in [root, *root.findChildren(QWidget)]:
            if widget is root or (widget.focusPolicy() != Qt.FocusPolicy.NoFocus
                                  and not isinstance(widget, TEXT_INPUTS)):
                widget.installEventFilter(self)

    def cancel(self) -> None:
        """Release a held key (e.g. the window lost focus mid-hold)."""
        if self._down:
            self._down = False
            self.released.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(
                event, QKeyEvent) or event.key() != self._key or not self.enabled:
            return False
        if event.isAutoRepeat():
            return True
        if kind == QEvent.Type.KeyPress and not self._down:
            self._down = True
            self.pressed.emit()
        elif kind == QEvent.Type.KeyRelease and self._down:
            self._down = False
            self.released.emit()
        return True
