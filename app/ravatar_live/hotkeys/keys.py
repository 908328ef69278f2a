"""The global push-to-talk key: parsed from Qt's portable text, named for each backend.

The settings keep keys as QKeySequence portable text ("F9", "Ctrl+Shift+F9", "Pause"). The
backends name keys differently: pynput by its `Key` members or a character, the desktop portal by
XKB keysym names with CTRL/ALT/SHIFT/LOGO modifiers (the XDG shortcuts specification). Parsing
here is plain string work, so the backends need no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MODIFIERS: Final = ("Ctrl", "Alt", "Shift", "Meta")

#: Qt's portable names of the non-character keys a person may pick -> XKB keysym names.
_KEYSYMS: Final = {
    "Space": "space", "Pause": "Pause", "ScrollLock": "Scroll_Lock", "Ins": "Insert",
    "Del": "Delete", "Home": "Home", "End": "End", "PgUp": "Prior", "PgDown": "Next",
    "Menu": "Menu", "Print": "Print", "Up": "Up", "Down": "Down", "Left": "Left",
    "Right": "Right", "Backspace": "BackSpace", "CapsLock": "Caps_Lock", "NumLock": "Num_Lock",
    "Media Play": "XF86AudioPlay", "Media Next": "XF86AudioNext",
    "Media Previous": "XF86AudioPrev", "Media Stop": "XF86AudioStop",
    "Volume Mute": "XF86AudioMute", "Microphone Mute": "XF86AudioMicMute",
}
#: Keysym names of the portal's modifiers, by Qt's.
_PORTAL_MODIFIERS: Final = {"Ctrl": "CTRL", "Alt": "ALT", "Shift": "SHIFT", "Meta": "LOGO"}


class HotkeyError(ValueError):
    """The text does not name one key this feature can listen for."""


@dataclass(frozen=True)
class HotkeySpec:
    """One key and the modifiers held with it. `key` is Qt's portable key name ("F9", "A",
    "Space"); `modifiers` a subset of MODIFIERS."""

    key: str
    modifiers: frozenset[str] = frozenset()

    @staticmethod
    def parse(portable: str) -> HotkeySpec:
        text = portable.strip()
        if not text:
            raise HotkeyError("No key was given.")
        # "Ctrl++" is Ctrl and the plus key: split off the key first, then the modifiers.
        if text.endswith("++") or text == "+":
            head, key = text[:-2] if text != "+" else "", "+"
        else:
            head, _, key = text.rpartition("+")
        parts = [p for p in head.split("+") if p] if head else []
        unknown = [p for p in parts if p not in MODIFIERS]
        if unknown or not key or key in MODIFIERS:
            raise HotkeyError(f"{portable} is not one key with optional Ctrl, Alt, Shift or "
                            "Meta.")
        return HotkeySpec(key, frozenset(parts))

    @property
    def function_key(self) -> int | None:
        """n for F1..F35, else None."""
        if len(self.key) >= 2 and self.key[0] == "F" and self.key[1:].isdigit():
            number = int(self.key[1:])
            return number if 1 <= number <= 35 else None
        return None

    @property
    def character(self) -> str | None:
        """The key's character, lower case, when it is a one-character key ("A" -> "a")."""
        return self.key.lower() if len(self.key) == 1 else None

    @property
    def keysym(self) -> str:
        """The key's XKB keysym name ("F9", "space", "a", "Prior")."""
        if self.function_key is not None:
            return self.key
        if self.character is not None:
            return self.character
        try:
            return _KEYSYMS[self.key]
        except KeyError:
            raise HotkeyError(f"The {self.key} key cannot be used from other windows.") from None

    def portal_trigger(self) -> str:
        """The shortcut as the XDG shortcuts specification writes it ("CTRL+SHIFT+F9")."""
        mods = [_PORTAL_MODIFIERS[m] for m in MODIFIERS if m in self.modifiers]
        return "+".join([*mods, self.keysym])

    @property
    def types_text(self) -> bool:
        """A bare character or Space: holding it in another app would also type there."""
        return not self.modifiers and (self.character is not None or self.key == "Space")
