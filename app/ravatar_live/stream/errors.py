"""The native player's errors; each carries words a user can read (`user_message`)."""

from __future__ import annotations


class StreamError(Exception):
    """Base of the native player's errors."""

    def __init__(self, user_message: str, *, detail: str = "") -> None:
        super().__init__(user_message if not detail else f"{user_message} ({detail})")
        self.user_message = user_message
        self.detail = detail


class StreamAccessError(StreamError):
    """The stream page refused us (forbidden page, 401/403/404): retrying will not help."""


class StreamUnavailableError(StreamError):
    """The stream page or its signalling could not be reached now: worth retrying."""


class StreamEndedError(StreamError):
    """The stream is over for good (the streamer left, or it never appeared)."""


class UndecodableStreamError(StreamError):
    """The stream's video uses a codec this app cannot decode."""


class PlaybackError(StreamError):
    """The avatar's audio cannot be played (no output device, or it could not be opened)."""


class NoOutputDeviceError(PlaybackError):
    """The system has no audio output device at all."""
