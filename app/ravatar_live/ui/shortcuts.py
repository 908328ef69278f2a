"""Every keyboard shortcut of the window, declared once: the window's actions, the F1 list and
the settings' check that a push-to-talk key is free all read this table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from PySide6.QtGui import QKeySequence


class Command(StrEnum):
    SESSION = "session"
    FOCUS_MESSAGE = "focus-message"
    MUTE = "mute"
    AVATAR_SOUND = "avatar-sound"
    HANDS_FREE = "hands-free"
    SETTINGS = "settings"
    SHORTCUTS = "shortcuts"
    STATS = "stats"
    DISMISS = "dismiss"
    QUIT = "quit"


@dataclass(frozen=True)
class Shortcut:
    command: Command
    label: str  # what it does, in the words of the F1 list and the menus
    keys: tuple[str, ...]  # QKeySequence portable text; the first is the one shown


SHORTCUTS: Final = (
    Shortcut(Command.SESSION, "Start or end the live session", ("Ctrl+Return", "Ctrl+Enter")),
    Shortcut(Command.FOCUS_MESSAGE, "Go to the message box", ("Ctrl+L",)),
    Shortcut(Command.MUTE, "Mute or unmute the microphone", ("Ctrl+Shift+M",)),
    Shortcut(Command.AVATAR_SOUND, "Mute or unmute the avatar", ("Ctrl+Shift+A",)),
    Shortcut(Command.HANDS_FREE, "Turn hands-free listening on or off", ("Ctrl+Shift+H",)),
    Shortcut(Command.SETTINGS, "Settings", ("Ctrl+,",)),
    Shortcut(Command.SHORTCUTS, "Keyboard shortcuts", ("F1",)),
    Shortcut(Command.STATS, "Show or hide the stream statistics", ("Ctrl+Shift+S",)),
    Shortcut(Command.DISMISS, "Dismiss the message over the stream", ("Esc",)),
    Shortcut(Command.QUIT, "Quit (ends the live session first)", ("Ctrl+Q",)),
)

#: Keys that are not shortcuts but always work, for the F1 list.
NAVIGATION: Final = (
    ("Move to the next / previous control", "Tab / Shift+Tab"),
    ("Press the focused button", "Space or Enter"),
    ("Open a list, pick with the arrows", "Space, then ↑ ↓ and Enter"),
    ("Send the typed message", "Enter in the message box"),
)


def shortcut(command: Command) -> Shortcut:
    return next(s for s in SHORTCUTS if s.command is command)


def sequences(command: Command) -> list[QKeySequence]:
    return [QKeySequence.fromString(k, QKeySequence.SequenceFormat.PortableText)
            for k in shortcut(command).keys]


def native(portable: str) -> str:
    """How the key reads on this system (e.g. Ctrl+Return -> Ctrl+Return, Meta on a Mac)."""
    return QKeySequence.fromString(portable, QKeySequence.SequenceFormat.PortableText).toString(
        QKeySequence.SequenceFormat.NativeText)


def taken_by(portable: str) -> Shortcut | None:
    """The shortcut that already uses this key, if any."""
    wanted = QKeySequence.fromString(portable, QKeySequence.SequenceFormat.PortableText)
    for entry in SHORTCUTS:
        for key in entry.keys:
            if QKeySequence.fromString(key, QKeySequence.SequenceFormat.PortableText) == wanted:
                return entry
    return None
