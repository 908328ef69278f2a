"""The capture path's two stages (audio/capture_apm.py): the suppressor's output goes on only
once the avatar has been silent for NS_RESUME_S, and it hears every frame meanwhile.

The stages here are stand-ins that mark what they did (the real APM's effect on words is
measured in bench/bench_echo.py and end to end in tests/e2e/test_echo_e2e.py); what is tested
is which stage's output goes on, frame by frame."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from ravatar_live.audio.capture_apm import FRAME, NS_RESUME_S, CaptureApm
from ravatar_live.audio.pcm import SAMPLE_RATE

CANCELLED = 100   # the canceller's mark: it adds this to every sample
SUPPRESSED = -7   # the suppressor's: every sample becomes this
LOUD = np.full(FRAME, 3000, np.int16)
SILENT = np.zeros(FRAME, np.int16)
VOICE = np.full(FRAME, 500, np.int16)


class MarkingStage:
    """Stands in for one APM stage (made by CaptureApm through its factory)."""

    made: ClassVar[list[MarkingStage]] = []

    def __init__(self, *, echo_cancellation: bool, noise_suppression: bool) -> None:
        self.cancels = echo_cancellation
        self.suppresses = noise_suppression
        self.frames = 0
        self.references = 0
        MarkingStage.made.append(self)

    def process_reverse_stream(self, frame: object) -> None:
        self.references += 1

    def set_stream_delay_ms(self, delay_ms: int) -> None:
        pass

    def process_stream(self, frame: object) -> None:
        self.frames += 1
        samples = np.frombuffer(frame.data, np.int16)  # type: ignore[attr-defined]
        marked = samples + CANCELLED if self.cancels else np.full_like(samples, SUPPRESSED)
        frame._data = marked.astype(np.int16).tobytes()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def fresh_stages() -> None:
    MarkingStage.made.clear()


def test_the_suppressor_steps_aside_while_the_avatar_speaks_and_its_echo_fades() -> None:
    apm = CaptureApm(echo_cancellation=True, noise_suppression=True, factory=MarkingStage)
    canceller, suppressor = MarkingStage.made
    assert (canceller.cancels, canceller.suppresses) == (True, False)
    assert (suppressor.cancels, suppressor.suppresses) == (False, True)

    def frame(reference: np.ndarray, audible: bool = False) -> int:
        out = apm.process(VOICE, reference, avatar_audible=audible, delay_ms=0)
        return int(out[0])

    assert frame(SILENT) == SUPPRESSED  # nothing heard of the avatar yet: suppressed
    assert frame(LOUD) == VOICE[0] + CANCELLED  # the avatar speaks: the canceller's output
    resume = round(NS_RESUME_S * SAMPLE_RATE / FRAME)
    tail = [frame(SILENT) for _ in range(resume)]
    assert tail[:-1] == [VOICE[0] + CANCELLED] * (resume - 1)  # its echo may still come
    assert tail[-1] == SUPPRESSED
    # A player's report that the avatar speaks counts like a loud reference.
    assert frame(SILENT, audible=True) == VOICE[0] + CANCELLED
    # Both stages heard every frame (the suppressor's noise estimate stays current).
    assert canceller.frames == suppressor.frames == resume + 3
    assert canceller.references == resume + 3
    assert apm.suppressed_frames == 2


def test_each_stage_only_when_its_setting_is_on() -> None:
    suppress_only = CaptureApm(echo_cancellation=False, noise_suppression=True,
                               factory=MarkingStage)
    assert [s.suppresses for s in MarkingStage.made] == [True]
    # No reference (echo cancellation off): the avatar's voice is known only from reports.
    assert suppress_only.process(VOICE, None, avatar_audible=False, delay_ms=0)[0] == SUPPRESSED
    assert suppress_only.process(VOICE, None, avatar_audible=True, delay_ms=0)[0] == VOICE[0]

    MarkingStage.made.clear()
    cancel_only = CaptureApm(echo_cancellation=True, noise_suppression=False,
                             factory=MarkingStage)
    assert [s.cancels for s in MarkingStage.made] == [True]
    out = cancel_only.process(VOICE, SILENT, avatar_audible=False, delay_ms=0)
    assert out[0] == VOICE[0] + CANCELLED
