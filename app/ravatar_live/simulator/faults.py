"""Injected faults for tests: per-route queues of one-shot (or counted) misbehaviours.

A fault is matched by exact request path (e.g. "/startLiveSession", "/ws/chat") or "*" for any
API route. Faults for a route fire in the order injected; each fires `count` times (None: until
cleared). A fault may:
- answer with `status` instead of running the route: 503/504/402/403/400/500 as that HTTP code
  with `{"status": code, "error": text}`; -1 as HTTP 200 carrying `{"status": -1, ...}` (the
  body's status is authoritative, PROTOCOL.md section 2). /jwt errors use its
  `{"result": "failure"}` shape.
- wait `delay_s` first (alone, the route then runs normally: a slow server);
- run the route, then wait `answer_delay_s` before answering (a server that did the work, e.g.
  handed out a license, and is slow to say so: a client that gives up never learns the result);
- spoil the body: "truncated" (the real JSON cut in half) or "non_json" (an HTML error page).
Admin routes (/admin/...), CORS preflights, icons and the stream instances never see faults.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

BODY_KINDS = frozenset({"truncated", "non_json"})

STATUS_TEXT = {
    400: "Bad request",
    402: "Payment required",
    403: "Forbidden: token expired or invalid",
    500: "Internal server error",
    503: "All AI assistants are busy at the moment",
    504: "Stream connection timed out",
    -1: "Unknown error",
}


class FaultSpecError(ValueError):
    """A fault description that makes no sense; str() says what is wrong."""


@dataclass
class Fault:
    """One injected misbehaviour. `remaining` None means it never runs out."""

    route: str
    status: int | None = None
    delay_s: float = 0.0
    body: str | None = None
    remaining: int | None = 1
    answer_delay_s: float = 0.0

    def describe(self) -> dict[str, object]:
        """JSON-friendly view for the admin API."""
        view: dict[str, object] = {"route": self.route, "status": self.status,
                                   "delay_s": self.delay_s, "body": self.body,
                                   "count": self.remaining}
        if self.answer_delay_s:
            view["answer_delay_s"] = self.answer_delay_s
        return view


def make_fault(route: str, status: int | None = None, count: int | None = 1,
               delay_s: float | None = None, body: str | None = None, *,
               answer_delay_s: float | None = None) -> Fault:
    """Validate a fault description and build it."""
    if not isinstance(route, str) or not (route == "*" or route.startswith("/")):
        raise FaultSpecError(f"route must be a path starting with '/' or '*', got {route!r}")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or (status != -1 and not 400 <= status <= 599)):
        raise FaultSpecError(f"status must be -1 or an HTTP error code 400-599, got {status!r}")
    if body is not None and body not in BODY_KINDS:
        raise FaultSpecError(f"body must be one of {sorted(BODY_KINDS)}, got {body!r}")
    for name, value in (("delay_s", delay_s), ("answer_delay_s", answer_delay_s)):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int | float) or value < 0):
            raise FaultSpecError(f"{name} must be a number >= 0, got {value!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise FaultSpecError(f"count must be an integer >= 1 or null (forever), got {count!r}")
    if status is None and body is None and not delay_s and not answer_delay_s:
        raise FaultSpecError(
            "a fault needs at least one of status, body, delay_s or answer_delay_s")
    return Fault(route=route, status=status, delay_s=float(delay_s or 0.0), body=body,
                 remaining=count, answer_delay_s=float(answer_delay_s or 0.0))


class FaultBook:
    """The pending faults, by route."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, fault: Fault) -> None:
        """Queue a fault behind any already pending for its route."""
        self._queues.setdefault(fault.route, deque()).append(fault)

    def take(self, path: str) -> Fault | None:
        """The fault to apply to a request on `path` now (consuming one use), or None."""
        for key in (path, "*"):
            queue = self._queues.get(key)
            if not queue:
                continue
            fault = queue[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
            return fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        self._queues.clear()

    def pending(self) -> list[dict[str, object]]:
        """Every pending fault, for the admin API."""
        return [f.describe() for q in self._queues.values() for f in q]
