"""BackoffPolicy (exponential, full jitter) and LinkStatus / NotSent wording."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ravatar_live.api.errors import InvalidRequestError, ServiceUnreachableError
from ravatar_live.api.reconnect import (
    BackoffPolicy,
    LinkState,
    LinkStatus,
    NotSent,
    NotSentReason,
)


def test_ceiling_doubles_from_base_up_to_cap() -> None:
    policy = BackoffPolicy(base_s=0.5, cap_s=15.0)
    assert [policy.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert policy.ceiling(10_000) == 15.0  # no overflow for a very long outage


def test_delay_is_rng_times_ceiling() -> None:
    policy = BackoffPolicy(base_s=1.0, cap_s=10.0)
    assert policy.delay(3, lambda: 0.0) == 0.0
    assert policy.delay(3, lambda: 0.25) == 1.0
    assert policy.delay(3, lambda: 5.0) == 4.0  # a broken rng cannot exceed the ceiling


@given(st.floats(0.001, 10), st.floats(1, 100), st.integers(1, 200), st.randoms())
def test_full_jitter_stays_within_zero_and_the_ceiling(base: float, cap_factor: float,
                                                       attempt: int, rnd: random.Random) -> None:
    policy = BackoffPolicy(base_s=base, cap_s=base * cap_factor)
    delay = policy.delay(attempt, rnd.random)
    assert 0.0 <= delay <= min(policy.cap_s, base * 2 ** (attempt - 1))


def test_jitter_spreads_delays() -> None:
    # Full jitter must not collapse to a fixed delay: many clients would reconnect in lockstep.
    rnd = random.Random(7)
    delays = [BackoffPolicy().delay(4, rnd.random) for _ in range(500)]
    assert min(delays) < 0.5 and max(delays) > 3.5


def test_attempt_limit() -> None:
    assert not BackoffPolicy().gives_up(10**6)
    limited = BackoffPolicy(max_attempts=3)
    assert not limited.gives_up(3) and limited.gives_up(4)


@pytest.mark.parametrize("kwargs", [{"base_s": 0}, {"base_s": -1}, {"base_s": float("nan")},
                                    {"base_s": 2, "cap_s": 1}, {"cap_s": float("inf")},
                                    {"max_attempts": 0}])
def test_bad_policies_are_refused_with_readable_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidRequestError) as info:
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]
    assert "reconnect" in info.value.user_message


def test_status_words_for_the_banner() -> None:
    lost = ServiceUnreachableError("The chat service stopped answering.")
    assert LinkStatus(LinkState.RECONNECTING, 2, 2.2, error=lost).user_message == (
        "The chat connection was lost. Reconnecting in 3 s…")
    assert LinkStatus(LinkState.RECONNECTING, 1, 0.1).user_message.endswith("now…")
    assert LinkStatus(LinkState.CONNECTING).user_message == "Connecting to the chat service…"
    assert LinkStatus(LinkState.CONNECTING, 3).user_message == "Reconnecting (attempt 3)…"
    assert LinkStatus(LinkState.CLOSED, error=lost).user_message == lost.user_message
    assert LinkStatus(LinkState.CLOSED).user_message == "Disconnected."


def test_not_sent_words() -> None:
    assert "too long" in NotSent(NotSentReason.TOO_LONG_TO_RESEND, 4).user_message
    assert "voice message" in NotSent(NotSentReason.BUFFER_FULL, 4).user_message
    assert NotSent(NotSentReason.CLOSED, None, ({"a": 1}, {"b": 2})).user_message == (
        "2 messages were not sent because the chat connection closed.")
