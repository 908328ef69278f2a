"""Take logic on top of any VAD: frame probabilities in, take boundaries out.

A *take* is one utterance sent to the avatar. ``TakeDetector`` is a pure state machine fed one
speech probability per VAD frame; it reports sample positions (relative to the stream start):

- ``SpeechStarted``: ``start_ms`` of speech confirmed; the take begins ``preroll_ms`` earlier so the
  first syllable is not lost.
- ``TakeConfirmed``: the take holds ``min_speech_ms`` of speech, so it is not a click or a cough;
  only now may audio leave the machine.
- ``JudgeTurn``: a pause began (``turn.judge_after_ms`` of silence in a take): the audio from
  ``start_sample`` to ``end_sample`` (now) should be judged by the turn-completion model; the answer
  comes back through ``TakeDetector.judge(pause_id, probability)``.
- ``TakeEnded``: the end of the turn, or the ``max_take_s`` cap, or the end of the stream.
  ``accepted`` is False for takes that never got confirmed.

When does silence end a turn? With ``settings.turn`` set and the take confirmed: after
``turn.complete_ms`` when the model judged the pause complete, after ``turn.limit_ms`` when it
judged it incomplete or has not answered yet, after ``hangover_ms`` when it could not judge
(model failure). Otherwise (no ``settings.turn``, or a take too short to be a turn yet): after
``hangover_ms`` (Silero only). Speech that resumes cancels the pause and its verdict; short pauses
never end a take early (no flapping).

``Segmenter`` cuts an arbitrary sample stream into VAD frames, runs both and carries pauses to a
``TurnJudge`` and its verdicts back; ``find_takes`` does a whole signal at once (the
``ravatar-live-takes`` tool and the bench use exactly this path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ravatar_live.audio.history import SampleHistory
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array, to_int16
from ravatar_live.audio.settings import TakeSettings
from ravatar_live.audio.turn_judge import TurnJudge
from ravatar_live.audio.vad import Vad


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    start_sample: int


@dataclass(frozen=True, slots=True)
class TakeConfirmed:
    start_sample: int


@dataclass(frozen=True, slots=True)
class JudgeTurn:
    pause_id: int
    start_sample: int    # the take's start
    end_sample: int      # now: the model judges [start, end), the pause so far included


@dataclass(frozen=True, slots=True)
class TakeEnded:
    start_sample: int
    end_sample: int      # end of the last speech frame
    closed_sample: int   # where the decision was made (hangover included)
    accepted: bool
    capped: bool = False


TakeEvent = SpeechStarted | TakeConfirmed | JudgeTurn | TakeEnded


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


_NOT_ASKED, _PENDING, _FAILED = "not asked", "pending", "failed"


class TakeDetector:
    def __init__(self, settings: TakeSettings, frame_samples: int,
                 sample_rate: int = SAMPLE_RATE) -> None:
        self.settings = settings.validated()
        self.frame_samples = frame_samples
        self._rate = sample_rate
        self._start_frames = max(1, _frames(settings.start_ms, frame_samples, sample_rate))
        self._min_frames = _frames(settings.min_speech_ms, frame_samples, sample_rate)
        self._hang_frames = max(1, _frames(settings.hangover_ms, frame_samples, sample_rate))
        turn = settings.turn
        if turn is not None:
            self._judge_frames = max(1, _frames(turn.judge_after_ms, frame_samples, sample_rate))
            self._complete_frames = max(1, _frames(turn.complete_ms, frame_samples, sample_rate))
            self._limit_frames = max(1, _frames(turn.limit_ms, frame_samples, sample_rate))
        self._preroll = round(settings.preroll_ms * sample_rate / 1000)
        self._cap = round(settings.max_take_s * sample_rate)
        self._pause_id = 0
        self._verdict: str | float = _NOT_ASKED  # or the completion probability
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
        self._new_pause()

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
            if self._verdict != _NOT_ASKED:
                self._new_pause()  # the speaker went on: that pause and its verdict are moot
            events = self._maybe_confirm()
        else:
            events = self._pause_events()
            if events and isinstance(events[-1], TakeEnded):
                return events
        if self.position - self._take_start >= self._cap:
            events.append(self._close(capped=True))
        return events

    def judge(self, pause_id: int, probability: float | None) -> list[TakeEvent]:
        """The turn model's answer for a ``JudgeTurn``: the probability that the turn is
        complete, or None when the model could not judge. Stale answers are ignored."""
        if pause_id != self._pause_id or self._verdict != _PENDING or not self._in_take:
            return []
        self._verdict = _FAILED if probability is None else probability
        return self._close_if_due()

    def finish(self) -> list[TakeEvent]:
        """End of stream: close an open take where the stream stops."""
        return [self._close(capped=False)] if self._in_take else []

    def _silent_frames(self) -> int:
        return self._index - 1 - self._last_speech

    def _pause_events(self) -> list[TakeEvent]:
        if (self._judging() and self._verdict == _NOT_ASKED
                and self._silent_frames() >= self._judge_frames):
            self._verdict = _PENDING
            # The audio so far, the silence heard since the last word included: the model
            # was trained on turns that end in such a pause.
            return [JudgeTurn(self._pause_id, self._take_start, self.position),
                    *self._close_if_due()]
        return self._close_if_due()

    def _judging(self) -> bool:
        # A take that is not confirmed yet is a click or a cough, not a turn: no model for it.
        return self.settings.turn is not None and self._confirmed

    def _frames_to_end(self) -> int:
        """Silence (in frames) that ends the turn, given what the model said so far."""
        turn, verdict = self.settings.turn, self._verdict
        if turn is None or not self._judging() or verdict == _FAILED:
            return self._hang_frames
        if isinstance(verdict, float) and verdict >= turn.threshold:
            return self._complete_frames
        return self._limit_frames   # judged incomplete, or no answer yet

    def _close_if_due(self) -> list[TakeEvent]:
        if self._silent_frames() >= self._frames_to_end():
            return [self._close(capped=False)]
        return []

    def _new_pause(self) -> None:
        self._pause_id += 1
        self._verdict = _NOT_ASKED

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
        self._new_pause()
        return event


class Segmenter:
    """Stream samples in any block size; VAD frames and take events come out.

    With a ``judge`` the take logic asks it about each pause and applies its verdicts as they
    arrive; without one (or with ``settings.turn`` None) the hangover alone ends a take.
    """

    def __init__(self, vad: Vad, settings: TakeSettings, sample_rate: int = SAMPLE_RATE, *,
                 judge: TurnJudge | None = None) -> None:
        self.vad = vad
        if judge is None:
            settings = replace(settings, turn=None)
        self.detector = TakeDetector(settings, vad.frame_samples, sample_rate)
        self._judge = judge if settings.turn is not None else None
        # The judge sees at most its model's window of the newest audio.
        self._recent = SampleHistory(round(self._judge.window_s * sample_rate)
                                     if self._judge is not None else 1)
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
            frame = buf[i * n : (i + 1) * n]
            if self._judge is not None:
                self._recent.append(frame)
                events.extend(self._apply_verdicts())
            for event in self.detector.update(self.vad.probability(frame)):
                events.append(event)
                if isinstance(event, JudgeTurn) and self._judge is not None:
                    self._judge.ask(event.pause_id,
                                    self._recent.slice(event.start_sample, event.end_sample),
                                    self.position)
        self._pending = buf[whole * n :].copy()
        return events + self._apply_verdicts()

    def finish(self) -> list[TakeEvent]:
        return self.detector.finish()

    def reset(self) -> None:
        self.vad.reset()
        self.detector.reset()
        self._recent = SampleHistory(self._recent.capacity)
        self._pending = np.zeros(0, dtype=np.int16)

    def _apply_verdicts(self) -> list[TakeEvent]:
        if self._judge is None:
            return []
        events: list[TakeEvent] = []
        for verdict in self._judge.ready(self.position):
            events.extend(self.detector.judge(verdict.pause_id, verdict.probability))
        return events


def frame_probabilities(samples: Int16Array, vad: Vad) -> list[float]:
    """The VAD's probability for every whole frame of a signal (the same framing as Segmenter)."""
    n = vad.frame_samples
    data = to_int16(samples).reshape(-1)
    return [vad.probability(data[i * n : (i + 1) * n]) for i in range(data.size // n)]


class ReplayVad:
    """A Vad that answers precomputed probabilities in order (the bench sweeps settings so)."""

    name = "replay"

    def __init__(self, probabilities: Sequence[float], frame_samples: int) -> None:
        self.frame_samples = frame_samples
        self._probabilities = list(probabilities)
        self._next = 0

    def probability(self, frame: Int16Array) -> float:
        p = self._probabilities[self._next]
        self._next += 1
        return p

    def reset(self) -> None:
        self._next = 0


def find_takes(samples: Int16Array, vad: Vad, settings: TakeSettings,
               sample_rate: int = SAMPLE_RATE, *, judge: TurnJudge | None = None,
               close_at_end: bool = True) -> list[Take]:
    """Every accepted take of a whole 16 kHz signal through ``Segmenter``, the live path."""
    vad.reset()
    segmenter = Segmenter(vad, settings, sample_rate, judge=judge)
    events = segmenter.push(samples)
    if close_at_end:
        events.extend(segmenter.finish())
    return [Take(e.start_sample / sample_rate, e.end_sample / sample_rate,
                 e.closed_sample / sample_rate, e.capped)
            for e in events if isinstance(e, TakeEnded) and e.accepted]
