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
