"""Both VAD backends with our take logic on real (espeak-ng) speech with known boundaries."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ravatar_live.audio.settings import TakeSettings
from ravatar_live.audio.takes import find_takes
from ravatar_live.audio.vad import SileroVad, Vad, WebRtcVad
from tests.support.speech_synth import (
    Clip,
    compose,
    espeak_available,
    join_with_pause,
    mix_noise,
    silence,
    synthesize,
)
from tests.support.take_quality import score_takes


def _webrtc() -> Vad:
    return WebRtcVad(3)


BACKENDS: dict[str, Callable[[], Vad]] = {"silero": SileroVad, "webrtc": _webrtc}


@pytest.fixture(scope="module")
def clip() -> Clip:
    if not espeak_available():
        pytest.fail("espeak-ng is required for the VAD tests (Debian: apt-get install espeak-ng)")
    first = synthesize("Hello, I would like to know your opening hours.", voice="en-us")
    second = join_with_pause([synthesize("Can you help me", voice="en-gb", speed=160),
                              synthesize("with my order please?", voice="en-gb", speed=160)],
                             0.22)
    third = synthesize("Thank you.", voice="en-us+f3", speed=200)
    return compose([first, second, third], [1.6, 2.0])


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_one_take_per_utterance_with_boundaries_in_tolerance(backend: str, clip: Clip) -> None:
    vad: Vad = BACKENDS[backend]()
    settings = TakeSettings()
    takes = find_takes(clip.samples, vad, settings)
    assert len(takes) == len(clip.truth), takes
    for take, truth in zip(takes, clip.truth, strict=True):
        # the pre-roll reaches before the true start; the first syllable is inside the take
        assert take.start_s <= truth.start_s
        assert truth.start_s - take.start_s <= settings.preroll_ms / 1000 + 0.15
        assert abs(take.end_s - truth.end_s) <= 0.25
        delay = take.closed_s - truth.end_s
        assert settings.hangover_ms / 1000 - 0.1 <= delay <= settings.hangover_ms / 1000 + 0.35


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_noise_at_20db_still_finds_every_utterance(backend: str, clip: Clip) -> None:
    noisy = mix_noise(clip, 20.0, np.random.default_rng(3))
    score = score_takes(find_takes(noisy.samples, BACKENDS[backend](), TakeSettings()), noisy)
    assert (score.found, score.missed, score.false, score.merged) == (3, 0, 0, 0)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_silence_only_gives_no_take(backend: str) -> None:
    assert find_takes(silence(5.0), BACKENDS[backend](), TakeSettings()) == []


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_noise_only_gives_no_take(backend: str) -> None:
    noise = mix_noise(Clip(silence(6.0), ()), 0.0, np.random.default_rng(11))
    quiet = (noise.samples.astype(np.float32) * 0.3).astype(np.int16)  # a room hum, ~-36 dBFS
    assert find_takes(quiet, BACKENDS[backend](), TakeSettings()) == []


def test_silero_ignores_loud_noise_that_fools_the_rms_gate() -> None:
    from ravatar_live.audio.settings import RMS_BASELINE_TAKES
    from ravatar_live.audio.vad import RmsGate

    noise = mix_noise(Clip(silence(6.0), ()), 0.0, np.random.default_rng(5))  # RMS ~0.05
    assert find_takes(noise.samples, SileroVad(), TakeSettings()) == []
    assert find_takes(noise.samples, RmsGate(), RMS_BASELINE_TAKES) != []


def _at_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    x = samples.astype(np.float32)
    rms = float(np.sqrt(np.mean(x[np.abs(x) > 0] ** 2)))
    return np.clip(x * (32768 * 10 ** (dbfs / 20) / rms), -32768, 32767).astype(np.int16)


def test_silero_leaves_a_quiet_room_unasked_after_its_hold() -> None:
    from ravatar_live.audio.vad import QUIET_DBFS, QUIET_HOLD_FRAMES

    room = _at_dbfs(np.random.default_rng(4).standard_normal(16000 * 3), QUIET_DBFS - 10)
    vad = SileroVad()
    frames = room.size // vad.frame_samples
    answers = [vad.probability(room[i * 512 : (i + 1) * 512]) for i in range(frames)]
    assert vad.frames_skipped == frames - QUIET_HOLD_FRAMES
    assert answers[QUIET_HOLD_FRAMES:] == [0.0] * (frames - QUIET_HOLD_FRAMES)
    vad.reset()  # a new stream: the hold starts again
    vad.probability(room[:512])
    assert vad.frames_skipped == frames - QUIET_HOLD_FRAMES


def test_silero_asks_the_model_about_every_sound_and_the_hold_after_it(clip: Clip) -> None:
    from ravatar_live.audio.vad import QUIET_DBFS, QUIET_HOLD_FRAMES

    vad = SileroVad()
    signal = np.concatenate([clip.samples, silence(2.0)])
    frames = [signal[i * 512 : (i + 1) * 512] for i in range(signal.size // 512)]
    for frame in frames:
        vad.probability(frame)
    # The most it may skip: quiet frames after a hold's worth of quiet frames.
    quiet_energy = 512 * (32768 * 10 ** (QUIET_DBFS / 20)) ** 2
    run = skippable = 0
    for frame in frames:
        quiet = float(np.sum(frame.astype(np.float64) ** 2)) < quiet_energy
        skippable += quiet and run >= QUIET_HOLD_FRAMES
        run = run + 1 if quiet else 0
    assert skippable > 100  # the clip's gaps and its tail
    assert skippable - 3 * QUIET_HOLD_FRAMES <= vad.frames_skipped <= skippable


def test_silero_hears_a_soft_talker_after_a_long_quiet(clip: Clip) -> None:
    soft = _at_dbfs(clip.samples, -45.0)  # 15-25 dB below the corpus, still above the gate
    room = np.random.default_rng(6).standard_normal(soft.size) * 32768 * 10 ** (-75 / 20)
    heard = np.clip(soft + room, -32768, 32767).astype(np.int16)
    vad = SileroVad()
    score = score_takes(find_takes(heard, vad, TakeSettings()), Clip(heard, clip.truth))
    assert (score.found, score.missed, score.false, score.merged, score.split) == (3, 0, 0, 0, 0)
    assert vad.frames_skipped > 0
