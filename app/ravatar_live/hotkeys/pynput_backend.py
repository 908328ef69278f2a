"""Global keys on X11, Windows and macOS through pynput (a maintained input-hook library).

- X11: pynput listens with the RECORD extension, so it sees every press and release without
  grabbing the key: the app that has the focus still gets it. Before starting, the display and
  the extension are checked here, so a missing one is a sentence in Settings, not a silent hook.
- Windows: a low-level keyboard hook (no permission needed).
- macOS: an event tap, which needs the Accessibility permission; without it pynput gets no
  events, so the backend asks macOS to show its permission prompt and says what to turn on.

The Windows and macOS paths cannot run here (CI is Linux): they are kept to the few lines pynput
needs and every platform import is guarded. Callbacks run on pynput's thread.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Final

from ravatar_live.hotkeys.backend import HotkeyUnavailable, KeyCallback
from ravatar_live.hotkeys.keys import HotkeySpec

logger = logging.getLogger(__name__)

#: Qt's portable names of named keys -> pynput `Key` member names.
_PYNPUT_KEYS: Final = {
    "Space": "space", "Pause": "pause", "ScrollLock": "scroll_lock", "Ins": "insert",
    "Del": "delete", "Home": "home", "End": "end", "PgUp": "page_up", "PgDown": "page_down",
    "Menu": "menu", "Print": "print_screen", "Up": "up", "Down": "down", "Left": "left",
    "Right": "right", "Backspace": "backspace", "CapsLock": "caps_lock", "NumLock": "num_lock",
    "Media Play": "media_play_pause", "Media Next": "media_next",
    "Media Previous": "media_previous", "Volume Mute": "media_volume_mute",
}
#: pynput modifier keys -> Qt's modifier names (on macOS Qt calls Command "Ctrl").
_MODIFIER_KEYS: Final = {
    "ctrl": "Ctrl", "ctrl_l": "Ctrl", "ctrl_r": "Ctrl", "alt": "Alt", "alt_l": "Alt",
    "alt_r": "Alt", "alt_gr": "Alt", "shift": "Shift", "shift_l": "Shift", "shift_r": "Shift",
    "cmd": "Meta", "cmd_l": "Meta", "cmd_r": "Meta",
}
STOP_TIMEOUT_S: Final = 2.0
_MAC_SWAP: Final = {"Ctrl": "Meta", "Meta": "Ctrl"}
ACCESSIBILITY_REASON: Final = (
    "macOS has not allowed RAVATAR Live to see keys pressed in other apps. Turn it on in System "
    "Settings › Privacy & Security › Accessibility, then choose the key again.")


def _check_x11_display() -> None:
    """Raise HotkeyUnavailable unless the X server answers and has RECORD."""
    try:
        from Xlib import display as xdisplay  # noqa: PLC0415 - only on X11
        from Xlib import error as xerror  # noqa: PLC0415
    except ImportError:
        raise HotkeyUnavailable("The X11 library (python-xlib) is missing, so keys in other "
                                "windows cannot be watched.") from None
    try:
        connection = xdisplay.Display()
    except (xerror.DisplayError, OSError) as exc:
        raise HotkeyUnavailable(f"The X11 display could not be reached ({exc}).") from None
    try:
        if not connection.has_extension("RECORD"):
            raise HotkeyUnavailable("This X server has no RECORD extension, which watching keys "
                                    "in other windows needs.")
    finally:
        connection.close()


class PynputBackend:
    def __init__(self, name: str) -> None:
        self.name = name
        self._listener: Any = None
        self._held: set[str] = set()

    def start(self, spec: HotkeySpec, on_press: KeyCallback, on_release: KeyCallback) -> None:
        if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
            # pynput would fall back to reading /dev/input (uinput) as root: only X11 is wanted.
            os.environ.setdefault("PYNPUT_BACKEND_KEYBOARD", "xorg")
            _check_x11_display()
        try:
            from pynput import keyboard  # noqa: PLC0415 - platform hooks load on demand
        except ImportError as exc:
            raise HotkeyUnavailable(f"The keyboard hook library could not load here ({exc}).") \
                from None
        key_of_spec = self._key(keyboard, spec)
        wanted = set(spec.modifiers)
        held = self._held

        def modifier(key: Any) -> str | None:
            name = _MODIFIER_KEYS.get(getattr(key, "name", "") or "")
            return _MAC_SWAP.get(name, name) if name and sys.platform == "darwin" else name

        def press(key: Any) -> None:
            if (mod := modifier(key)) is not None:
                held.add(mod)
            elif listener.canonical(key) == target and held == wanted:
                on_press()

        def release(key: Any) -> None:
            if (mod := modifier(key)) is not None:
                held.discard(mod)
            elif listener.canonical(key) == target:
                on_release()  # whatever modifiers are still held: the key itself is up

        listener = keyboard.Listener(on_press=press, on_release=release)
        target = listener.canonical(key_of_spec)  # events are compared in canonical form
        listener.start()
        listener.wait()
        self._listener = listener
        if sys.platform == "darwin" and not getattr(listener, "IS_TRUSTED", True):
            self.stop()
            _ask_for_accessibility()
            raise HotkeyUnavailable(ACCESSIBILITY_REASON)

    @staticmethod
    def _key(keyboard: Any, spec: HotkeySpec) -> Any:
        """The pynput key `spec` names."""
        if (number := spec.function_key) is not None:
            name = f"f{number}"
        elif (char := spec.character) is not None:
            return keyboard.KeyCode.from_char(char)
        else:
            name = _PYNPUT_KEYS.get(spec.key, "")
        member = getattr(keyboard.Key, name, None) if name else None
        if member is None:
            raise HotkeyUnavailable(f"The {spec.key} key cannot be watched on this system; "
                                    "choose another, such as F9.")
        return member

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        self._held.clear()
        if listener is not None:
            try:
                listener.stop()
                _end_x11_recording(listener)
                listener.join(timeout=STOP_TIMEOUT_S)  # its X connections close before we return
            except Exception as exc:  # e.g. the X server went away first: nothing to stop
                logger.info("the key hook stopped with an error: %s", exc)


def _end_x11_recording(listener: Any) -> None:
    """pynput's X11 stop() queues "disable recording" on the connection its thread is blocked
    reading, so the thread (and its X connections) lingers until the next key anywhere. The
    same request on a connection of our own ends the recording now. pynput 1.8 keeps the
    context id in `_context`; without it the thread still ends at the next key."""
    context = getattr(listener, "_context", None)
    if context is None or not (sys.platform.startswith("linux")
                               or sys.platform.startswith("freebsd")):
        return
    from Xlib import display as xdisplay  # noqa: PLC0415 - only on X11

    connection = xdisplay.Display()
    try:
        connection.record_disable_context(context)
        connection.sync()
    finally:
        connection.close()


def _ask_for_accessibility() -> None:
    """Have macOS show its Accessibility prompt for this app (untested here: no macOS)."""
    try:
        from ApplicationServices import (  # noqa: PLC0415 - pyobjc, macOS only
            AXIsProcessTrustedWithOptions,
            kAXTrustedCheckOptionPrompt,
        )
    except ImportError:
        logger.info("cannot ask macOS for the Accessibility permission (pyobjc missing)")
        return
    AXIsProcessTrustedWithOptions({kAXTrustedCheckOptionPrompt: True})
