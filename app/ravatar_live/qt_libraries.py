"""Qt's libraries load on the GUI thread, before work that needs them goes to a worker.

A Qt library may log while the dynamic loader starts it (Qt Multimedia looks for PipeWire), and
the app's Qt message handler is Python (`__main__`). Started on a worker thread, that handler
waits for the GIL inside `dlopen`, holding the loader's lock; the GUI thread, loading any other
extension module at that moment, holds the GIL and waits for the loader's lock: both hang for
good. (Seen: the native player's modules loading on a worker while the GUI thread imported
aiohttp at a start with --start.)
"""

from __future__ import annotations

import importlib


def load_qt_multimedia() -> None:
    """Load Qt Multimedia on this (the GUI) thread; ~10 ms the first time, nothing after."""
    importlib.import_module("PySide6.QtMultimedia")
