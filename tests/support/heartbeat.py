"""A loop heartbeat: how long the event loop went without running a callback (its stalls).

A callback re-arms itself every `period_s`; the longest gap between two beats, less the period,
is the longest the loop was blocked. The figure only grows with real blocking or a loaded
machine, so tests assert a generous bound and report the figure.
"""

from __future__ import annotations

import asyncio
import time


class LoopHeartbeat:
    def __init__(self, loop: asyncio.AbstractEventLoop, period_s: float = 0.002) -> None:
        self._loop = loop
        self._period = period_s
        self._last = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self.longest_gap_s = 0.0
        self.beats = 0

    def start(self) -> LoopHeartbeat:
        self._last = time.monotonic()
        self._handle = self._loop.call_later(self._period, self._beat)
        return self

    def stop(self) -> float:
        """Stop; the longest stall in seconds (the longest gap less one period)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._beat(rearm=False)
        return self.stall_s

    @property
    def stall_s(self) -> float:
        return max(0.0, self.longest_gap_s - self._period)

    def _beat(self, rearm: bool = True) -> None:
        now = time.monotonic()
        self.longest_gap_s = max(self.longest_gap_s, now - self._last)
        self._last = now
        self.beats += 1
        if rearm:
            self._handle = self._loop.call_later(self._period, self._beat)
