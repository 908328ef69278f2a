"""The microphone's level for the meter: RMS and peak over each 50 ms of audio."""

from __future__ import annotations

import numpy as np

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array

LEVEL_WINDOW = SAMPLE_RATE // 20  # one level figure per 50 ms of audio


class LevelMeter:
    def __init__(self, window: int = LEVEL_WINDOW) -> None:
        self._window = window
        self._sum_sq = 0.0
        self._peak = 0
        self._count = 0

    def feed(self, samples: Int16Array) -> tuple[float, float] | None:
        """Add samples; (rms, peak) in 0..1 when a window is complete, else None."""
        if samples.size == 0:
            return None
        x = samples.astype(np.float64)
        self._sum_sq += float(np.dot(x, x))
        self._peak = max(self._peak, int(np.max(np.abs(x))))
        self._count += samples.size
        if self._count < self._window:
            return None
        rms = (self._sum_sq / self._count) ** 0.5 / 32768.0
        peak = self._peak / 32768.0
        self._sum_sq, self._peak, self._count = 0.0, 0, 0
        return min(rms, 1.0), min(peak, 1.0)
