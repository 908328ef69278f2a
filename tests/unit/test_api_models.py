"""Models: exact wire casing of what we build, and tolerant parsing of what we receive."""

from __future__ import annotations

import json

import pytest

from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    InvalidStreamSizeError,
    MalformedResponseError,
    UnknownServiceError,
)
from ravatar_live.api.models import (
    AvatarInfo,
    ChatContext,
    EventMessage,
    IncomingReply,
    LanguageInfo,
    ServerMessage,
    StreamSize,
    SystemNotice,
    Unrecognised,
    check_end_live_session,
    parse_connection,
    parse_history,
    parse_jwt_response,
    parse_live_session,
    parse_server_message,
    pcm_chunk_message,
    split_voice_quote,
    text_message,
    wav_message,
)

AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
USER = "0123456789abcdef01234567"
LIVE = ChatContext(avatar_id=AVATAR, user_id=USER, language="en", session="sess-1",
                   license_id="license-abc-123")
CHAT = ChatContext(avatar_id=AVATAR, user_id=USER, language="de")


# --- StreamSize ------------------------------------------------------------------------------
@pytest.mark.parametrize(("w", "h"), [(1, 1), (1280, 720), (1920, 1080)])
def test_stream_size_accepts_the_documented_range_and_sends_strings(w: int, h: int) -> None:
    size = StreamSize(w, h)
    assert size.as_request() == {"width": str(w), "height": str(h)}
    assert all(isinstance(v, str) for v in size.as_request().values())


@pytest.mark.parametrize(("w", "h"), [(0, 720), (1921, 720), (1280, 1081), (1280, 0),
                                      (-5, 720), (True, 720), (1280.0, 720), ("1280", 720)])
def test_stream_size_rejects_out_of_range_or_non_integers(w: object, h: object) -> None:
    with pytest.raises(InvalidStreamSizeError) as info:
        StreamSize(w, h)  # type: ignore[arg-type]
    assert "stream" in info.value.user_message.lower()
    assert isinstance(info.value, ValueError)  # also catchable as plain bad input


def test_stream_size_default_and_parse() -> None:
    assert StreamSize(1280, 720) == StreamSize.DEFAULT
    assert StreamSize.parse(" 1920 x 1080 ") == StreamSize(1920, 1080)
    assert StreamSize.parse("640×480") == StreamSize(640, 480)
    assert str(StreamSize(800, 600)) == "800x600"
    for bad in ("1280", "axb", "1280x", "4000x720", ""):
        with pytest.raises(InvalidStreamSizeError):
            StreamSize.parse(bad)


# --- outgoing WebSocket messages -------------------------------------------------------------
COMMON_KEYS = {"avatar_id", "user_id", "chat_type", "language", "requestType", "source", "isLive"}


def test_text_message_exact_fields_outside_live_mode() -> None:
    msg = text_message(CHAT, "Hello there")
    assert msg == {"avatar_id": AVATAR, "user_id": USER, "chat_type": "text", "language": "de",
                   "requestType": "text", "source": "ravatar-live", "isLive": False,
                   "request": "Hello there"}


def test_text_message_in_live_mode_carries_license_and_session() -> None:
    msg = text_message(LIVE, "Hi")
    assert set(msg) == COMMON_KEYS | {"request", "session", "LicenseId"}
    assert msg["LicenseId"] == "license-abc-123"
    assert msg["session"] == "sess-1"
    assert msg["isLive"] is True


def test_pcm_chunk_message_exact_fields() -> None:
    msg = pcm_chunk_message(LIVE, "AAAA")
    assert set(msg) == COMMON_KEYS | {"session", "LicenseId", "audio_base64_pcm"}
    assert (msg["chat_type"], msg["requestType"], msg["isLive"]) == ("voice", "audio", True)
    assert msg["audio_base64_pcm"] == "AAAA"


def test_pcm_chunk_needs_a_live_session() -> None:
    with pytest.raises(InvalidRequestError, match="Live session"):
        pcm_chunk_message(CHAT, "AAAA")


