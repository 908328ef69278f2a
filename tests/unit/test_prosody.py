"""The bench's prosody at a pause: the YIN pitch tracker and the features it feeds, on signals
whose pitch and loudness are known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.prosody import NEUTRAL, pause_prosody, pitch_track

RATE = 16_000


def voiced(f0_start: float, f0_end: float, seconds: float = 1.0, level: float = 0.3,
           decay_db: float = 0.0) -> np.ndarray:
    """A glottal-like harmonic tone gliding (in semitones, linearly) from f0_start to f0_end,
    its loudness falling by ``decay_db`` over the last 0.3 s."""
    t = np.arange(round(seconds * RATE)) / RATE
    f0 = f0_start * 2 ** (np.log2(f0_end / f0_start) * t / seconds)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    gain_db = np.where(t > seconds - 0.3, -decay_db * (t - (seconds - 0.3)) / 0.3, 0.0)
    return level * x / np.abs(x).max() * 10 ** (gain_db / 20)


def as_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 32767, -32768, 32767).astype(np.int16)


@settings(max_examples=25, deadline=None)
@given(f0=st.floats(70.0, 380.0))
def test_the_tracker_finds_a_steady_pitch_within_a_percent(f0: float) -> None:
    track, _ = pitch_track(voiced(f0, f0, 0.5))
    found = track[track > 0]
    assert found.size > 0.8 * track.size
    assert np.median(found) == pytest.approx(f0, rel=0.01)


def test_noise_has_no_pitch() -> None:
    noise = np.random.default_rng(1).standard_normal(RATE) * 0.1
    track, _ = pitch_track(noise)
    assert np.mean(track > 0) < 0.05


def test_a_final_fall_and_a_continuation_rise_point_opposite_ways() -> None:
    level = voiced(180, 180, 1.2)
    fall = as_int16(np.concatenate([level, voiced(180, 120, 0.4, decay_db=20)]))
    rise = as_int16(np.concatenate([level, voiced(180, 230, 0.4)]))
    falling, rising = pause_prosody(fall, fall.size), pause_prosody(rise, rise.size)
    assert falling.pitch_slope < -10 < 10 < rising.pitch_slope
    assert falling.final_pitch < -3 < 2 < rising.final_pitch
    assert falling.energy_slope < -20 and abs(rising.energy_slope) < 10


def test_the_pause_after_the_speech_is_ignored() -> None:
    speech = as_int16(np.concatenate([voiced(200, 200, 1.0), voiced(200, 150, 0.3)]))
    with_pause = np.concatenate([speech, np.zeros(RATE // 2, np.int16)])
    assert pause_prosody(with_pause, speech.size) == pause_prosody(speech, speech.size)


def test_too_little_voicing_gives_neutral_features() -> None:
    assert pause_prosody(np.zeros(RATE, np.int16), RATE) == NEUTRAL
    assert pause_prosody(as_int16(voiced(150, 150, 0.05)), 800) == NEUTRAL
