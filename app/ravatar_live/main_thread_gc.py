"""Python's cycle collector runs on the GUI thread only.

Automatic collection runs on whichever thread happens to allocate when a threshold is passed.
A Qt object found in a garbage cycle is then destroyed on that thread: its destructor holds
Qt's connection locks and asks for the GIL back, while the GUI thread, holding the GIL, waits
for those same locks to connect a signal. Seen as a hang of the test suite: the global key's
start thread, importing its backend, collected a window an earlier test had left, while the
GUI thread built the next window. So automatic collection is off, and a timer on the GUI
thread collects as Python would have (by its own thresholds), a little later.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500


def collect_as_python_would(thresholds: tuple[int, int, int]) -> int | None:
    """Collect the oldest generation whose count passed its threshold; the generation
    collected, or None."""
    counts = gc.get_count()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return generation
    return None


class MainThreadGc(QObject):
    """Made on the GUI thread; turns automatic collection off for its lifetime."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int | None:
        return collect_as_python_would(self._thresholds)

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()
