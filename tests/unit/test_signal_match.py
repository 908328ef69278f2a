"""The voice test's judge of received audio (tests/support/signal_match.py), on real speech
(espeak-ng) with known damage: what it reads must be what was done."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from tests.support.signal_match import INTACT, align
from tests.support.speech_synth import synthesize

WINDOW = 320  # align()'s default: 20 ms at 16 kHz


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    # The voice e2e test's first utterance: a steady voice that also fits a pitch period away.
    return synthesize("Hello avatar, what can you do for me today?")


def received(reference: np.ndarray, rng: np.random.Generator, *,
             cuts: Sequence[tuple[int, int]] = (), repeat: tuple[int, int] | None = None
             ) -> np.ndarray:
    """`reference` as a take arrives: after some pre-roll, with `(at, count)` samples missing and
    the `(at, count)` samples before `at` played twice, plus a little noise."""
    parts, last = [], 0
    for at, count in sorted(cuts):
        parts.append(reference[last:at])
        last = at + count
    parts.append(reference[last:])
    audio = np.concatenate(parts)
    if repeat is not None:
        at, count = repeat
        audio = np.concatenate([audio[:at], audio[at - count:at], audio[at:]])
    pre_roll = rng.integers(-3, 4, int(rng.integers(500, 4000)))
    audio = np.concatenate([pre_roll, audio, np.zeros(3000)])
    return audio + rng.integers(-2, 3, audio.size)


def voiced_points(reference: np.ndarray, rng: np.random.Generator, count: int) -> list[int]:
    """`count` distinct places inside loud windows, where a slip shows in the lags."""
    starts = range(WINDOW, reference.size - 2 * WINDOW, WINDOW)
    norms = {s: np.linalg.norm(reference[s:s + WINDOW].astype(float)) for s in starts}
    loud = [s for s, norm in norms.items() if norm > 0.3 * max(norms.values())]
    chosen = rng.choice(loud, size=count, replace=False)
    return [int(s + rng.integers(0, WINDOW)) for s in chosen]


def test_an_intact_take_reads_intact(voice: np.ndarray) -> None:
    found = align(received(voice, np.random.default_rng(0)), voice)
    assert found.matched == 1.0
    assert (found.lost, found.inserted) == (0, 0)


def test_slips_read_as_the_samples_lost_and_never_as_samples_inserted(voice: np.ndarray) -> None:
    # What Qt's PulseAudio capture does under load: a few samples dropped here and there. A
    # tracker that follows one window at a time read 91 of 200 such takes as a pitch period
    # lost and then inserted again (the red CI of 2026-12-03: "12 samples lost, 159 inserted").
    rng = np.random.default_rng(1)
    for trial in range(30):
        cuts = [(at, int(rng.integers(1, 19))) for at in voiced_points(voice, rng, 2 + trial % 7)]
        found = align(received(voice, rng, cuts=cuts), voice)
        what = f"trial {trial}: cuts {cuts}"
        assert found.inserted == 0, what
        assert found.lost == sum(count for _, count in cuts), what
        assert found.matched >= 0.9, what


def test_a_block_played_twice_reads_as_inserted(voice: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    for at in voiced_points(voice, rng, 5):
        found = align(received(voice, rng, repeat=(at, 1024)), voice)
        assert (found.inserted, found.lost) == (1024, -1024), f"repeat at {at}"


def test_a_block_lost_reads_as_lost(voice: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    for at in voiced_points(voice, rng, 5):
        found = align(received(voice, rng, cuts=[(at, 1024)]), voice)
        assert (found.lost, found.inserted) == (1024, 0), f"block lost at {at}"


def test_a_byte_lost_leaves_nothing_intact_after_it(voice: np.ndarray) -> None:
    audio = received(voice, np.random.default_rng(4)).astype(np.int16).tobytes()
    cut = len(audio) // 3 | 1  # an odd byte: every later sample is made of two halves
    shifted = np.frombuffer(audio[:cut] + audio[cut + 1:-1], np.int16)
    found = align(shifted, voice)
    assert found.matched < 0.8
    assert sum(m >= INTACT for m in found.matches[len(found.matches) // 2:]) == 0
