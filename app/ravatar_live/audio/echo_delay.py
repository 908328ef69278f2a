"""How late the avatar's voice reaches the microphone, so the canceller is handed its reference in
time.

AEC3 finds the echo's delay by itself, but only within about half a second of the reference it
is given (measured with the livekit APM: 56 dB of echo removed at 450 ms, none at 550 ms). Real
paths go beyond that: Bluetooth speakers, remote desktops, a loaded PulseAudio whose loopback
wanders. ``EchoDelayTracker`` measures the whole delay between the far-end timeline and the
microphone (GCC-PHAT over the last seconds, speech band, while the avatar speaks) and gives the
shift by which the reference should be read earlier, so that what is left for AEC3 sits well
inside its range. The shift moves only when the echo leaves that range and two measurements in
a row agree (each move makes AEC3 find the delay again); a path within range keeps shift 0.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import numpy as np

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array

log = logging.getLogger(__name__)

WINDOW_S = 2.0          # microphone audio correlated per measurement
EVERY_S = 0.5           # how often to measure (while the avatar speaks)
MAX_DELAY_S = 1.5       # the longest echo delay looked for
MAX_LEAD_S = 0.3        # an echo this much *earlier* than the shifted reference is found too
DECIMATE = 4            # correlate at 4 kHz: speech's strong band, a quarter of the work
BAND_HZ = (200.0, 1800.0)
MIN_CONFIDENCE = 7.0    # the peak's height over the correlation's spread (z-score)
AGREE_S = 0.03          # two measurements this close agree
#: What AEC3 is left with: the delay after the shift stays in this range, and a move aims at its
#: middle (the estimator covers about 0-500 ms; a late echo is causal, an early one is not).
KEEP_RANGE_S = (0.02, 0.48)
AIM_S = 0.2
_SPEAKING_RMS = 32768 * 10 ** (-45 / 20)

Reference = Callable[[float, int], Int16Array]  # (start time, count) -> 16 kHz samples


class EchoDelayTracker:
    def __init__(self, reference: Reference) -> None:
        self._reference = reference
        self._window_frames = round(WINDOW_S * SAMPLE_RATE / 160)  # 10 ms frames
        self._mic: deque[tuple[float, Int16Array]] = deque(maxlen=self._window_frames)
        self._frames_since = 0
        self._last_found: float | None = None
        self.shift_s = 0.0
        self.measured_s: float | None = None  # the latest confident whole-path delay

    def observe(self, mic: Int16Array, start: float) -> None:
        """One raw microphone frame (before processing) that began at monotonic ``start``."""
        self._mic.append((start, mic))
        self._frames_since += mic.size
        if self._frames_since < EVERY_S * SAMPLE_RATE or len(self._mic) < self._window_frames:
            return
        self._frames_since = 0
        delay = self._measure()
        if delay is None:
            return
        self.measured_s = delay
        log.debug("echo delay measured: %.0f ms (reference read %.0f ms earlier)",
                  delay * 1000, self.shift_s * 1000)
        agreed = self._last_found is not None and abs(delay - self._last_found) <= AGREE_S
        self._last_found = delay
        left = delay - self.shift_s
        if agreed and not KEEP_RANGE_S[0] <= left <= KEEP_RANGE_S[1]:
            shift = max(0.0, delay - AIM_S)
            log.info("echo arrives %.0f ms after its reference: reading it %.0f ms earlier "
                     "(was %.0f ms)", delay * 1000, shift * 1000, self.shift_s * 1000)
            self.shift_s = shift

    def reset(self) -> None:
        """A new microphone stream: its timing starts over (the shift is kept: same devices)."""
        self._mic.clear()
        self._frames_since = 0
        self._last_found = None

    def _measure(self) -> float | None:
        """The whole-path delay (s) from the last ``WINDOW_S``, or None when not confident."""
        start = self._mic[0][0]
        mic = np.concatenate([frame for _, frame in self._mic]).astype(np.float32)
        # The reference over the same stretch, extended by the delays looked for on either side.
        lead, lag = MAX_LEAD_S + self.shift_s, MAX_DELAY_S
        ref = self._reference(start - lag, mic.size + round((lag + lead) * SAMPLE_RATE)
                              ).astype(np.float32)
        if _speaking_share(ref) < 0.2:
            return None
        mic, ref = _decimate(mic), _decimate(ref)
        rate = SAMPLE_RATE / DECIMATE
        size = 1 << int(np.ceil(np.log2(mic.size + ref.size)))
        cross = np.conj(np.fft.rfft(mic, size)) * np.fft.rfft(ref, size)
        freqs = np.fft.rfftfreq(size, 1 / rate)
        cross[(freqs < BAND_HZ[0]) | (freqs > BAND_HZ[1])] = 0
        cross /= np.abs(cross) + 1e-12
        corr = np.fft.irfft(cross, size)
        # corr[k] pairs mic[n] with ref[n + k]: the echo of ref at `lag - d` sits at k = lag - d.
        lags = corr[: round((lag + lead) * rate) + 1]
        peak = int(np.argmax(lags))
        spread = float(np.std(lags))
        if spread == 0 or (lags[peak] - float(np.median(lags))) / spread < MIN_CONFIDENCE:
            return None
        return lag - peak / rate


def _decimate(x: np.ndarray) -> np.ndarray:
    """A quarter of the rate: the mean of each 4 samples (enough low-pass for a correlation)."""
    usable = x.size - x.size % DECIMATE
    return x[:usable].reshape(-1, DECIMATE).mean(axis=1)


def _speaking_share(ref: np.ndarray) -> float:
    """The share of 10 ms frames in which the reference is speech-loud."""
    frames = ref[: ref.size - ref.size % 160].reshape(-1, 160)
    if not frames.size:
        return 0.0
    return float(np.mean(np.sqrt(np.mean(frames ** 2, axis=1)) > _SPEAKING_RMS))
