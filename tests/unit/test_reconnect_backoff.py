"""BackoffPolicy (exponential, exact or with full jitter), the client's named schedules, and
LinkStatus / NotSent wording."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ravatar_live.api.backoff import (
    CHAT_RECONNECT,
    END_RETRY,
    NO_RETRY,
    REQUEST_RETRY,
    STREAM_RECONNECT,
    BackoffPolicy,
)
from ravatar_live.api.errors import InvalidRequestError, ServiceUnreachableError
from ravatar_live.api.reconnect import (
    LinkState,
    LinkStatus,
    NotSent,
    NotSentReason,
)


def schedule(policy: BackoffPolicy, limit: int = 20) -> list[float]:
    """The waits an exact policy makes before it gives up (at most `limit`)."""
    return [policy.delay(n) for n in range(1, limit + 1) if not policy.gives_up(n)]


def test_ceiling_doubles_from_base_up_to_cap() -> None:
    policy = BackoffPolicy(base_s=0.5, cap_s=15.0)
    assert [policy.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert policy.ceiling(10_000) == 15.0  # no overflow for a very long outage


def test_the_named_schedules_are_the_protocols() -> None:
    assert schedule(REQUEST_RETRY) == [1.0, 2.0, 4.0]  # PROTOCOL.md: 503/504, 1 s, 2 s, 4 s
    assert REQUEST_RETRY.gives_up(4)
    assert schedule(STREAM_RECONNECT) == [0.5, 1.0, 2.0, 4.0]  # like Pixel Streaming's page
    assert schedule(END_RETRY, 9) == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert not END_RETRY.gives_up(10**6) and not CHAT_RECONNECT.gives_up(10**6)
    assert CHAT_RECONNECT.jitter and not REQUEST_RETRY.jitter


def test_an_exact_policy_ignores_the_rng() -> None:
    assert REQUEST_RETRY.delay(2, lambda: 0.0) == 2.0


def test_delay_is_rng_times_ceiling() -> None:
    policy = BackoffPolicy(base_s=1.0, cap_s=10.0, jitter=True)
    assert policy.delay(3, lambda: 0.0) == 0.0
    assert policy.delay(3, lambda: 0.25) == 1.0
    assert policy.delay(3, lambda: 5.0) == 4.0  # a broken rng cannot exceed the ceiling


@given(st.floats(0.001, 10), st.floats(1, 100), st.integers(1, 200), st.randoms())
def test_full_jitter_stays_within_zero_and_the_ceiling(base: float, cap_factor: float,
                                                       attempt: int, rnd: random.Random) -> None:
    policy = BackoffPolicy(base_s=base, cap_s=base * cap_factor, jitter=True)
    delay = policy.delay(attempt, rnd.random)
    assert 0.0 <= delay <= min(policy.cap_s, base * 2 ** (attempt - 1))


def test_jitter_spreads_delays() -> None:
    # Full jitter must not collapse to a fixed delay: many clients would reconnect in lockstep.
    rnd = random.Random(7)
    delays = [CHAT_RECONNECT.delay(4, rnd.random) for _ in range(500)]
    assert min(delays) < 0.5 and max(delays) > 3.5


def test_attempt_limit() -> None:
    limited = BackoffPolicy(base_s=1.0, cap_s=1.0, max_attempts=3)
    assert not limited.gives_up(3) and limited.gives_up(4)
    assert NO_RETRY.gives_up(1), "one attempt only: the first retry is already refused"


@pytest.mark.parametrize("kwargs", [{"base_s": 0, "cap_s": 1}, {"base_s": -1, "cap_s": 1},
                                    {"base_s": float("nan"), "cap_s": 1},
                                    {"base_s": 2, "cap_s": 1}, {"base_s": 1, "cap_s": float("inf")},
                                    {"base_s": 1, "cap_s": 1, "max_attempts": -1}])
def test_bad_policies_are_refused_with_readable_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidRequestError) as info:
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]
    assert "retry" in info.value.user_message.lower()


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
