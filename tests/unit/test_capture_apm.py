"""The capture path's two stages (audio/capture_apm.py): the suppressor's output goes on only
once the avatar has been silent for NS_RESUME_S, and it hears every frame meanwhile; the
canceller rests while the avatar does, its high-pass filter standing in.

Most stages here are stand-ins that mark what they did (the real APM's effect on words is
measured in bench/bench_echo.py and end to end in tests/e2e/test_echo_e2e.py); what is tested
is which stage's output goes on, frame by frame. The hand-over between the resting canceller
and its stand-in is tested on the real AEC3."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from ravatar_live.audio.capture_apm import (
    CANCELLER_LAG,
    CATCH_UP_FRAMES,
    FRAME,
    NS_RESUME_S,
    PRIMING_FRAMES,
    CaptureApm,
    run_frame,
)
from ravatar_live.audio.pcm import SAMPLE_RATE
from tests.support.speech_synth import synthesize

CANCELLED = 100   # the canceller's mark: it adds this to every sample
FILTERED = 1      # the high-pass filter's (the canceller's stand-in at rest): adds this
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
        self.heard = np.zeros(0, np.int16)  # the last frame it was handed
        MarkingStage.made.append(self)

    def process_reverse_stream(self, frame: object) -> None:
        self.references += 1

    def set_stream_delay_ms(self, delay_ms: int) -> None:
        pass

    def process_stream(self, frame: object) -> None:
        self.frames += 1
        samples = np.frombuffer(frame.data, np.int16)  # type: ignore[attr-defined]
        self.heard = samples.copy()
        marked = (samples + CANCELLED if self.cancels
                  else np.full_like(samples, SUPPRESSED) if self.suppresses
                  else samples + FILTERED)
        frame._data = marked.astype(np.int16).tobytes()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def fresh_stages() -> None:
    MarkingStage.made.clear()


def test_the_suppressor_steps_aside_while_the_avatar_speaks_and_its_echo_fades() -> None:
    apm = CaptureApm(echo_cancellation=True, noise_suppression=True, factory=MarkingStage)
    # No separate stand-in for the resting canceller: the suppressor's own filter is one.
    canceller, suppressor = MarkingStage.made
    assert (canceller.cancels, canceller.suppresses) == (True, False)
    assert (suppressor.cancels, suppressor.suppresses) == (False, True)

    def frame(reference: np.ndarray, audible: bool = False) -> int:
        out = apm.process(VOICE, reference, avatar_audible=audible, delay_ms=0)
        return int(out[-1])

    assert frame(SILENT) == SUPPRESSED  # nothing heard of the avatar yet: suppressed
    assert frame(LOUD) == VOICE[0] + CANCELLED  # the avatar speaks: the canceller's output
    resume = round(NS_RESUME_S * SAMPLE_RATE / FRAME)
    tail = [frame(SILENT) for _ in range(resume)]
    assert tail[:-1] == [VOICE[0] + CANCELLED] * (resume - 1)  # its echo may still come
    assert tail[-1] == SUPPRESSED
    # A player's report that the avatar speaks counts like a loud reference.
    assert frame(SILENT, audible=True) == VOICE[0] + CANCELLED
    # The suppressor heard every frame (its noise estimate stays current).
    assert suppressor.frames == resume + 3
    assert apm.suppressed_frames == 2


def test_at_rest_the_suppressor_hears_the_microphone_as_late_as_from_the_canceller() -> None:
    """With the suppressor on, a resting canceller costs no call of its own: the suppressor
    (whose APM has the same high-pass filter) is handed the microphone CANCELLER_LAG samples
    late, so its input runs on without a seam when the canceller hands over."""
    apm = CaptureApm(echo_cancellation=True, noise_suppression=True, factory=MarkingStage)
    canceller, suppressor = MarkingStage.made
    ramp = np.arange(4 * FRAME, dtype=np.int16)
    apm.process(ramp[:FRAME], LOUD, avatar_audible=False, delay_ms=0)  # the avatar speaks
    resume = round(NS_RESUME_S * SAMPLE_RATE / FRAME)
    for _ in range(resume - 1):
        apm.process(ramp[:FRAME], SILENT, avatar_audible=False, delay_ms=0)
    cancelled = canceller.frames
    for k in (1, 2, 3):  # at rest from here
        apm.process(ramp[k * FRAME:(k + 1) * FRAME], SILENT, avatar_audible=False, delay_ms=0)
        late = ramp[k * FRAME - CANCELLER_LAG:(k + 1) * FRAME - CANCELLER_LAG]
        assert np.array_equal(suppressor.heard, late)
    assert canceller.frames == cancelled  # one call a frame: the suppressor's
    assert suppressor.frames == resume + 3


def test_the_canceller_rests_while_the_avatar_does_and_takes_over_seamlessly() -> None:
    apm = CaptureApm(echo_cancellation=True, noise_suppression=False, factory=MarkingStage)
    canceller, high_pass = MarkingStage.made
    resume = round(NS_RESUME_S * SAMPLE_RATE / FRAME)

    def frames(reference: np.ndarray, count: int) -> list[int]:
        return [int(apm.process(VOICE, reference, avatar_audible=False, delay_ms=0)[-1])
                for _ in range(count)]

    # Nothing heard of the avatar: its stand-in, the high-pass filter alone, every frame.
    assert frames(SILENT, 5) == [VOICE[0] + FILTERED] * 5
    assert (canceller.frames, high_pass.frames) == (0, 5)
    # The avatar speaks: the canceller takes over at once, first handed the newest frames.
    assert frames(LOUD, 3) == [VOICE[0] + CANCELLED] * 3
    primed = PRIMING_FRAMES + 3
    assert (canceller.frames, canceller.references, apm.cancelled_frames) == (primed, primed, 3)
    # It follows the echo's tail, then rests; the filter is handed the frame before first.
    assert frames(SILENT, resume) == [VOICE[0] + CANCELLED] * (resume - 1) + [
        VOICE[0] + FILTERED]
    assert (canceller.frames, high_pass.frames) == (primed + resume - 1, 5 + 2)


def test_waiting_for_a_press_only_the_canceller_follows_the_echo_and_the_rest_catch_up(
) -> None:
    apm = CaptureApm(echo_cancellation=True, noise_suppression=True, factory=MarkingStage)
    canceller, suppressor = MarkingStage.made
    resume = round(NS_RESUME_S * SAMPLE_RATE / FRAME)

    def frames(reference: np.ndarray, count: int, *, needed: bool) -> list[int]:
        return [int(apm.process(VOICE, reference, avatar_audible=False, delay_ms=0,
                                needed=needed)[-1]) for _ in range(count)]

    # Nobody needs the output: the microphone goes on as it came; nothing runs.
    assert frames(SILENT, 5, needed=False) == [VOICE[0]] * 5
    assert (canceller.frames, suppressor.frames) == (0, 0)
    # The avatar speaks: the canceller follows it (handed the newest frames first), and while
    # its echo may come; the others still wait.
    assert frames(LOUD, 3, needed=False) == [VOICE[0] + CANCELLED] * 3
    assert frames(SILENT, resume, needed=False) == [VOICE[0] + CANCELLED] * (resume - 1) + [
        VOICE[0]]
    assert (canceller.frames, suppressor.frames) == (PRIMING_FRAMES + 3 + resume - 1, 0)
    assert apm.waited_frames == 5 + 3 + resume
    # Needed again: the suppressor first hears the frames it missed.
    assert frames(SILENT, 1, needed=True) == [SUPPRESSED]
    missed = 5 + 3 + resume
    assert suppressor.frames == missed + 1
    # A long wait: only the newest CATCH_UP_FRAMES are caught up on.
    frames(SILENT, CATCH_UP_FRAMES + 50, needed=False)
    frames(SILENT, 1, needed=True)
    assert suppressor.frames == missed + 1 + CATCH_UP_FRAMES + 1
    # The avatar speaks again while nobody needs the output: the canceller, having sat out,
    # is handed the newest frames again.
    before = canceller.frames
    frames(LOUD, 1, needed=False)
    assert canceller.frames == before + PRIMING_FRAMES + 1


def test_a_take_after_a_wait_sounds_as_one_whose_path_never_waited() -> None:
    """The real APM (livekit wheel): speech in noise at ~-40 dBFS after 4 s of waiting for a
    press, against the same path cleaning every frame. Caught up on the frames it missed, the
    suppressor's noise estimate is the one it would have had (handed only the last frame,
    measured: -12 dB of difference over the take's first 200 ms, -17 dB over the take)."""
    user = synthesize("Please tell me a story about the sea", voice="en-us", speed=150,
                      level_rms=0.05)
    quiet = 4 * SAMPLE_RATE
    mic = np.random.default_rng(2).normal(0, 300, quiet + user.size + SAMPLE_RATE // 2)
    mic[quiet:quiet + user.size] += user
    mic16 = np.clip(mic, -32768, 32767).astype(np.int16)
    press = quiet - SAMPLE_RATE // 10

    def cleaned(needed_from: int) -> np.ndarray:
        apm = CaptureApm(echo_cancellation=True, noise_suppression=True)
        out = [apm.process(mic16[at:at + FRAME], np.zeros(FRAME, np.int16),
                           avatar_audible=False, delay_ms=0, needed=at >= needed_from)
               for at in range(0, mic16.size - FRAME + 1, FRAME)]
        return np.concatenate(out)[press:].astype(np.float64)

    always, waited = cleaned(0), cleaned(press)

    def db(error: np.ndarray, signal: np.ndarray) -> float:
        return float(10 * np.log10(np.dot(error, error) / np.dot(signal, signal)))

    first = slice(0, SAMPLE_RATE // 5)
    assert db(always[first] - waited[first], always[first]) < -20
    assert db(always - waited, always) < -30


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
    assert [s.cancels for s in MarkingStage.made] == [True, False]
    assert not any(s.suppresses for s in MarkingStage.made)
    out = cancel_only.process(VOICE, LOUD, avatar_audible=False, delay_ms=0)
    assert out[0] == VOICE[0] + CANCELLED


def test_at_rest_the_microphone_runs_on_as_the_real_canceller_would_hand_it_back() -> None:
    """The real AEC3 (livekit wheel), always running, against CaptureApm's resting one: the
    avatar speaks, the user starts just before the canceller rests and talks on, the avatar
    speaks again. At rest the output is the canceller's own (its lag and high-pass filter),
    and after the rest it cancels the echo as well as one that never rested."""
    from livekit.rtc import AudioProcessingModule

    avatar = synthesize("Hello! How can I help you today?", voice="en-gb", speed=165,
                        level_rms=0.12)
    user = synthesize("Please tell me a story about the sea", voice="en-us", speed=150,
                      level_rms=0.08)
    rest_at = avatar.size + round(NS_RESUME_S * SAMPLE_RATE)
    again = rest_at + 3 * SAMPLE_RATE
    reference = np.zeros(again + avatar.size + SAMPLE_RATE, np.int16)
    reference[:avatar.size] = reference[again:again + avatar.size] = avatar
    echo_delay = round(0.15 * SAMPLE_RATE)
    mic = np.zeros(reference.size)
    mic[echo_delay:] += reference[:-echo_delay] / 3
    mic[rest_at - SAMPLE_RATE // 4:][:user.size] += user
    mic += np.random.default_rng(1).normal(0, 30, mic.size)
    mic16 = np.clip(mic, -32768, 32767).astype(np.int16)

    always = AudioProcessingModule(echo_cancellation=True, noise_suppression=False,
                                   high_pass_filter=True)
    apm = CaptureApm(echo_cancellation=True, noise_suppression=False)
    theirs, ours, resting = [], [], []
    for at in range(0, mic16.size - FRAME + 1, FRAME):
        played, heard = reference[at:at + FRAME], mic16[at:at + FRAME]
        theirs.append(run_frame(always, heard, played).astype(np.float64))
        cancelled = apm.cancelled_frames
        ours.append(apm.process(heard, played, avatar_audible=False, delay_ms=0)
                    .astype(np.float64))
        resting.append(apm.cancelled_frames == cancelled)

    def db(error: np.ndarray, signal: np.ndarray) -> float:
        return float(10 * np.log10(np.dot(error, error) / np.dot(signal, signal)))

    rest = [k for k, rested in enumerate(resting) if rested]
    assert len(rest) >= 3 * SAMPLE_RATE // FRAME  # it rested between the avatar's turns
    # At rest, past the first frames (where AEC3 eases off its suppression of the user's
    # voice, which the stand-in lets through at once), ours is the canceller's own.
    settled = [k for k in rest if k - 10 in rest and k > rest_at // FRAME]
    assert settled
    t, o = np.concatenate([theirs[k] for k in settled]), np.concatenate([ours[k] for k in settled])
    assert db(t - o, t) < -40
    # It takes over again where its stand-in left off: nothing it kept from before the rest
    # (the user's voice, 3 s ago) comes out as a burst (it did, 10 times the noise, when it
    # was handed only the one frame before).
    back = next(k for k in range(again // FRAME - 50, len(resting)) if not resting[k])
    for k in range(back, back + 3):
        assert np.sqrt(np.mean(ours[k] ** 2)) < 1.5 * np.sqrt(np.mean(theirs[k] ** 2))
    # The avatar again, with no one talking over it: the echo is cancelled as well as ever.
    span = slice((again + SAMPLE_RATE // 2) // FRAME, (again + avatar.size) // FRAME)
    heard = mic16[span.start * FRAME:span.stop * FRAME].astype(np.float64)
    assert db(np.concatenate(ours[span]), heard) < db(np.concatenate(theirs[span]), heard) + 3
    assert db(np.concatenate(ours[span]), heard) < -20
