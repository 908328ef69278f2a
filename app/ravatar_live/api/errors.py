"""Typed errors of the RAVATAR API client, each carrying a message a user can read.

`user_message` is meant for the UI as-is; `str(error)` adds technical detail for the log.
`error_for_status()` is the one place that maps a RAVATAR status code to an error class.
"""

from __future__ import annotations


class RavatarError(Exception):
    """Base of every error the API layer raises on purpose."""

    default_message = "Something went wrong while talking to the RAVATAR service."
    #: True when PROTOCOL.md says to retry the request after a back-off (503 / 504).
    retryable = False

    def __init__(self, user_message: str | None = None, *, detail: str | None = None,
                 status: int | None = None) -> None:
        self.user_message = user_message or self.default_message
        self.detail = detail
        self.status = status
        super().__init__(self.user_message if not detail else f"{self.user_message} ({detail})")


class ServiceBusyError(RavatarError):
    """503: all AI assistants are busy."""

    default_message = "All AI assistants are busy at the moment. Please try again shortly."
    retryable = True


class StreamTimeoutError(RavatarError):
    """504: the avatar stream could not be connected in time."""

    default_message = "The avatar stream took too long to connect. Please try again."
    retryable = True


class UnknownServiceError(RavatarError):
    """Status -1 or any status the protocol does not document."""

    default_message = "The RAVATAR service reported an unknown error."


class AuthError(RavatarError):
    """The service refused our credentials (after one token refresh, for 403)."""

    default_message = "The RAVATAR service refused the sign-in. Check the project and user ids."


class TokenRejectedError(AuthError):
    """A single 403 on an authenticated call; the client refreshes the token and retries once."""

    default_message = "The sign-in token was refused (expired or invalid)."


class PaymentError(RavatarError):
    """402: a billing problem on the project; retrying does not help."""

    default_message = ("The RAVATAR project has a payment problem. "
                       "Please check the account's billing.")


class InvalidRequestError(RavatarError, ValueError):
    """400, or input the client refuses to send (bad size, empty avatar id, ...)."""

    default_message = "The request was not valid."


class InvalidStreamSizeError(InvalidRequestError):
    """A stream width/height outside 1..1920 x 1..1080 or not an integer."""

    default_message = "The stream size must be whole numbers up to 1920 x 1080."


class ServiceUnreachableError(RavatarError):
    """Connection refused, DNS failure, timeout, or a connection that dropped."""

    default_message = ("Could not reach the RAVATAR service. "
                       "Check the internet connection and the server address.")


class MalformedResponseError(RavatarError):
    """The service answered something that is not the JSON the protocol describes."""

    default_message = "The RAVATAR service sent an answer this app cannot read."


def error_for_status(status: int, server_text: str | None = None) -> RavatarError:
    """The typed error for a RAVATAR status code (body `status`, else the HTTP status)."""
    detail = f"status {status}" + (f": {server_text}" if server_text else "")
    if status == 400:
        message = "The service rejected the request"
        return InvalidRequestError(f"{message}: {server_text}." if server_text else None,
                                   detail=detail, status=status)
    if status == 401:
        return AuthError("The RAVATAR project was not found. Check the project id.",
                         detail=detail, status=status)
    if status == 402:
        return PaymentError(detail=detail, status=status)
    if status == 403:
        return TokenRejectedError(detail=detail, status=status)
    if status == 503:
        return ServiceBusyError(detail=detail, status=status)
    if status == 504:
        return StreamTimeoutError(detail=detail, status=status)
    if status in (502, 500):
        return UnknownServiceError("The RAVATAR service had an internal problem. "
                                   "Please try again later.", detail=detail, status=status)
    return UnknownServiceError(detail=detail, status=status)


def describe_error(error: BaseException) -> str:
    """The user-readable text of any error: RavatarError's user_message, else a generic line."""
    if isinstance(error, RavatarError):
        return error.user_message
    return "Something unexpected went wrong. Details are in the log."
