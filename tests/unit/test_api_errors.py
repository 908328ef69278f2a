"""Error mapping: RAVATAR status codes and broken bodies become typed, readable errors."""

from __future__ import annotations

import json

import pytest

from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    PaymentError,
    RavatarError,
    ServiceBusyError,
    StreamTimeoutError,
    TokenRejectedError,
    UnknownServiceError,
    describe_error,
    error_for_status,
)
from ravatar_live.api.http_json import body_status, interpret_body


@pytest.mark.parametrize(("status", "cls", "retryable"), [
    (400, InvalidRequestError, False), (401, AuthError, False), (402, PaymentError, False),
    (403, TokenRejectedError, False), (503, ServiceBusyError, True),
    (504, StreamTimeoutError, True), (-1, UnknownServiceError, False),
    (500, UnknownServiceError, False), (418, UnknownServiceError, False),
])
def test_error_for_status(status: int, cls: type[RavatarError], retryable: bool) -> None:
    error = error_for_status(status, "server words")
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == status
    assert error.user_message and error.user_message[0].isupper()
    assert "server words" in str(error)  # detail is kept for the log


def test_400_shows_the_server_reason_to_the_user() -> None:
    assert "unknown avatar_id" in error_for_status(400, "unknown avatar_id").user_message


def _raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_body_status_is_authoritative() -> None:
    with pytest.raises(UnknownServiceError):
        interpret_body(200, _raw({"status": -1, "error": "boom"}), "/startLiveSession")
    with pytest.raises(ServiceBusyError):
        interpret_body(200, _raw({"status": "503"}), "/startLiveSession")
    assert interpret_body(200, _raw({"status": 200, "x": 1}), "/x") == {"status": 200, "x": 1}
    # -1 wins over the HTTP status too: not a (retryable) 503.
    with pytest.raises(UnknownServiceError):
        interpret_body(503, _raw({"status": -1}), "/startLiveSession")


def test_http_status_used_when_body_has_no_numeric_status() -> None:
    assert interpret_body(200, _raw({"status": "success"}), "/endLiveSession") == {
        "status": "success"}
    with pytest.raises(InvalidRequestError, match="invalid_user_id"):
        interpret_body(400, _raw({"result": "failure", "error": "invalid_user_id"}), "/jwt")
    with pytest.raises(PaymentError):
        interpret_body(402, _raw({"error": "pay"}), "/connection")


def test_broken_bodies() -> None:
    with pytest.raises(MalformedResponseError) as info:
        interpret_body(200, b'{"status": 200, "Lic', "/startLiveSession")
    assert "incomplete or unreadable" in info.value.user_message
    with pytest.raises(MalformedResponseError):
        interpret_body(200, b"<html>oops</html>", "/connection")
    with pytest.raises(MalformedResponseError):
        interpret_body(200, b"[1, 2]", "/connection")
    # An HTML error page from a proxy still tells us the HTTP status.
    with pytest.raises(ServiceBusyError):
        interpret_body(503, b"<html>busy</html>", "/startLiveSession")
    assert interpret_body(204, b"", "/endLiveSession") == {}


def test_body_status_variants() -> None:
    assert body_status({"status": 200}) == 200
    assert body_status({"status": " -1 "}) == -1
    assert body_status({"status": True}) is None
    assert body_status({"status": "success"}) is None


def test_describe_error() -> None:
    assert describe_error(PaymentError()) == PaymentError.default_message
    assert "unexpected" in describe_error(KeyError("x"))
