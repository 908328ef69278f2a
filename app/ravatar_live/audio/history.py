"""A ring buffer of recent 16 kHz samples addressed by absolute sample index (for pre-roll)."""

from __future__ import annotations

import numpy as np

from ravatar_live.audio.pcm import Int16Array


class SampleHistory:
    def __init__(self, capacity: int) -> None:
        self._buf = np.zeros(max(1, capacity), dtype=np.int16)
        self.total = 0  # absolute index of the next sample to be appended

    @property
    def capacity(self) -> int:
        return self._buf.size

    @property
    def oldest(self) -> int:
        return max(0, self.total - self._buf.size)

    def append(self, samples: Int16Array) -> None:
        data = samples[-self._buf.size :]
        cap = self._buf.size
        start = (self.total + samples.size - data.size) % cap
        first = min(cap - start, data.size)
        self._buf[start : start + first] = data[:first]
        self._buf[: data.size - first] = data[first:]
        self.total += samples.size

    def slice(self, start: int, end: int) -> Int16Array:
        """Samples [start, end) clamped to what is still held."""
        start, end = max(start, self.oldest), min(end, self.total)
        if end <= start:
            return np.zeros(0, dtype=np.int16)
        cap = self._buf.size
        idx = np.arange(start, end) % cap
        return self._buf[idx].copy()
