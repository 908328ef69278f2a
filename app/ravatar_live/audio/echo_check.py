"""Is a hands-free take the avatar's own voice? Judged before the take goes out.

AEC3 loses the echo for a while when the echo path jumps: an audio stack that re-buffers under
load moves it by tens to hundreds of milliseconds (measured over PulseAudio on a busy machine:
the canceller's echo reduction fell from ~40 dB to ~0 dB within 50 ms, often with no gap in our
own playback to warn of it). What leaks is as loud as the echo itself, above any level floor
learned while the canceller worked, and it is speech, so the VAD opens a take for it.

Its shape gives it away. A leak follows what the avatar played — band by band, at one delay —
whatever the room does to it; the user's voice does not, even mixed with some echo. So when a
take would be confirmed while the avatar has been speaking, the last ``CHECK_S`` of what the
canceller let through is compared with the reference over every delay up to ``MAX_DELAY_S``:
the amplitude in 24 bands every 10 ms (smoothed over 30 ms), each band's track normalised over
the frames where the take sounds, the best mean product over the delays (``echo_likeness``: 1
for the echo alone in a dead room, near 0 for an unrelated voice). Measured
(tests/unit/test_echo_check.py, espeak-ng voices, 0.8 s windows): the echo through simulated
rooms scores 0.73 or more, a sentence over what a working canceller leaves of the echo 0.40 at
most; a lone short word scores higher by chance, hence the allowance below.
What the canceller lets through is not always enough: on a busy machine AEC3 left a leak
chopped out of shape (0.08-0.50 end to end) while the microphone itself followed the avatar
clearly (0.58-0.99). So the raw microphone is judged too, to a higher bar
(``RAW_ECHO_MARGIN`` above): a user talking over an echo as loud as their voice scores 0.51-0.64
on it (simulated rooms), over the end-to-end test's quieter echo 0.11-0.45.
A take that scores ``ECHO_LIKENESS`` or more is held and judged again on its newest audio as
it goes on: the user who starts under the avatar's echo and talks on is sent whole, start and
all, once their own voice dominates; a take that ends still following the avatar is dropped,
and nothing of it is sent.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array

CHECK_S = 0.8          # the take's newest audio judged (shorter takes: all of it)
REJUDGE_S = 0.4        # a take that still follows the avatar is judged again this much later
MIN_CHECK_S = 0.3      # less than this cannot be told apart
MIN_ACTIVE_S = 0.12    # ...nor less sounding audio than this
# Fewer sounding frames match by chance more easily: a lone word over silence (0.3-0.6 s of
# sound) reached 0.61, a sentence 0.40. So a take with less than FULL_ACTIVE_S of sound has its
# score lowered by SHORT_ALLOWANCE (in effect it needs 0.65): a short burst of leaked echo still
# scores above that (0.76 median; 0.76 at least with 0.3 s of sound or more).
FULL_ACTIVE_S = 0.6
SHORT_ALLOWANCE = 0.15
MAX_DELAY_S = 1.0      # echo comes at most this long after its reference played
ECHO_LIKENESS = 0.5    # a take scoring this or more is the avatar's echo
RAW_ECHO_MARGIN = 0.2  # the raw microphone's score counts this much less (it must reach 0.7)
# A take held as echo goes out on a later window only below this: with many windows judged, one
# could dip under ECHO_LIKENESS by chance (a leak end to end: 0.66, 0.78, 0.65, then 0.49).
STILL_ECHO_BELOW = 0.4

_HOP = SAMPLE_RATE // 100      # a frame every 10 ms
_FRAME = SAMPLE_RATE // 50     # of 20 ms
_FFT = 512
_FLOOR = 1e3       # energy floor (about -90 dB of full scale): digital silence is not loud
_ACTIVE_DB = 30.0  # frames this far below the window's loud moments are not judged
_SOUNDING_DB = 70.0  # nor frames below about -68 dBFS (digital silence is 30 on this scale)
_WINDOW = np.hanning(_FRAME)
_bin_hz = np.fft.rfftfreq(_FFT, 1 / SAMPLE_RATE)
# 24 bands spaced like hearing's, 150 Hz to 7 kHz: fine enough that two voices saying different
# things rarely share a pattern by chance (7 bands let a user's voice reach 0.60), coarse enough
# that a room's colouring does not break the echo's.
_BANDS = [band for lo, hi in pairwise(np.geomspace(150, 7000, 25))
          if (band := (_bin_hz >= lo) & (_bin_hz < hi)).any()]


def band_power(samples: Int16Array) -> np.ndarray:
    """Energy per band, 20 ms frames every 10 ms: shape (bands, frames)."""
    frames = (samples.size - _FRAME) // _HOP + 1
    if frames < 1:
        return np.zeros((len(_BANDS), 0))
    starts = np.arange(frames)[:, np.newaxis] * _HOP
    x = samples.astype(np.float64)[starts + np.arange(_FRAME)] * _WINDOW
    power = np.abs(np.fft.rfft(x, _FFT, axis=1)) ** 2
    return np.stack([power[:, band].sum(axis=1) for band in _BANDS])


def echo_likeness(audio: Int16Array, reference: Int16Array) -> float | None:
    """How closely ``audio`` follows ``reference`` at its best delay (-1..1), over the frames
    where ``audio`` is sounding (above ``_SOUNDING_DB`` and within ``_ACTIVE_DB`` of its loud
    moments); None when fewer than
    ``MIN_ACTIVE_S`` are: a fading tail and silence cannot be told apart from anything.
    ``reference`` covers the same stretch of time as ``audio`` and ``MAX_DELAY_S`` (or less)
    before it."""
    power = band_power(audio)
    # Amplitude envelopes: the loud syllables a room smears least carry the pattern (log
    # energy let the quiet detail a room blurs count as much: echo 0.49 at worst, not 0.67).
    # Smoothed over 30 ms: a delay that wanders by tens of ms within the window (an audio stack
    # under load) must not break the match (echo 0.73 at worst with it, 0.43 without).
    reference_power = band_power(reference)
    n = power.shape[1]
    if n < 2 or reference_power.shape[1] < n:
        return None
    a = _smoothed(np.sqrt(power))
    r = _smoothed(np.sqrt(reference_power))
    loudness = 10 * np.log10(power.sum(axis=0) + _FLOOR)
    # Relative to the loud moments, not the loudest: one click must not make the rest "quiet".
    sounding = loudness >= _SOUNDING_DB
    if sounding.sum() < MIN_ACTIVE_S * 100:
        return None
    active = sounding & (loudness >= np.percentile(loudness[sounding], 90) - _ACTIVE_DB)
    if active.sum() < MIN_ACTIVE_S * 100:
        return None
    a = a[:, active]
    a = (a - a.mean(axis=1, keepdims=True)) / np.maximum(a.std(axis=1, keepdims=True), 1e-6)
    # Every delay's stretch of the reference at the same frames, normalised band by band.
    stretches = np.lib.stride_tricks.sliding_window_view(r, n, axis=1)[:, :, active]
    mean = stretches.mean(axis=2, keepdims=True)
    spread = np.maximum(stretches.std(axis=2, keepdims=True), 1e-6)
    scores = np.einsum("blk,bk->l", (stretches - mean) / spread, a) / a.size
    short = active.sum() < FULL_ACTIVE_S * 100
    return float(scores.max()) - (SHORT_ALLOWANCE if short else 0.0)


def _smoothed(envelopes: np.ndarray) -> np.ndarray:
    """Each band's track averaged over three frames."""
    padded = np.pad(envelopes, ((0, 0), (1, 1)), mode="edge")
    return (padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]) / 3


def judged_span(take_samples: int) -> int | None:
    """How much of a take of ``take_samples`` to judge; None: too short to tell."""
    if take_samples < MIN_CHECK_S * SAMPLE_RATE:
        return None
    return min(take_samples, round(CHECK_S * SAMPLE_RATE))
