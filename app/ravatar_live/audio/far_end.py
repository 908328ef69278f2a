"""The far end for echo cancellation: what the avatar's voice played, and when.

Players hand over blocks of what they played with the monotonic time their first sample was due
at the speaker (the native player's playback tap; the web view's tap, see ``far_end_web.py``).
``feed`` only queues (it runs on audio device threads and must return at once); the capture
path, on the loop thread, calls ``read(start, n)`` for the reference that played over the same
stretch of time as a microphone frame. Blocks are downmixed and resampled to 16 kHz and laid on
one timeline: a block that follows on from the last one (within ``_JOIN_S``) continues it
sample-exactly, so the played timestamps' jitter does not chop the reference; a jump starts a
new stretch at the block's own time. Where nothing was played the reference is silence.

Without a reference (no tap, or a web view whose audio cannot be tapped) the players still say
when the avatar is audible (``note_avatar_audible``): the capture path then falls back to
half-duplex.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import soxr

from ravatar_live.audio.echo_gate import SPEAKING_DBFS, dbfs, rms
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array

_CAPACITY_S = 4.0        # the reference kept: well over any device delay worth cancelling
_JOIN_S = 0.03           # a block this close to where the last one ended continues it
_ALIVE_S = 1.0           # fed within this long: the reference is there
_AUDIBLE_HOLD_S = 1.2    # an avatar-audible report counts this long
_SPEAKING = dbfs(SPEAKING_DBFS)
_EMPTY = np.iinfo(np.int64).min  # the lap of a slot that holds nothing
_EVERYWHERE = -(2 ** 63)  # a ``_quiet_from`` before any index


class FarEndReference:
    """Thread-safe: ``feed`` and ``note_avatar_audible`` from any thread; the rest on one
    consumer thread (the loop)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: deque[tuple[np.ndarray, int, float]] = deque()
        self._lock = threading.Lock()
        self._capacity = round(_CAPACITY_S * SAMPLE_RATE)
        self._ring = np.zeros(self._capacity, np.int16)
        # The lap (absolute index // capacity) of the sample each slot holds: slot s of lap L
        # holds index L * capacity + s. A read or a lay touches at most two runs of slots.
        self._laps = np.full(self._capacity, _EMPTY, np.int64)
        self._next_index: int | None = None  # where the current stretch continues
        # Every sample held from this index on is silence (no block laid since the last reset
        # that held sound reaches past it): a read there is zeros at once (the avatar at rest).
        self._quiet_from = _EVERYWHERE
        self._resamplers: dict[int, _Resampler] = {}
        self._fed_at = -1e9
        self._audible_until = -1e9
        self._speaking_until = -1e9

    # ---------------------------------------------------------------- any thread
    def feed(self, samples: np.ndarray, sample_rate: int, played_at: float) -> None:
        """Queue int16 samples, shaped (frames,) or (frames, channels), whose first one is due at
        the speaker at ``played_at`` (monotonic seconds)."""
        with self._lock:
            self._pending.append((samples, sample_rate, played_at))
            while len(self._pending) > 500:  # the consumer stopped: keep the newest audio
                self._pending.popleft()
            self._fed_at = self._clock()

    def note_avatar_audible(self) -> None:
        """A player heard the avatar (its level) without handing over its audio."""
        with self._lock:
            self._audible_until = self._clock() + _AUDIBLE_HOLD_S

    # ---------------------------------------------------------------- consumer
    @property
    def alive(self) -> bool:
        """A player fed its audio lately: echo can be cancelled."""
        return self._clock() - self._fed_at < _ALIVE_S

    @property
    def avatar_speaking(self) -> bool:
        """The avatar is audible now (from the reference, or from a player's report)."""
        self._absorb()
        now = self._clock()
        return now < self._speaking_until or now < self._audible_until

    def covered_until(self) -> float:
        """Monotonic time up to which the reference is known (what was fed so far)."""
        self._absorb()
        return -1e9 if self._next_index is None else self._next_index / SAMPLE_RATE

    def read(self, start: float, count: int) -> Int16Array:
        """``count`` reference samples from monotonic time ``start`` on; silence where none."""
        return self._read(start, count)[0]

    def read_level(self, start: float, count: int) -> tuple[Int16Array, float]:
        """``read`` and the samples' ``rms`` (not worked out where only silence is held)."""
        samples, silent = self._read(start, count)
        return samples, 0.0 if silent else rms(samples)

    def _read(self, start: float, count: int) -> tuple[Int16Array, bool]:
        """``read``, and True when the samples are surely all zero."""
        self._absorb()
        out = np.zeros(max(count, 0), np.int16)
        first = round(start * SAMPLE_RATE)
        if first >= self._quiet_from:
            return out, True
        at = 0
        while at < count:  # runs of slots up to the ring's end
            lap, slot = divmod(first + at, self._capacity)
            n = min(count - at, self._capacity - slot)
            held = self._laps[slot:slot + n] == lap
            np.copyto(out[at:at + n], self._ring[slot:slot + n], where=held)
            at += n
        return out, False

    def reset(self) -> None:
        """A new stream: forget what was played."""
        self._absorb()
        self._laps.fill(_EMPTY)
        self._next_index = None
        self._quiet_from = _EVERYWHERE
        self._resamplers.clear()

    def _absorb(self) -> None:
        if not self._pending:  # atomic under the GIL; a block fed meanwhile waits for the next
            return
        with self._lock:
            pending = list(self._pending)
            self._pending.clear()
        for samples, rate, played_at in pending:
            wire, held = self._to_wire(samples, rate)
            # The resampler holds back its filter's delay: what comes out ends that many
            # samples before the end of what went in.
            end = round(played_at * SAMPLE_RATE + len(samples) * SAMPLE_RATE / rate) - held
            self._lay(wire, end - wire.size)

    def _to_wire(self, samples: np.ndarray, rate: int) -> tuple[Int16Array, int]:
        """16 kHz mono of the block, and how many of its samples the resampler still holds."""
        single = 0 < len(samples) == samples.size  # one channel
        if single and rate == SAMPLE_RATE and samples.dtype == np.int16:
            return samples.reshape(-1), 0  # already on the wire (what the float path gives)
        mono = samples.astype(np.float32).reshape(len(samples), -1)
        # The mean of one channel is that channel, exactly.
        mono = mono.reshape(-1) if single else mono.mean(axis=1)
        held = 0
        if rate != SAMPLE_RATE:
            stream = self._resamplers.get(rate)
            if stream is None:
                stream = self._resamplers[rate] = _Resampler(rate)
            mono, held = stream.convert(mono)
        return np.clip(np.rint(mono), -32768, 32767).astype(np.int16), held

    def _lay(self, samples: Int16Array, own_start: int) -> None:
        if samples.size == 0:
            return
        start = self._next_index
        if start is None or abs(own_start - start) > _JOIN_S * SAMPLE_RATE:
            start = own_start
        samples = samples[-self._capacity:]
        at = 0
        while at < samples.size:  # runs of slots up to the ring's end
            lap, slot = divmod(start + at, self._capacity)
            n = min(samples.size - at, self._capacity - slot)
            self._ring[slot:slot + n] = samples[at:at + n]
            self._laps[slot:slot + n] = lap
            at += n
        self._next_index = start + samples.size
        if not samples.any():  # silence: quiet where it lies, and its rms is 0.0
            return
        self._quiet_from = max(self._quiet_from, start + samples.size)
        if rms(samples) > _SPEAKING:
            self._speaking_until = max(self._speaking_until,
                                       (start + samples.size) / SAMPLE_RATE + 0.3)


class _Resampler:
    """A streaming resampler to 16 kHz that counts what it holds back."""

    def __init__(self, rate: int) -> None:
        self._stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self._ratio = SAMPLE_RATE / rate
        self._in = 0
        self._out = 0

    def convert(self, mono: np.ndarray) -> tuple[np.ndarray, int]:
        out = self._stream.resample_chunk(mono)
        self._in += mono.size
        self._out += out.size
        return out, round(self._in * self._ratio) - self._out
