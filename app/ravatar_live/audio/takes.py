"""Take logic on top of any VAD: frame probabilities in, take boundaries out.

A *take* is one utterance sent to the avatar. ``TakeDetector`` is a pure state machine fed one
speech probability per VAD frame; it reports sample positions (relative to the stream start):

- ``SpeechStarted``: ``start_ms`` of speech confirmed; the take begins ``preroll_ms`` earlier so the
  first syllable is not lost.
- ``TakeConfirmed``: the take holds ``min_speech_ms`` of speech, so it is not a click or a cough;
  only now may audio leave the machine.
- ``TakeEnded``: ``hangover_ms`` of silence after the last speech frame (short pauses inside the
  hangover never end a take: no flapping), or the ``max_take_s`` cap, or the end of the stream.
  ``accepted`` is False for takes that never got confirmed.

``Segmenter`` cuts an arbitrary sample stream into VAD frames and runs both; ``find_takes`` does a
whole signal at once (the ``ravatar-live-takes`` tool and the tests use exactly this path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array, to_int16
from ravatar_live.audio.settings import TakeSettings
from ravatar_live.audio.vad import Vad


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    start_sample: int


@dataclass(frozen=True, slots=True)
class TakeConfirmed:
    start_sample: int


@dataclass(frozen=True, slots=True)
class TakeEnded:
    start_sample: int
    end_sample: int      # end of the last speech frame
    closed_sample: int   # where the decision was made (hangover included)
    accepted: bool
    capped: bool = False


TakeEvent = SpeechStarted | TakeConfirmed | TakeEnded


@dataclass(frozen=True, slots=True)
class Take:
    """A finished, accepted take in seconds (the CLI's JSON line)."""

    start_s: float
    end_s: float
    closed_s: float
    capped: bool = False

    def as_json_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "closed_s": round(self.closed_s, 3)}


def _frames(ms: float, frame_samples: int, rate: int) -> int:
    return math.ceil(ms * rate / 1000.0 / frame_samples)


class TakeDetector:
    def __init__(self, settings: TakeSettings, frame_samples: int,
                 sample_rate: int = SAMPLE_RATE) -> None:
        self.settings = settings.validated()
        self.frame_samples = frame_samples
        self._rate = sample_rate
        self._start_frames = max(1, _frames(settings.start_ms, frame_samples, sample_rate))
        self._min_frames = _frames(settings.min_speech_ms, frame_samples, sample_rate)
        self._hang_frames = max(1, _frames(settings.hangover_ms, frame_samples, sample_rate))
        self._preroll = round(settings.preroll_ms * sample_rate / 1000)
        self._cap = round(settings.max_take_s * sample_rate)
        self.reset()

    def reset(self) -> None:
        self._index = 0          # index of the next frame
        self._run = 0            # consecutive speech frames while not in a take
        self._in_take = False
        self._confirmed = False
        self._take_start = 0
        self._last_speech = -1
        self._speech_frames = 0
        self._floor = 0          # a new take never reaches back into the previous one

    @property
    def in_take(self) -> bool:
        return self._in_take

    @property
    def position(self) -> int:
        """Samples consumed so far."""
        return self._index * self.frame_samples

    def update(self, probability: float) -> list[TakeEvent]:
        idx = self._index
        self._index += 1
        s = self.settings
        if not self._in_take:
            self._run = self._run + 1 if probability >= s.threshold else 0
            if self._run < self._start_frames:
                return []
            first = idx - self._run + 1
            self._in_take, self._confirmed = True, False
            self._take_start = max(self._floor, first * self.frame_samples - self._preroll, 0)
            self._last_speech = idx
            self._speech_frames = self._run
            events: list[TakeEvent] = [SpeechStarted(self._take_start)]
            return events + self._maybe_confirm()
        if probability >= s.threshold - s.release_delta:
            self._last_speech = idx
            self._speech_frames += 1
            events = self._maybe_confirm()
        else:
            events = []
            if idx - self._last_speech >= self._hang_frames:
                return [*events, self._close(capped=False)]
        if self.position - self._take_start >= self._cap:
            events.append(self._close(capped=True))
        return events

    def finish(self) -> list[TakeEvent]:
        """End of stream: close an open take where the stream stops."""
        return [self._close(capped=False)] if self._in_take else []

    def _maybe_confirm(self) -> list[TakeEvent]:
        if not self._confirmed and self._speech_frames >= self._min_frames:
            self._confirmed = True
            return [TakeConfirmed(self._take_start)]
        return []

    def _close(self, *, capped: bool) -> TakeEnded:
        end = min((self._last_speech + 1) * self.frame_samples, self.position)
        event = TakeEnded(self._take_start, end, self.position, self._confirmed, capped)
        self._in_take = self._confirmed = False
        self._run = 0
        self._floor = self.position
        return event


class Segmenter:
    """Stream samples in any block size; VAD frames and take events come out."""

    def __init__(self, vad: Vad, settings: TakeSettings, sample_rate: int = SAMPLE_RATE) -> None:
        self.vad = vad
        self.detector = TakeDetector(settings, vad.frame_samples, sample_rate)
        self._pending = np.zeros(0, dtype=np.int16)

    @property
    def position(self) -> int:
        return self.detector.position

    def push(self, samples: npt.ArrayLike) -> list[TakeEvent]:
        data = to_int16(samples).reshape(-1)
        buf = np.concatenate((self._pending, data)) if self._pending.size else data
        n = self.vad.frame_samples
        whole = buf.size // n
        events: list[TakeEvent] = []
        for i in range(whole):
            events.extend(self.detector.update(self.vad.probability(buf[i * n : (i + 1) * n])))
        self._pending = buf[whole * n :].copy()
        return events

    def finish(self) -> list[TakeEvent]:
        return self.detector.finish()

    def reset(self) -> None:
        self.vad.reset()
        self.detector.reset()
        self._pending = np.zeros(0, dtype=np.int16)


def frame_probabilities(samples: Int16Array, vad: Vad) -> list[float]:
    """The VAD's probability for every whole frame of a signal (the same framing as Segmenter)."""
    n = vad.frame_samples
    data = to_int16(samples).reshape(-1)
    return [vad.probability(data[i * n : (i + 1) * n]) for i in range(data.size // n)]


def takes_from_probabilities(probabilities: Sequence[float], frame_samples: int,
                             settings: TakeSettings, sample_rate: int = SAMPLE_RATE, *,
                             close_at_end: bool = True) -> list[Take]:
    """Run the take logic on precomputed frame probabilities (the bench sweeps settings so)."""
    detector = TakeDetector(settings, frame_samples, sample_rate)
    events: list[TakeEvent] = []
    for p in probabilities:
        events.extend(detector.update(p))
    if close_at_end:
        events.extend(detector.finish())
    return [Take(e.start_sample / sample_rate, e.end_sample / sample_rate,
                 e.closed_sample / sample_rate, e.capped)
            for e in events if isinstance(e, TakeEnded) and e.accepted]


def find_takes(samples: Int16Array, vad: Vad, settings: TakeSettings,
               sample_rate: int = SAMPLE_RATE, *, close_at_end: bool = True) -> list[Take]:
    """Every accepted take of a whole 16 kHz signal, exactly as the live path finds them."""
    return takes_from_probabilities(frame_probabilities(samples, vad), vad.frame_samples,
                                    settings, sample_rate, close_at_end=close_at_end)
