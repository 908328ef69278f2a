"""Keys for people who do not use a mouse: hold a key to talk, and Return presses buttons.

`PushToTalkKey` turns a held key (Space unless the user chose another) into press/release of
hold-to-talk, but only when the focused control has no use for that key: Space on a focused
button presses the button and types a space in the text box, so push-to-talk never steals it.
`press_with_return()` makes Return and Enter press a focused button the way Space does (Qt does
that only for a dialog's default button).

Filters are installed on our own widgets, never application-wide: an application-wide Python
event filter sees events for Chromium's internal widgets while they are destroyed, and PySide
then crashes wrapping them (seen with PySide6 6.12 and QtWebEngine).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

_ACTIVATE = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
_NAVIGATE = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right,
             Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End)
_EDIT = (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, *_ACTIVATE, *_NAVIGATE)
_EDIT_SHORTCUTS = (QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut,
                   QKeySequence.StandardKey.Paste, QKeySequence.StandardKey.Undo,
                   QKeySequence.StandardKey.Redo, QKeySequence.StandardKey.SelectAll,
                   QKeySequence.StandardKey.DeleteStartOfWord,
                   QKeySequence.StandardKey.DeleteEndOfWord)
_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QKeySequenceEdit)
_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


def uses_key(widget: QWidget, event: QKeyEvent) -> bool:
    """Whether `widget`, focused, does something with `event`'s key (so it is not ours)."""
    if not widget.isEnabled():
        return False
    key = Qt.Key(event.key())
    command = bool(event.modifiers() & _COMMAND_MODIFIERS)
    if isinstance(widget, _TEXT_INPUTS):
        if any(event.matches(standard) for standard in _EDIT_SHORTCUTS):
            return True
        return not command and (key in _EDIT or bool(event.text().strip()) or
                                key == Qt.Key.Key_Space)
    if command:
        return False
    if isinstance(widget, QComboBox):
        return key in (*_ACTIVATE, *_NAVIGATE, Qt.Key.Key_F4) or bool(event.text().strip())
    if isinstance(widget, QAbstractButton):
        return key in _ACTIVATE
    if isinstance(widget, QAbstractSlider | QTabBar):
        return key in _NAVIGATE
    if isinstance(widget, QAbstractScrollArea):
        return key in _NAVIGATE
    return False


class PushToTalkKey(QObject):
    """Hold a key to talk; installed on the window and its focusable controls (`watch`)."""

    pressed = Signal()
    released = Signal()

    def __init__(self, key: str = "Space", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._key = Qt.Key.Key_Space
        self._modifiers = Qt.KeyboardModifier.NoModifier
        self._down = False
        self.enabled = True
        self.set_key(key)

    @property
    def down(self) -> bool:
        return self._down

    @property
    def key_text(self) -> str:
        return QKeySequence(self._key | self._modifiers).toString(
            QKeySequence.SequenceFormat.NativeText)

    def set_key(self, text: str) -> None:
        """The key to hold, as QKeySequence portable text ("Space", "F2", "Ctrl+Space")."""
        self.cancel()
        sequence = QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText)
        if sequence.count() != 1:
            return
        combination = sequence[0]  # type: ignore[index]  # QKeySequence supports indexing
        self._key = combination.key()
        self._modifiers = combination.keyboardModifiers()

    def watch(self, root: QWidget) -> None:
        """Watch `root` and every descendant that can take focus."""
        for widget in [root, *root.findChildren(QWidget)]:
            if widget is root or widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
                widget.removeEventFilter(self)
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
        if kind == QEvent.Type.KeyRelease:
            if not self._down:
                return False
            if not event.isAutoRepeat():  # the key is really up (modifiers may be up already)
                self._down = False
                self.released.emit()
            return True
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers != self._modifiers:
            return False
        if self._down:
            return True  # auto-repeat while held
        if isinstance(watched, QWidget) and uses_key(watched, event):
            return False  # the focused control's own key: never steal it
        self._down = True
        self.pressed.emit()
        return True


class _ReturnPressesButtons(QObject):
    """Return/Enter on a focused button does what Space does (press, release, click)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not \
                isinstance(event, QKeyEvent) or not isinstance(watched, QAbstractButton):
            return False
        if event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter) or (
                event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            return False
        if event.isAutoRepeat():
            return True
        space = QKeyEvent(event.type(), Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ")
        QCoreApplication.sendEvent(watched, space)
        return True


_return_filter: _ReturnPressesButtons | None = None


def press_with_return(*buttons: QAbstractButton) -> None:
    """Let Return and Enter press each of `buttons` like Space does."""
    global _return_filter  # noqa: PLW0603 - one filter serves every button
    if _return_filter is None:
        _return_filter = _ReturnPressesButtons(QApplication.instance())
    for button in buttons:
        button.removeEventFilter(_return_filter)
        button.installEventFilter(_return_filter)


def press_all_with_return(root: QWidget) -> None:
    """`press_with_return` for every button under `root`."""
    press_with_return(*root.findChildren(QAbstractButton))


def focus_by_keyboard_only(*widgets: QWidget) -> None:
    """Tab reaches `widgets`, a click does not move the focus to them: after clicking Start,
    the focus stays where it was (the stream), so Space still talks instead of pressing
    Start again."""
    for widget in widgets:
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
