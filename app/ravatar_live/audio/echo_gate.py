"""While the avatar speaks, a take opens only on a voice clearly above what is left of its echo.

AEC3 removes most of the echo, but not all: on a device whose delay wanders (measured on
PulseAudio null sinks under load: 140-500 ms, moving by tens of ms within seconds) it removes
5-20 dB where a steady sound card gets 40 dB and more. ``ResidualEcho`` learns how much of the
avatar's voice survives the canceller (a high percentile of the cleaned microphone's level
against the reference's loudest over the echo's possible delay, over the last seconds the
avatar spoke) and turns it into a speech floor: the level a voice must pass while the avatar
speaks and for the echo's delay after.
Without a reference (half-duplex) the floor is a fixed, loud level. ``GatedVad`` applies the
floor to the hands-free VAD: a take opens only after a loud, confident voice held for a moment;
then it follows the inner VAD until a pause. The take logic's own pre-roll keeps the start of
the sentence.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.vad import Vad

FULL_SCALE = 32768.0
HALF_DUPLEX_FLOOR_DBFS = -30.0  # no reference: "speak up to interrupt"
_MIN_FLOOR_DBFS = -50.0         # a voice below this is never taken while the avatar speaks
_MARGIN_DB = 6.0                # a voice this much above the loud residual is the user's
SPEAKING_DBFS = -45.0           # reference louder than this: the avatar speaks
_TAIL_FRAMES = 80               # echo comes up to ~0.5 s late (+ its room tail): 800 ms
_LEARN_FRAMES = 500             # the residual ratio over the last 5 s of the avatar speaking
_PERCENTILE = 90                # the residual's loud moments, not its average
_LEARN_MIN_FRAMES = 200         # AEC3 converges over its first seconds: trust 2 s of learning
_FIRST_RATIO = 1.0              # until then: the residual may be as loud as the avatar
# After the user talked over the avatar the canceller re-converges for a moment: what it leaves
# then says nothing about the steady residual (learning it raised the floor above the user's
# voice barge-in after barge-in, -46 to -12 dBFS over 10 of them end to end).
_AFTER_TALK_FRAMES = 100
# A voice is above the floor for a moment before the gate opens on it: frames are learned this
# much later, and forgotten when the gate opens (they were the user's onset, not echo).
ONSET_FRAMES = 40
# Once measured, the floor never asks more than the avatar's own peak level: a louder leak is
# left to the echo check (echo_check.py), which tells it from a voice by its shape.
_MAX_RATIO = 0.5


def rms(samples: Int16Array) -> float:
    """RMS in int16 units (a dot product: several times quicker than ``np.mean`` on a frame;
    the method skips ``np.dot``'s dispatch, same BLAS call)."""
    if not samples.size:
        return 0.0
    x = samples.astype(np.float32)
    return float(np.sqrt(x.dot(x) / x.size))


def dbfs(level_db: float) -> float:
    return FULL_SCALE * 10 ** (level_db / 20)


TAIL_S = _TAIL_FRAMES / 100  # 10 ms frames


class EchoTail:
    """The reference's levels over the last ``TAIL_S``, frame by frame: while one was loud,
    the avatar's echo may still be arriving."""

    def __init__(self) -> None:
        self._levels = deque[float](maxlen=_TAIL_FRAMES)
        self._speaking = dbfs(SPEAKING_DBFS)
        self._since_loud = _TAIL_FRAMES  # frames pushed since the last loud one
        self._loudest: float | None = 0.0  # None: not worked out since the last push

    def push(self, level: float) -> None:
        """The next frame's reference level (int16 RMS)."""
        self._levels.append(level)
        self._since_loud = 0 if level > self._speaking else self._since_loud + 1
        self._loudest = None

    @property
    def loudest(self) -> float:
        if self._loudest is None:
            self._loudest = max(self._levels, default=0.0)
        return self._loudest

    @property
    def echo_may_come(self) -> bool:
        return self._since_loud < _TAIL_FRAMES

    def clear(self) -> None:
        self._levels.clear()
        self._since_loud = _TAIL_FRAMES
        self._loudest = 0.0


class ResidualEcho:
    def __init__(self) -> None:
        self._tail = EchoTail()
        self._ratios = deque[float](maxlen=_LEARN_FRAMES)
        self._settling = 0  # frames still to skip after the user talked
        self._recent = deque[float]()  # the newest ratios, learned once they are not an onset

    def frame(self, reference: Int16Array, cleaned: Int16Array, *, learn: bool = True,
              reference_level: float | None = None) -> None:
        """One 10 ms frame: the reference played meanwhile and what the canceller left.
        ``learn=False`` while the user talks: their voice is not residual echo.
        ``reference_level``: ``rms(reference)``, where the caller has it already."""
        self._tail.push(rms(reference) if reference_level is None else reference_level)
        if not learn:
            # The frames just before were the start of the user's voice, not residual echo.
            self._recent.clear()
            self._settling = _AFTER_TALK_FRAMES
        elif self._settling:
            self._settling -= 1
        elif self._tail.echo_may_come:
            self._recent.append(rms(cleaned) / self._tail.loudest)
            if len(self._recent) > ONSET_FRAMES:
                self._ratios.append(self._recent.popleft())

    @property
    def echo_may_come(self) -> bool:
        """The avatar spoke within the echo's tail (as of the last frame)."""
        return self._tail.echo_may_come

    def floor(self) -> float | None:
        """The level (int16 RMS) a voice must pass now; None when the avatar is quiet."""
        if not self._tail.echo_may_come:
            return None
        tail = self._tail.loudest
        ratio = (min(_MAX_RATIO, float(np.percentile(self._ratios, _PERCENTILE)))
                 if len(self._ratios) >= _LEARN_MIN_FRAMES else _FIRST_RATIO)
        return max(dbfs(_MIN_FLOOR_DBFS), ratio * tail * 10 ** (_MARGIN_DB / 20))

    def reset(self) -> None:
        self._tail.clear()


class GatedVad:
    """A VAD that, while ``floor()`` gives a level, hears speech only once a voice has been
    above it and likely speech (``min_probability``) for ``confirm_s`` within ``window_s``; it
    then follows the inner VAD until ``release_s`` without speech. With no floor it is the
    inner VAD."""

    def __init__(self, inner: Vad, floor: Callable[[], float | None], *,
                 min_probability: float = 0.5, confirm_s: float = 0.09, window_s: float = 0.3,
                 release_s: float = 0.6) -> None:
        self.inner = inner
        self.name = inner.name
        self.frame_samples = inner.frame_samples
        self._floor = floor
        self._min_probability = min_probability
        frame_s = inner.frame_samples / SAMPLE_RATE
        self._confirm_frames = max(1, math.ceil(confirm_s / frame_s))
        self._release_frames = max(1, math.ceil(release_s / frame_s))
        self._recent = deque[bool](maxlen=max(self._confirm_frames,
                                              math.ceil(window_s / frame_s)))
        self._quiet_run = 0
        self._open = False

    def probability(self, frame: Int16Array) -> float:
        p = self.inner.probability(frame)
        if self._open:
            self._quiet_run = 0 if p >= self._min_probability / 2 else self._quiet_run + 1
            if self._quiet_run >= self._release_frames:
                self._open = False
            return p
        floor = self._floor()
        if floor is None:
            return p
        self._recent.append(rms(frame) >= floor and p >= self._min_probability)
        if sum(self._recent) >= self._confirm_frames:
            self._open, self._quiet_run = True, 0
            self._recent.clear()
            return p
        return 0.0

    @property
    def is_open(self) -> bool:
        """A voice got through the floor and is being followed."""
        return self._open

    def reset(self) -> None:
        self.inner.reset()
        self._recent.clear()
        self._quiet_run = 0
        self._open = False
