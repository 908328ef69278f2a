"""The states the live services move through; widgets bind to these names."""

from __future__ import annotations

from enum import StrEnum


class ConnectionState(StrEnum):
    """The app's link to the RAVATAR service (token, /connection, chat WebSocket)."""

    OFFLINE = "offline"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"


class SessionState(StrEnum):
    """One live session's life: idle -> connecting -> starting -> live -> ending -> ended/error."""

    IDLE = "idle"
    CONNECTING = "connecting"  # waiting for the service connection before asking for a license
    STARTING = "starting"  # /startLiveSession in flight (or waiting to retry after 503/504)
    LIVE = "live"  # a license is held; the stream page is shown
    ENDING = "ending"  # /endLiveSession in flight
    ENDED = "ended"
    ERROR = "error"

    @property
    def holds_license(self) -> bool:
        return self in (SessionState.LIVE, SessionState.ENDING)

    @property
    def can_start(self) -> bool:
        return self in (SessionState.IDLE, SessionState.ENDED, SessionState.ERROR)


class StreamStage(StrEnum):
    """What the embedded stream page is doing, as told by its postMessage strings."""

    IDLE = "idle"
    LOADING = "loading"  # page requested, no "ravatar-session-start" yet
    PLAYING = "playing"  # "ravatar-session-start" received
    CLOSED = "closed"  # "ravatar-session-close" received
    FAILED = "failed"  # framing refused, or no start within the timeout


class StreamFailure(StrEnum):
    FRAMING_REFUSED = "framing-refused"
    NO_START = "no-start"
