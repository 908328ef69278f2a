"""When the avatar starts speaking, judged from the level of the audio as it is played.

An onset is a block whose RMS rises above `threshold_dbfs` (about -30 dBFS) after at least
`quiet_s` (300 ms) of blocks below it. Per-turn latency uses it: the user stops talking, the
avatar's voice is heard. Not thread-safe: feed it from one thread (the audio device's).
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_THRESHOLD_DBFS = -30.0
DEFAULT_QUIET_S = 0.3


def rms_level(samples: np.ndarray) -> float:
    """RMS of int16 samples as a fraction of full scale (0..1)."""
    if samples.size == 0:
        return 0.0
    scaled = samples.astype(np.float32) * (1.0 / 32768.0)
    return float(np.sqrt(np.mean(scaled * scaled)))


class VoiceOnsetDetector:
    """`feed()` one block's level and duration; True when that block is a voice onset."""

    def __init__(self, threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
                 quiet_s: float = DEFAULT_QUIET_S) -> None:
        if not math.isfinite(threshold_dbfs) or threshold_dbfs >= 0:
            raise ValueError(f"the onset threshold must be below 0 dBFS, got {threshold_dbfs}")
        if not math.isfinite(quiet_s) or quiet_s < 0:
            raise ValueError(f"the quiet time must be >= 0 s, got {quiet_s}")
        self.threshold = 10 ** (threshold_dbfs / 20)
        self.quiet_s = quiet_s
        self._quiet_for = 0.0
        self.onsets = 0

    def feed(self, level: float, duration_s: float) -> bool:
        if level < self.threshold:
            self._quiet_for += duration_s
            return False
        onset = self._quiet_for >= self.quiet_s
        self._quiet_for = 0.0
        if onset:
            self.onsets += 1
        return onset

    def reset(self) -> None:
        """A new stream: what came before does not count as quiet."""
        self._quiet_for = 0.0
