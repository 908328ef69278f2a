"""When a PortAudio callback really ran, on ``time.monotonic``'s scale.

A PyAudio callback is Python: it waits for the GIL before it runs, and on a busy machine that
wait reached 0.64 s (p99 0.16 s, measured in the echo end-to-end test with both cores busy).
Stamping blocks with ``time.monotonic()`` inside the callback made the microphone's and the
speaker's timelines late by different amounts, so the avatar's echo no longer lined up with
what it echoed (the echo check then let it through). PortAudio hands the callback its own
``current_time``, read before the wait, but on its own clock (here the wall clock). The offset
between the two clocks is the smallest ``monotonic() - current_time`` seen lately: the wait only
ever adds to it. "Lately" (a sliding window) lets the estimate follow a wall-clock step back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 10.0  # how long a prompt callback's offset is trusted


class PortAudioClock:
    """One per stream, used from its callback thread only."""

    def __init__(self, now: Callable[[], float] = time.monotonic,
                 window_s: float = WINDOW_S) -> None:
        self._now = now
        self._window_s = window_s
        # (seen at, offset), offsets increasing: the front is the window's minimum.
        self._offsets: deque[tuple[float, float]] = deque()

    def callback_time(self, current_time: float) -> float:
        """The monotonic time at which PortAudio invoked the callback that got ``current_time``
        (its stream clock); the time now when the host API gives no stream time (0)."""
        now = self._now()
        if current_time <= 0.0:
            return now
        offset = now - current_time
        while self._offsets and self._offsets[-1][1] >= offset:
            self._offsets.pop()
        self._offsets.append((now, offset))
        while self._offsets[0][0] < now - self._window_s:
            self._offsets.popleft()
        return current_time + self._offsets[0][1]
