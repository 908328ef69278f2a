"""Sort any error into a kind the window can show with the right words and actions."""

from __future__ import annotations

from enum import StrEnum

from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    PaymentError,
    RavatarError,
    ServiceBusyError,
    ServiceUnreachableError,
    StreamTimeoutError,
    UnknownServiceError,
)
from ravatar_live.audio.errors import AudioError, NoMicrophoneError


class ErrorKind(StrEnum):
    BUSY = "busy"  # 503
    TIMEOUT = "timeout"  # 504
    UNKNOWN = "unknown"  # -1
    AUTH = "auth"  # expired / refused token
    PAYMENT = "payment"  # 402
    INVALID = "invalid"  # 400 or refused input
    UNREACHABLE = "unreachable"
    MALFORMED = "malformed"
    NO_MICROPHONE = "no-microphone"
    MICROPHONE = "microphone"
    STREAM = "stream"
    INTERNAL = "internal"


_KINDS: tuple[tuple[type[BaseException], ErrorKind], ...] = (
    (ServiceBusyError, ErrorKind.BUSY),
    (StreamTimeoutError, ErrorKind.TIMEOUT),
    (UnknownServiceError, ErrorKind.UNKNOWN),
    (PaymentError, ErrorKind.PAYMENT),
    (AuthError, ErrorKind.AUTH),
    (InvalidRequestError, ErrorKind.INVALID),
    (ServiceUnreachableError, ErrorKind.UNREACHABLE),
    (MalformedResponseError, ErrorKind.MALFORMED),
    (NoMicrophoneError, ErrorKind.NO_MICROPHONE),
    (AudioError, ErrorKind.MICROPHONE),
)


def classify(error: BaseException) -> tuple[ErrorKind, str]:
    """(kind, plain-words message) for any exception; unknown ones get a generic message."""
    for cls, kind in _KINDS:
        if isinstance(error, cls):
            message = getattr(error, "user_message", "") or str(error)
            return kind, message
    if isinstance(error, RavatarError):
        return ErrorKind.UNKNOWN, error.user_message
    return ErrorKind.INTERNAL, "Something unexpected went wrong. Details are in the log."
