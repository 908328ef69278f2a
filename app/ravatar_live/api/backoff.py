"""Every retry and reconnect schedule of the client: one policy type, the schedules named once.

A `BackoffPolicy` waits ``min(cap_s, base_s * 2**(attempt-1))`` before further attempt number
`attempt` (1-based), or with full jitter a delay drawn uniformly below that, and gives up after
`max_attempts` further attempts (None: never). No I/O: callers sleep.

The schedules:

* `REQUEST_RETRY`: a REST call answered 503/504 is retried after 1 s, 2 s and 4 s (PROTOCOL.md
  section 2), then the error is raised.
* `CHAT_RECONNECT`: the chat WebSocket comes back with full jitter (0.5 s base, 15 s cap) and
  never gives up, so many clients do not reconnect in lockstep after a server restart.
* `END_RETRY`: an /endLiveSession that failed is tried again while the app runs, the waits
  doubling from 1 s to a minute.
* `NO_RETRY`: one attempt only (the setup check times each stage as it is).
* `STREAM_RECONNECT`: the native stream player reconnects like Pixel Streaming's page: 0.5 s,
  1 s, 2 s, 4 s, then the stream is given up.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ravatar_live.api.errors import InvalidRequestError


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential back-off, exact or with full jitter (AWS Architecture Blog, "Exponential
    Backoff And Jitter")."""

    base_s: float
    cap_s: float
    #: Give up after this many further attempts (0: never retry); None = never give up.
    max_attempts: int | None = None
    #: True: draw each delay uniformly from [0, ceiling); False: wait the ceiling exactly.
    jitter: bool = False

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and math.isfinite(self.base_s)):
            raise InvalidRequestError("A retry's base delay must be a positive number.")
        if not (self.cap_s >= self.base_s and math.isfinite(self.cap_s)):
            raise InvalidRequestError("A retry's longest delay must be at least its base delay.")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise InvalidRequestError("A retry limit cannot be negative.")

    def ceiling(self, attempt: int) -> float:
        """The longest wait before further attempt `attempt` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 64)  # 2**64 * base is past any cap; no overflow
        return min(self.cap_s, self.base_s * 2.0 ** exponent)

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The wait before further attempt `attempt`; with jitter `rng()` (in [0, 1)) scales it."""
        if not self.jitter:
            return self.ceiling(attempt)
        return min(max(rng(), 0.0), 1.0) * self.ceiling(attempt)

    def gives_up(self, attempt: int) -> bool:
        """True when further attempt number `attempt` must not be made."""
        return self.max_attempts is not None and attempt > self.max_attempts


REQUEST_RETRY: Final = BackoffPolicy(base_s=1.0, cap_s=4.0, max_attempts=3)
CHAT_RECONNECT: Final = BackoffPolicy(base_s=0.5, cap_s=15.0, jitter=True)
END_RETRY: Final = BackoffPolicy(base_s=1.0, cap_s=60.0)
STREAM_RECONNECT: Final = BackoffPolicy(base_s=0.5, cap_s=4.0, max_attempts=4)
NO_RETRY: Final = BackoffPolicy(base_s=1.0, cap_s=1.0, max_attempts=0)
