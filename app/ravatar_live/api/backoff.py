"""BackoffPolicy: how long the chat link waits before each reconnect attempt. No I/O.

Delays are exponential with full jitter: ``rng() * min(cap_s, base_s * 2**(attempt-1))``
(defaults 0.5 s base, 15 s cap, no attempt limit). ``ReconnectingChatSocket`` draws one delay
per failed attempt and closes for good once ``gives_up(attempt)`` is true.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ravatar_live.api.errors import InvalidRequestError


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential back-off with full jitter (AWS Architecture Blog, "Exponential Backoff And
    Jitter"): spreading retries uniformly keeps many clients from reconnecting in lockstep after
    a server restart."""

    base_s: float = 0.5
    cap_s: float = 15.0
    #: Give up (close with the last error) after this many failed attempts; None = never.
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and math.isfinite(self.base_s)):
            raise InvalidRequestError("The reconnect base delay must be a positive number.")
        if not (self.cap_s >= self.base_s and math.isfinite(self.cap_s)):
            raise InvalidRequestError(
                "The reconnect delay cap must be at least the base delay.")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise InvalidRequestError("The reconnect attempt limit must be at least 1.")

    def ceiling(self, attempt: int) -> float:
        """The largest delay before attempt `attempt` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 64)  # 2**64 * base is past any cap; no overflow
        return min(self.cap_s, self.base_s * 2.0 ** exponent)

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """A delay drawn uniformly from [0, ceiling(attempt)) with `rng()` in [0, 1)."""
        return min(max(rng(), 0.0), 1.0) * self.ceiling(attempt)

    def gives_up(self, attempt: int) -> bool:
        """True when attempt number `attempt` must not be made."""
        return self.max_attempts is not None and attempt > self.max_attempts

