"""Property tests for what arrives on the chat socket, beyond tests/unit/test_api_parsing_fuzz.py
(which covers parse_server_message over JSON values, frame-like objects, bytes and text): the
socket's `decode_frame` never raises, logs every Unrecognised frame at debug level (and only
those), keeps the frame's content out of the log, and survives hostile shapes (deep nesting,
huge numbers, NaN, invalid UTF-8, lone surrogates)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ravatar_live.api.models import (
    EventMessage,
    IncomingReply,
    SystemNotice,
    Unrecognised,
)
from ravatar_live.api.ws import decode_frame, encode_message

WS_LOGGER = "ravatar_live.api.ws"
KNOWN = IncomingReply | SystemNotice | EventMessage | Unrecognised
# caplog is function-scoped; each example clears it before it runs. Strategies are passed by
# keyword: positional ones would bind to the rightmost parameter, the fixture.
FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      max_examples=200, deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=15)
# A marker that cannot occur by chance, to check the frame's content never reaches the log.
SECRET = "zq-private-words-zq"


def debug_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == WS_LOGGER and r.levelno == logging.DEBUG]


def check(frame: str | bytes, caplog: pytest.LogCaptureFixture) -> object:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=WS_LOGGER):
        message = decode_frame(frame)
    assert isinstance(message, KNOWN)
    records = debug_records(caplog)
    if isinstance(message, Unrecognised):
        assert len(records) == 1, "an unrecognised frame must be logged once at debug"
        assert message.reason in records[0].getMessage()
    else:
        assert records == [], "a recognised frame must not be logged as ignored"
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    return message


@FIXTURE_OK
@given(value=json_values)
def test_any_json_value(value: Any, caplog: pytest.LogCaptureFixture) -> None:
    check(json.dumps(value), caplog)


@FIXTURE_OK
@given(raw=st.binary(max_size=300))
def test_any_bytes(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    check(raw, caplog)


@FIXTURE_OK
@given(extra=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
       kind=st.text(min_size=1, max_size=15).filter(
           lambda t: t.lower() not in ("incoming", "system", "event")))
def test_unknown_types_are_unrecognised_and_logged(extra: dict[str, Any], kind: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    frame = {**extra, "type": kind, "answer": SECRET}
    message = check(json.dumps(frame), caplog)
    assert isinstance(message, Unrecognised)
    assert "unknown message type" in message.reason


@FIXTURE_OK
@given(key=st.sampled_from(["answer", "content", "message"]),
       text=st.text(min_size=1, max_size=40),
       extra=st.dictionaries(st.text(max_size=8).filter(lambda k: k not in (
           "type", "direction", "answer", "content", "message", "chat_type", "requestType")),
           json_values, max_size=4))
def test_replies_with_extra_fields_are_understood(key: str, text: str, extra: dict[str, Any],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    # Unknown extra fields must be ignored, never turn a reply into an unrecognised frame.
    message = check(json.dumps({**extra, "type": "incoming", "chat_type": "text", key: text}),
                    caplog)
    assert isinstance(message, IncomingReply) and message.text == text


@pytest.mark.parametrize("frame", [
    "[" * 100_000 + "]" * 100_000,            # nesting past the recursion limit
    '{"type": "incoming", "answer": ' + "9" * 5000 + "}",  # a number too long to convert
    '{"type": "system", "content": NaN}',
    '{"type": "incoming", "answer": "\\ud800"}',  # a lone surrogate
    b"\xff\xfe{\"type\": \"incoming\"}",      # not UTF-8
    b"",
    "",
    "null",
    '{"type": null, "direction": 5}',
])
def test_hostile_frames(frame: str | bytes, caplog: pytest.LogCaptureFixture) -> None:
    check(frame, caplog)


@settings(max_examples=150)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_outgoing_encoding_round_trips(message: dict[str, Any]) -> None:
    # What we queue and resend after a reconnect is exactly what the caller built.
    frame = encode_message(message)
    assert "\n" not in frame  # one compact frame
    decoded = json.loads(frame)
    assert json.dumps(decoded, sort_keys=True) == json.dumps(message, sort_keys=True)
