"""Hands-free detection for the voice controller: the VAD and the take logic (``Segmenter``) over
the microphone's sample history, with the events' positions made absolute (history indices),
and the end-of-turn model's judge, made when hands-free is armed and kept (its model loads at
the first speech)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.settings import VoiceSettings
from ravatar_live.audio.takes import Segmenter, SpeechStarted, TakeConfirmed, TakeEnded
from ravatar_live.audio.turn_judge import TurnJudge
from ravatar_live.audio.vad import Vad


@dataclass(frozen=True, slots=True)
class Speech:
    """The VAD heard something; the take would start at history index ``start``."""

    start: int


@dataclass(frozen=True, slots=True)
class Confirmed:
    """Enough speech: the take is real."""


@dataclass(frozen=True, slots=True)
class Ended:
    """The take ends at history index ``closed``; ``accepted``: it is worth sending."""

    closed: int
    accepted: bool


HandsFreeEvent = Speech | Confirmed | Ended


class HandsFree:
    """Armed: listening for takes. ``arm`` raises AudioError when the VAD cannot load."""

    def __init__(self, vad_factory: Callable[[VoiceSettings], Vad],
                 turn_judge_factory: Callable[[], TurnJudge]) -> None:
        self._vad_factory = vad_factory
        self._turn_judge_factory = turn_judge_factory
        self.turn_judge: TurnJudge | None = None
        self._segmenter: Segmenter | None = None
        self._origin = 0  # history index of the segmenter's sample 0

    @property
    def armed(self) -> bool:
        return self._segmenter is not None

    @property
    def position(self) -> int:
        """History index up to which the detector has seen audio."""
        seg = self._segmenter
        return self._origin + (seg.position if seg is not None else 0)

    def arm(self, settings: VoiceSettings, origin: int) -> None:
        """Listen from history index ``origin`` on (a new detector only when none is armed)."""
        if self._segmenter is None:
            vad = self._vad_factory(settings)
            if settings.takes.turn is not None and self.turn_judge is None:
                self.turn_judge = self._turn_judge_factory()
            self._segmenter = Segmenter(vad, settings.takes, judge=self.turn_judge)
        else:
            self._segmenter.reset()
        self._origin = origin

    def disarm(self) -> None:
        """Forget the detector (the next ``arm`` builds one from the settings then)."""
        self._segmenter = None

    def push(self, samples: Int16Array) -> list[HandsFreeEvent]:
        if self._segmenter is None:
            return []
        events = [self._absolute(e) for e in self._segmenter.push(samples)
                  if isinstance(e, SpeechStarted | TakeConfirmed | TakeEnded)]
        if self.turn_judge is not None and any(isinstance(e, Speech) for e in events):
            self.turn_judge.prepare()  # the model loads while the user speaks, if not yet
        return events

    def finish(self) -> list[HandsFreeEvent]:
        """The audio ended: close a take in progress."""
        if self._segmenter is None:
            return []
        return [self._absolute(e) for e in self._segmenter.finish() if isinstance(e, TakeEnded)]

    def close(self) -> None:
        """Release the end-of-turn model's thread."""
        self._segmenter = None
        if self.turn_judge is not None:
            self.turn_judge.close()
            self.turn_judge = None

    def _absolute(self, event: SpeechStarted | TakeConfirmed | TakeEnded) -> HandsFreeEvent:
        if isinstance(event, SpeechStarted):
            return Speech(self._origin + event.start_sample)
        if isinstance(event, TakeConfirmed):
            return Confirmed()
        return Ended(self._origin + event.closed_sample, event.accepted)
