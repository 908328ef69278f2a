"""The take state machine on synthetic probability sequences (no model involved)."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.audio.settings import TakeSettings
from ravatar_live.audio.takes import SpeechStarted, TakeConfirmed, TakeDetector, TakeEnded

FRAME = 512  # 32 ms at 16 kHz
S = TakeSettings(threshold=0.5, release_delta=0.15, start_ms=64, preroll_ms=320,
                 min_speech_ms=160, hangover_ms=320, max_take_s=3.0, turn=None)


def run(probs: list[float], s: TakeSettings = S) -> list:
    det = TakeDetector(s, FRAME)
    events = []
    for p in probs:
        events.extend(det.update(p))
    return events + det.finish()


def ended(events: list) -> list[TakeEnded]:
    return [e for e in events if isinstance(e, TakeEnded)]


def test_one_utterance_gives_one_take_with_preroll() -> None:
    probs = [0.0] * 30 + [0.9] * 40 + [0.0] * 30
    events = run(probs)
    [end] = ended(events)
    assert end.accepted and not end.capped
    assert end.start_sample == 30 * FRAME - 320 * 16      # pre-roll before the first speech frame
    assert end.end_sample == 70 * FRAME                   # end of the last speech frame
    assert end.closed_sample == (70 + 10) * FRAME         # 320 ms hangover = 10 frames
    assert isinstance(events[0], SpeechStarted) and isinstance(events[1], TakeConfirmed)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(10, 40))
def test_pauses_shorter_than_the_hangover_never_split(pauses: list[int], word: int) -> None:
    probs = [0.0] * 20
    for gap in pauses:        # < 10 frames of silence each: inside the hangover
        probs += [0.9] * word + [0.1] * gap
    probs += [0.9] * word + [0.0] * 20
    takes = ended(run(probs, replace(S, max_take_s=60.0)))
    assert len(takes) == 1 and takes[0].accepted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), max_size=400))
def test_takes_never_overlap_and_are_ordered(probs: list[float]) -> None:
    takes = ended(run(probs))
    for t in takes:
        assert t.start_sample <= t.end_sample <= t.closed_sample <= len(probs) * FRAME
        assert t.closed_sample - t.start_sample <= 3.0 * 16000 + FRAME
    for a, b in itertools.pairwise(takes):
        assert a.closed_sample <= b.start_sample


def test_a_click_is_not_a_take() -> None:
    probs = [0.0] * 20 + [0.95] * 3 + [0.0] * 30      # 96 ms of "speech" < 160 ms minimum
    events = run(probs)
    [end] = ended(events)
    assert not end.accepted
    assert not any(isinstance(e, TakeConfirmed) for e in events)


def test_a_single_frame_blip_does_not_even_start() -> None:
    assert run([0.0] * 10 + [0.99] + [0.0] * 10) == []


def test_the_cap_closes_a_long_take_and_listening_resumes() -> None:
    probs = [0.9] * 200  # 6.4 s of speech, cap 3 s
    takes = ended(run(probs))
    assert takes[0].capped and takes[0].accepted
    assert takes[0].closed_sample - takes[0].start_sample <= 3 * 16000 + FRAME
    assert len(takes) >= 2  # speech continues: a new take starts after the cap


def test_hysteresis_keeps_speech_between_release_and_threshold() -> None:
    probs = [0.0] * 5 + [0.9] * 10 + [0.4] * 30 + [0.0] * 20  # 0.4 >= 0.5 - 0.15
    [end] = ended(run(probs))
    assert end.end_sample == 45 * FRAME


def test_preroll_never_reaches_into_the_previous_take() -> None:
    probs = [0.9] * 10 + [0.0] * 10 + [0.9] * 10 + [0.0] * 12
    a, b = ended(run(probs))
    assert b.start_sample >= a.closed_sample
