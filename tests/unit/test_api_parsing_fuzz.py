"""Property tests: parsing whatever a server (or a broken proxy) sends never raises."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.api.errors import RavatarError
from ravatar_live.api.http_json import interpret_body
from ravatar_live.api.models import (
    EventMessage,
    IncomingReply,
    ServerMessage,
    SystemNotice,
    Unrecognised,
    parse_connection,
    parse_history,
    parse_jwt_response,
    parse_live_session,
    parse_server_message,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20)
KNOWN_KEYS = ["type", "direction", "answer", "content", "message", "chat_type", "requestType",
              "fileUrl", "file_base64_data", "audio_base64", "timestamp", "text", "error"]
# Objects that look like real frames: known keys, known and unknown `type` values, junk values.
frame_like = st.dictionaries(
    st.sampled_from(KNOWN_KEYS) | st.text(max_size=8),
    st.sampled_from(["incoming", "system", "event", "outgoing", "INCOMING", ">q\n\nr"])
    | json_values,
    max_size=8)


@settings(max_examples=300)
@given(json_values)
def test_any_json_value_parses_without_raising(value: Any) -> None:
    msg: ServerMessage = parse_server_message(json.dumps(value))
    assert isinstance(msg, IncomingReply | SystemNotice | EventMessage | Unrecognised)


@settings(max_examples=300)
@given(frame_like)
def test_frame_like_objects_parse_without_raising(obj: dict[str, Any]) -> None:
    msg = parse_server_message(json.dumps(obj))
    if isinstance(msg, IncomingReply):
        assert isinstance(msg.text, str)
        assert msg.transcript is None or isinstance(msg.transcript, str)
    else:
        assert isinstance(msg, SystemNotice | EventMessage | Unrecognised)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_without_raising(raw: bytes) -> None:
    assert isinstance(parse_server_message(raw),
                      IncomingReply | SystemNotice | EventMessage | Unrecognised)


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_arbitrary_text_parses_without_raising(raw: str) -> None:
    assert isinstance(parse_server_message(raw),
                      IncomingReply | SystemNotice | EventMessage | Unrecognised)


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["avatars_info", "languages", "chat_types", "vadEnabled",
                                        "session", "jwt", "token", "result", "LicenseId",
                                        "streamingUrl", "payload", "has_more_messages",
                                        "status"]), json_values, max_size=6))
def test_rest_parsers_only_raise_typed_errors(body: dict[str, Any]) -> None:
    for parser in (parse_connection, parse_jwt_response, parse_live_session, parse_history):
        try:
            parser(body)
        except RavatarError as exc:
            assert exc.user_message


@settings(max_examples=200)
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=120))
def test_interpret_body_only_raises_typed_errors(http_status: int, raw: bytes) -> None:
    try:
        assert isinstance(interpret_body(http_status, raw, "/x"), dict)
    except RavatarError as exc:
        assert exc.user_message
