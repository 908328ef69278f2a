"""What the streamed avatar is doing from moment to moment: its mode, the speech it is playing,
how wide its mouth is. Shared by one peer's video and audio tracks; no aiortc needed here.

The simulator's stream events drive it: "listening", "thinking", "speaking" (with the reply text
and an estimated duration) and "session-end". Speech samples arrive a little after "speaking"
(synthesis takes a moment), exactly as a real avatar starts talking a little after its text.
A new user turn ("listening" / "thinking") while the avatar talks cuts it off at once (barge-in).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from ravatar_live.simulator.avatar_voice import RATE

MOUTH_WINDOW = RATE * 40 // 1000  # loudness over the last 40 ms opens the mouth
MOUTH_GAIN = 5.0  # speech RMS around 0.1-0.2 opens the mouth most of the way


class AvatarPerformance:
    """Mode and voice of one streamed avatar. Not thread-safe: use it from one event loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.mode = "idle"
        self._speech: np.ndarray | None = None
        self._pos = 0
        self._silent_until = 0.0  # speaking without audio (no espeak-ng): until this time
        self.samples_spoken = 0
        self.replies_spoken = 0
        self.replies_interrupted = 0

    def on_event(self, event: dict[str, object]) -> None:
        """Follow a stream event ("listening", "thinking", "speaking", "session-end")."""
        kind = event.get("event")
        if kind in ("listening", "thinking"):
            self._stop_speaking()
            self.mode = str(kind)
        elif kind == "session-end":
            self._stop_speaking()
            self.mode = "ended"

    def _stop_speaking(self) -> None:
        """Cut the voice and the mouth off now, counting a reply cut short."""
        if self.current_mode() == "speaking":
            self.replies_interrupted += 1
        self._speech = None
        self._silent_until = 0.0

    def speak(self, samples: np.ndarray | None, duration_s: float) -> None:
        """Start saying `samples` (48 kHz int16); with None, move the mouth for `duration_s`.
        A reply still playing is cut off by the new one."""
        if self.mode == "ended":
            return
        self._stop_speaking()
        self.replies_spoken += 1
        self.mode = "speaking"
        if samples is not None and len(samples):
            self._speech = samples
            self._pos = 0
            self._silent_until = 0.0
        else:
            self._speech = None
            self._silent_until = self._clock() + max(0.0, duration_s)

    def next_audio(self, count: int) -> np.ndarray:
        """The next `count` samples of the voice (silence when not speaking)."""
        out = np.zeros(count, dtype=np.int16)
        speech = self._speech
        if speech is not None:
            chunk = speech[self._pos:self._pos + count]
            out[:len(chunk)] = chunk
            self._pos += count
            self.samples_spoken += len(chunk)
            if self._pos >= len(speech):
                self._speech = None
                self._finish_speaking()
        return out

    def _finish_speaking(self) -> None:
        if self.mode == "speaking":
            self.mode = "idle"

    def current_mode(self) -> str:
        """The mode now (a silent "speaking" ends by the clock)."""
        if (self.mode == "speaking" and self._speech is None
                and self._clock() >= self._silent_until):
            self._finish_speaking()
        return self.mode

    def mouth_open(self, t: float) -> float:
        """0..1: the loudness of the voice being played, or a talking rhythm without a voice."""
        if self.current_mode() != "speaking":
            return 0.0
        speech = self._speech
        if speech is None:  # no synthesiser: the canvas page's rhythm
            return 0.25 + 0.75 * abs(math.sin(t * 11) * math.sin(t * 3.7 + 1))
        window = speech[max(0, self._pos - MOUTH_WINDOW):self._pos]
        if not len(window):
            return 0.0
        rms = float(np.sqrt(np.mean((window.astype(np.float32) / 32768.0) ** 2)))
        return min(1.0, rms * MOUTH_GAIN)
