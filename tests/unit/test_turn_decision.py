"""End-of-turn decisions of the take logic on synthetic probabilities and verdicts (no model).

Frames are 32 ms. The verdict for each pause is chosen by the test and handed back through
``TakeDetector.judge`` as the live path does, optionally some frames late.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.audio.settings import TakeSettings, TurnSettings
from ravatar_live.audio.takes import JudgeTurn, TakeDetector, TakeEnded, TakeEvent

FRAME = 512
TURN = TurnSettings(judge_after_ms=64, complete_ms=200, limit_ms=1200, threshold=0.5)
S = TakeSettings(threshold=0.5, release_delta=0.15, start_ms=64, preroll_ms=0, min_speech_ms=160,
                 hangover_ms=320, max_take_s=15.0, turn=TURN)


def frames(ms: int) -> int:
    return math.ceil(ms * 16 / FRAME)


COMPLETE, LIMIT, HANG, JUDGE = (frames(TURN.complete_ms), frames(TURN.limit_ms),
                                frames(S.hangover_ms), frames(TURN.judge_after_ms))


def run(probs: list[float], verdict: Callable[[int], float | None] | None, *,
        late: int = 0, s: TakeSettings = S) -> tuple[list[TakeEvent], list[JudgeTurn]]:
    """Feed ``probs``; answer the n-th JudgeTurn with ``verdict(n)`` ``late`` frames later
    (``verdict`` None: the model never answers)."""
    det = TakeDetector(s, FRAME)
    events: list[TakeEvent] = []
    asked: list[JudgeTurn] = []
    due: list[tuple[int, int, float | None]] = []
    for i, p in enumerate(probs):
        for _, pause_id, answer in [d for d in due if d[0] == i]:
            events.extend(det.judge(pause_id, answer))
        for e in det.update(p):
            events.append(e)
            if isinstance(e, JudgeTurn) and verdict is not None:
                asked.append(e)
                due.append((i + 1 + late, e.pause_id, verdict(len(asked) - 1)))
                if late == 0:  # answered before the next frame, like a fast model
                    events.extend(det.judge(e.pause_id, verdict(len(asked) - 1)))
                    due.pop()
    return events + det.finish(), asked


def takes(events: list[TakeEvent]) -> list[TakeEnded]:
    return [e for e in events if isinstance(e, TakeEnded) and e.accepted]


def silent_frames_before_close(t: TakeEnded) -> int:
    return (t.closed_sample - t.end_sample) // FRAME


def test_a_complete_turn_closes_fast() -> None:
    events, asked = run([0.0] * 10 + [0.9] * 40 + [0.0] * 60, lambda n: 0.9)
    [take] = takes(events)
    # judged on the audio so far: the take's start to now, the pause heard so far included
    assert len(asked) == 1 and asked[0].start_sample == take.start_sample
    assert asked[0].end_sample == take.end_sample + JUDGE * FRAME
    assert silent_frames_before_close(take) == COMPLETE       # 224 ms: within 300 ms


def test_an_incomplete_turn_waits_up_to_the_limit() -> None:
    events, _ = run([0.0] * 10 + [0.9] * 40 + [0.0] * 60, lambda n: 0.1)
    [take] = takes(events)
    assert silent_frames_before_close(take) == LIMIT


def test_a_model_that_never_answers_ends_the_turn_at_the_limit() -> None:
    events, _ = run([0.0] * 10 + [0.9] * 40 + [0.0] * 60, None)
    [take] = takes(events)
    assert silent_frames_before_close(take) == LIMIT


def test_a_model_failure_falls_back_to_the_hangover() -> None:
    events, _ = run([0.0] * 10 + [0.9] * 40 + [0.0] * 60, lambda n: None)
    [take] = takes(events)
    assert silent_frames_before_close(take) == HANG


def test_without_turn_settings_the_hangover_alone_ends_a_take() -> None:
    events, asked = run([0.0] * 10 + [0.9] * 40 + [0.0] * 60, lambda n: 0.1,
                        s=replace(S, turn=None))
    [take] = takes(events)
    assert asked == [] and silent_frames_before_close(take) == HANG


def test_a_late_complete_verdict_closes_when_it_arrives() -> None:
    late = COMPLETE + 5   # the model answers after the fast close would have been due
    events, _ = run([0.0] * 10 + [0.9] * 40 + [0.0] * 60, lambda n: 0.9, late=late)
    [take] = takes(events)
    assert silent_frames_before_close(take) == JUDGE + late


def test_a_click_is_not_judged() -> None:
    events, asked = run([0.0] * 10 + [0.9] * 3 + [0.0] * 60, lambda n: 0.9)
    assert asked == [] and takes(events) == []


def test_a_verdict_for_a_pause_the_speaker_ended_is_ignored() -> None:
    # speech, a 6-frame pause (judged complete only after speech resumed), more speech
    probs = [0.0] * 10 + [0.9] * 30 + [0.0] * 6 + [0.9] * 30 + [0.0] * 60
    events, asked = run(probs, lambda n: 0.9, late=6)
    assert len(asked) == 2
    [take] = takes(events)
    assert take.end_sample == 76 * FRAME


@settings(max_examples=120, deadline=None)
@given(pauses=st.lists(st.integers(1, LIMIT - 1), min_size=1, max_size=5),
       word=st.integers(6, 30), late=st.integers(0, 10))
def test_pauses_judged_incomplete_never_split_a_sentence(pauses: list[int], word: int,
                                                         late: int) -> None:
    probs = [0.0] * 10
    for gap in pauses:
        probs += [0.9] * word + [0.0] * gap
    probs += [0.9] * word + [0.0] * (LIMIT + 20)
    events, _ = run(probs, lambda n: 0.2, late=late)
    assert len(takes(events)) == 1


@settings(max_examples=120, deadline=None)
@given(pause=st.integers(1, 60), p=st.floats(0.0, 1.0), late=st.integers(0, 10))
def test_a_pause_ends_the_turn_exactly_when_its_verdict_says(pause: int, p: float,
                                                            late: int) -> None:
    probs = [0.0] * 10 + [0.9] * 20 + [0.0] * pause + [0.9] * 20 + [0.0] * 80
    events, _ = run(probs, lambda n: p, late=late)
    complete = p >= TURN.threshold
    # frames of silence after which the first pause ends the turn
    needed = LIMIT if not complete else min(LIMIT, max(COMPLETE, JUDGE + late))
    assert len(takes(events)) == (2 if pause >= needed else 1)


@settings(max_examples=80, deadline=None)
@given(probs=st.lists(st.floats(0, 1), max_size=700),
       answers=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=8),
       late=st.integers(0, 8))
def test_the_cap_holds_and_takes_never_overlap_whatever_the_model_says(
        probs: list[float], answers: list[float | None], late: int) -> None:
    s = replace(S, max_take_s=3.0)
    events, _ = run(probs, lambda n: answers[n % len(answers)], late=late, s=s)
    ended = [e for e in events if isinstance(e, TakeEnded)]
    for t in ended:
        assert t.start_sample <= t.end_sample <= t.closed_sample <= len(probs) * FRAME
        assert t.closed_sample - t.start_sample <= 3.0 * 16000 + FRAME
    for a, b in itertools.pairwise(ended):
        assert a.closed_sample <= b.start_sample


@settings(max_examples=150, deadline=None)
@given(probs=st.lists(st.sampled_from([0.0, 0.1, 0.4, 0.6, 0.95]), max_size=500),
       answers=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=8),
       late=st.integers(0, 8))
def test_with_complete_at_the_hangover_the_model_never_cuts_more_than_the_hangover(
        probs: list[float], answers: list[float | None], late: int) -> None:
    # Balanced's promise: a turn called complete closes after the plain hangover, so whatever
    # the model says, it never splits speech the hangover alone would have kept in one take.
    s = replace(S, max_take_s=60.0, turn=replace(TURN, complete_ms=S.hangover_ms))
    with_model, _ = run(probs, lambda n: answers[n % len(answers)], late=late, s=s)
    plain, _ = run(probs, None, s=replace(s, turn=None))
    assert len(takes(with_model)) <= len(takes(plain))


def test_balanced_closes_a_complete_turn_after_the_default_hangover() -> None:
    from ravatar_live.audio.settings import DEFAULT_TURN_PATIENCE, TURN_PRESETS

    balanced = TURN_PRESETS["balanced"]
    assert DEFAULT_TURN_PATIENCE == "balanced" and TakeSettings().turn == balanced
    assert balanced.complete_ms == TakeSettings().hangover_ms <= 300
    assert TURN_PRESETS["quick"].complete_ms < balanced.complete_ms \
        < TURN_PRESETS["patient"].complete_ms
    assert TURN_PRESETS["quick"].limit_ms < balanced.limit_ms < TURN_PRESETS["patient"].limit_ms
    # Balanced waits out the 250-600 ms pauses inside a sentence (Silero sees a pause start
    # late, so 600 ms of pause never shows as more than 600 ms of silent frames); the model
    # may cut one short only when it is very sure (bench/bench_take_quality.py).
    assert balanced.limit_ms >= 600
    assert all(t.threshold >= 0.99 for t in TURN_PRESETS.values())