def test_wav_message_push_to_talk_flag_only_when_set() -> None:
    plain = wav_message(CHAT, "UklGRg==")
    assert "isPushToTalk" not in plain
    assert plain["file_base64_data"] == "UklGRg=="
    assert (plain["chat_type"], plain["requestType"]) == ("voice", "audio")
    ptt = wav_message(LIVE, "data:audio/wav;base64,UklGRg==", push_to_talk=True)
    assert ptt["isPushToTalk"] is True
    assert ptt["file_base64_data"] == "UklGRg=="  # data: prefix stripped, the protocol forbids it
    assert ptt["LicenseId"] == "license-abc-123"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_refused_with_a_readable_error(text: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        text_message(CHAT, text)
    assert info.value.user_message == "Type a message before sending."


def test_messages_round_trip_through_json() -> None:
    for msg in (text_message(LIVE, "ü 😀"), pcm_chunk_message(LIVE, "AA=="),
                wav_message(CHAT, "UklGRg==", push_to_talk=True)):
        assert json.loads(json.dumps(msg)) == msg


# --- REST bodies -----------------------------------------------------------------------------
CONNECTION = {
    "status": 200, "session": "opaque",
    "avatars_info": [{"_id": AVATAR, "name": "Rebecca", "hasLiveMode": True,
                      "greetingText": "Hello!", "previewIcons": {"small": "s", "medium": "m"},
                      "startButtonIcon": "b", "futureField": 1}],
    "languages": [{"name": "English", "language_code": "en"}],
    "chat_types": ["text", "voice"], "vadEnabled": True,
}


def test_parse_connection_documented_shape() -> None:
    info = parse_connection(CONNECTION)
    assert info.session == "opaque"
    assert info.avatars == (AvatarInfo(AVATAR, "Rebecca", True, "Hello!",
                                       {"small": "s", "medium": "m"}, "b"),)
    assert info.languages == (LanguageInfo("English", "en"),)
    assert info.chat_types == ("text", "voice")
    assert info.vad_enabled is True
    assert info.avatar(AVATAR) is info.avatars[0]
    assert info.live_avatars == info.avatars
    assert info.avatars[0].preview_icon("large") == "s"  # falls back to any icon


def test_parse_connection_tolerates_demo_variants_and_skips_junk() -> None:
    body = {"avatars_info": [{"id": "a1", "name": "Max"}, "junk", {"name": "no id"}],
            "languages": [{"name": "Deutsch", "code": "de"}, {"name": "no code"}, 3],
            "chat_types": ["text", 5]}
    info = parse_connection(body)
    assert [a.id for a in info.avatars] == ["a1"]
    assert info.avatars[0].has_live_mode is False
    assert info.languages == (LanguageInfo("Deutsch", "de"),)
    assert info.chat_types == ("text",)
    assert info.vad_enabled is False  # documented default
    assert info.session is None
    assert hash(info.avatars[0])  # usable in sets despite the icon dict


def test_parse_connection_without_avatars_is_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        parse_connection({"status": 200})


def test_parse_jwt_accepts_jwt_or_token_and_reports_failure() -> None:
    assert parse_jwt_response({"result": "success", "jwt": "a.b.c"}) == "a.b.c"
    assert parse_jwt_response({"token": "x.y.z"}) == "x.y.z"
    with pytest.raises(MalformedResponseError):
        parse_jwt_response({"result": "success"})
    with pytest.raises(AuthError, match="invalid_user_id"):
        parse_jwt_response({"result": "failure", "error": "invalid_user_id"})


def test_parse_live_session_and_end() -> None:
    info = parse_live_session({"status": 200, "LicenseId": "L1", "streamingUrl": "https://s/x"})
    assert (info.license_id, info.streaming_url) == ("L1", "https://s/x")
    with pytest.raises(MalformedResponseError):
        parse_live_session({"status": 200, "LicenseId": "L1"})
    check_end_live_session({"status": "success"})
    check_end_live_session({})
    with pytest.raises(UnknownServiceError):
        check_end_live_session({"status": "failure", "error": "nope"})


def test_parse_history() -> None:
    page = parse_history({"payload": [
        {"_id": "m1", "direction": "incoming", "user_id": USER, "request": "hi", "answer": "yo",
         "avatar_id": AVATAR, "date": 1700000000000, "chat_type": "voice",
         "language_code": "en", "fileUrl": "https://f"},
        {"no": "id"}], "has_more_messages": True})
    assert page.has_more is True
    (entry,) = page.entries
    assert (entry.id, entry.direction, entry.answer, entry.date_ms, entry.file_url) == (
        "m1", "incoming", "yo", 1700000000000, "https://f")
    with pytest.raises(MalformedResponseError):
        parse_history({"payload": "nope"})


# --- incoming WebSocket messages -------------------------------------------------------------
def test_incoming_text_reply() -> None:
    msg = parse_server_message(json.dumps({
        "type": "incoming", "answer": "> not a quote\n\nbecause text", "chat_type": "text",
        "requestType": "text", "timestamp": "2024-01-01T00:00:00Z", "extra": [1, 2]}))
    assert msg == IncomingReply(text="> not a quote\n\nbecause text", transcript=None,
                                chat_type="text", request_type="text",
                                timestamp="2024-01-01T00:00:00Z")


def test_incoming_voice_reply_splits_the_quoted_transcript() -> None:
    msg = parse_server_message(json.dumps({
        "direction": "incoming", "answer": ">what is the time\n\nIt is noon.",
        "chat_type": "voice", "requestType": "audio", "fileUrl": "https://m/a.mp3",
        "audio_base64": "AAA=", "timestamp": 1700000000}).encode())
    assert isinstance(msg, IncomingReply)
    assert (msg.transcript, msg.text) == ("what is the time", "It is noon.")
    assert (msg.file_url, msg.audio_b64, msg.timestamp) == ("https://m/a.mp3", "AAA=",
                                                            "1700000000")


@pytest.mark.parametrize(("key", "value"), [("content", "via content"),
                                            ("message", "via message")])
def test_incoming_text_fallback_fields(key: str, value: str) -> None:
    msg = parse_server_message(json.dumps({"type": "incoming", key: value}))
    assert isinstance(msg, IncomingReply)
    assert msg.text == value


def test_split_voice_quote_cases() -> None:
    assert split_voice_quote(">hi\n\nreply") == ("hi", "reply")
    assert split_voice_quote(">line one\n>line two\n\nreply\n\nmore") == (
        "line one line two", "reply\n\nmore")
    assert split_voice_quote(">only a quote") == ("only a quote", "")
    assert split_voice_quote("no quote") == (None, "no quote")


def test_system_event_and_unknown_messages() -> None:
    assert parse_server_message('{"type":"system","content":"busy"}') == SystemNotice("busy")
    event = parse_server_message('{"type":"event","message":"typing","x":1}')
    assert event == EventMessage("typing", {"type": "event", "message": "typing", "x": 1})
    other = parse_server_message('{"type":"telemetry","v":1}')
    assert isinstance(other, Unrecognised) and "telemetry" in other.reason


@pytest.mark.parametrize("raw", ["", "not json", "[1,2]", "null", '{"answer":"no type"}',
                                 '{"type":"system"}', '{"type":"incoming"}', b"\xff\xfe",
                                 "[" * 100000])
def test_unusable_frames_become_unrecognised(raw: str | bytes) -> None:
    msg: ServerMessage = parse_server_message(raw)
    assert isinstance(msg, Unrecognised)
    assert msg.reason
