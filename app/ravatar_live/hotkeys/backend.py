"""The one interface every global-key backend implements, and which one this desktop gets.

A backend watches for one key (a `HotkeySpec`) on a thread of its own and calls `on_press` /
`on_release` from that thread: the caller (service.py) hands them to the GUI thread. Auto-repeat
may call `on_press` again while the key is held; the caller ignores it. A backend that cannot
work here raises `HotkeyUnavailable` from `start()` with a sentence for the Settings dialog.

Which backend: Wayland sessions use the desktop portal (an X11 hook there would only see keys
typed into other X11 apps); X11, Windows and macOS use pynput.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Protocol

from ravatar_live.hotkeys.keys import HotkeySpec

KeyCallback = Callable[[], None]


class HotkeyUnavailable(Exception):  # noqa: N818 - it reads as a state, not a failure
    """Global keys cannot work here; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HotkeyBackend(Protocol):
    #: What the Settings dialog calls it ("X11", "the desktop portal (Wayland)", ...).
    name: str

    def start(self, spec: HotkeySpec, on_press: KeyCallback, on_release: KeyCallback) -> None:
        """Watch for `spec` until `stop()`; HotkeyUnavailable when it cannot."""
        ...

    def stop(self) -> None:
        """Stop watching (safe to call twice, and when start failed)."""
        ...


def make_backend(environ: Mapping[str, str], platform: str = sys.platform) -> HotkeyBackend:
    """The backend for this desktop; HotkeyUnavailable when there is none."""
    if platform.startswith("linux") or platform.startswith("freebsd"):
        if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
            from ravatar_live.hotkeys.portal import PortalBackend  # noqa: PLC0415

            return PortalBackend(environ)
        if environ.get("DISPLAY"):
            from ravatar_live.hotkeys.pynput_backend import PynputBackend  # noqa: PLC0415

            return PynputBackend("X11")
        raise HotkeyUnavailable("There is no X11 or Wayland desktop here, so no key can be "
                                "watched outside the window.")
    if platform == "win32":
        from ravatar_live.hotkeys.pynput_backend import PynputBackend  # noqa: PLC0415

        return PynputBackend("Windows")
    if platform == "darwin":
        from ravatar_live.hotkeys.pynput_backend import PynputBackend  # noqa: PLC0415

        return PynputBackend("macOS")
    raise HotkeyUnavailable(f"Keys from other windows are not supported on {platform}.")
