"""Before Qt starts: is there a screen to open a window on? Plain words instead of Qt's abort.

Without a display Qt's xcb plugin aborts with a message that blames libxcb-cursor0 even when
that library is installed; with the library really missing it aborts the same way. Both cases
get one sentence saying what is wrong and what to do.
"""

from __future__ import annotations

import ctypes.util
import sys
from collections.abc import Callable, Mapping


def display_problem(environ: Mapping[str, str], *, platform: str = sys.platform,
                    find_library: Callable[[str], str | None] = ctypes.util.find_library,
                    ) -> str | None:
    """Why no window can open here, in plain words; None when one can (or it is not ours to
    judge: another Qt platform was chosen, or this is not Linux)."""
    if not platform.startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0]
    if chosen and chosen != "xcb":
        return None  # offscreen, wayland, vnc…: the user picked it
    if not chosen and environ.get("WAYLAND_DISPLAY"):
        return None  # Qt uses Wayland
    if not environ.get("DISPLAY"):
        return ("RAVATAR Live needs a desktop to show its window, and none was found (neither "
                "DISPLAY nor WAYLAND_DISPLAY is set). Start it from your desktop session, or run "
                "it without a screen with QT_QPA_PLATFORM=offscreen (or under xvfb-run).")
    if find_library("xcb-cursor") is None:
        return ("RAVATAR Live cannot open its window: the system library libxcb-cursor0, which "
                "Qt needs on X11, is missing. Install it with: sudo apt-get install "
                "libxcb-cursor0")
    return None
