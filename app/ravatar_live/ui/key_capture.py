"""A button that records one key: press it (Space or Enter, or click), then press the new key.

Esc cancels; Tab leaves as usual (it is never recorded). A key the app cannot use (a navigation
key, a bare modifier, a key another shortcut has) is refused with words saying why, and the
button keeps listening for another.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QPushButton, QWidget

from ravatar_live.settings import (
    SettingsError,
    validate_global_push_to_talk_key,
    validate_push_to_talk_key,
)
from ravatar_live.ui.shortcuts import native, taken_by

_MODIFIER_KEYS = (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta,
                  Qt.Key.Key_AltGr, Qt.Key.Key_CapsLock)
_MODIFIERS = (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier
              | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier)


def check_push_to_talk_key(portable: str) -> str:
    """The key in canonical portable text; SettingsError when it cannot be push-to-talk."""
    canonical = validate_push_to_talk_key(portable)
    other = taken_by(canonical)
    if other is not None:
        raise SettingsError(f"{native(canonical)} is already the shortcut for "
                            f"“{other.label}”.")
    return canonical


def check_global_push_to_talk_key(portable: str) -> str:
    """Like check_push_to_talk_key, for the key that works in any window."""
    return check_push_to_talk_key(validate_global_push_to_talk_key(portable))


class KeyCaptureButton(QPushButton):
    key_changed = Signal(str)  # portable text of the new key
    refused = Signal(str)  # why the pressed key cannot be used ("" once one is accepted)

    def __init__(self, key: str, parent: QWidget | None = None, *,
                 name: str = "Push-to-talk key",
                 check: Callable[[str], str] = check_push_to_talk_key) -> None:
        """`name` is what a screen reader calls it; `check` accepts a key (canonical text)
        or raises SettingsError saying why not."""
        super().__init__(parent)
        self._name = name
        self._check = check
        self._key = key
        self._capturing = False
        self.clicked.connect(self._start)
        self._show()

    @property
    def key(self) -> str:
        return self._key

    @property
    def capturing(self) -> bool:
        return self._capturing

    def set_key(self, key: str) -> None:
        self._key = key
        self._capturing = False
        self._show()

    @Slot()
    def _start(self) -> None:
        self._capturing = True
        self._show()

    def _show(self) -> None:
        if self._capturing:
            self.setText("Press the key to use… (Esc cancels)")
        else:
            self.setText(f"{native(self._key)}  ·  Change…")
        self.setAccessibleName(f"{self._name}: {native(self._key)}")

    def event(self, event: QEvent) -> bool:
        # While listening, every key is for us: no shortcut (not even Quit) may take it first.
        if self._capturing and event.type() == QEvent.Type.ShortcutOverride:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if not self._capturing:
            super().keyPressEvent(event)
            return
        key = Qt.Key(event.key())
        if key in _MODIFIER_KEYS or event.isAutoRepeat():
            return  # wait for the key itself
        if key == Qt.Key.Key_Escape:
            self._capturing = False
            self._show()
            self.refused.emit("")
            return
        modifiers = event.modifiers() & _MODIFIERS
        portable = QKeySequence(event.keyCombination().key() | modifiers).toString(
            QKeySequence.SequenceFormat.PortableText)
        try:
            canonical = self._check(portable)
        except SettingsError as exc:
            self.refused.emit(exc.user_message)
            return
        self._capturing = False
        self._key = canonical
        self._show()
        self.refused.emit("")
        self.key_changed.emit(canonical)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if not self._capturing:
            super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        if self._capturing:
            self._capturing = False
            self._show()
        super().focusOutEvent(event)
