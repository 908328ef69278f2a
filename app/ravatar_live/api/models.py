"""Every RAVATAR request and response shape, built and parsed in this one module (PROTOCOL.md).

Outgoing: `StreamSize.as_request()`, `text_message()`, `pcm_chunk_message()`, `wav_message()`.
Incoming REST bodies: `parse_jwt_response()`, `parse_connection()`, `parse_live_session()`,
`parse_history()` (raise MalformedResponseError on a body they cannot use).
Incoming WebSocket frames: `parse_server_message()`, which never raises.

Field casing is exactly the wire's: `avatar_id`, `user_id`, `chat_type` (snake), `requestType`,
`isLive`, `isPushToTalk`, `fileUrl` (camel), `LicenseId` (Pascal).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    InvalidStreamSizeError,
    MalformedResponseError,
    error_for_status,
)

log = logging.getLogger(__name__)

MAX_STREAM_WIDTH = 1920
MAX_STREAM_HEIGHT = 1080
#: The words `POST /endLiveSession` answers with on success (compared lower-case).
END_SUCCESS_WORDS = frozenset({"success", "ok"})
_STATUS_NUMBER_RE = re.compile(r"-?\d{1,4}")


# --- REST models -----------------------------------------------------------------------------
@dataclass(frozen=True)
class AvatarInfo:
    """One avatar of the project, from `/connection` `avatars_info`."""

    id: str
    name: str
    has_live_mode: bool = False
    greeting_text: str = ""
    # size name ("small"/"medium"/"large") -> URL; excluded from hashing because dicts cannot be.
    preview_icons: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    start_button_icon: str | None = None

    def preview_icon(self, size: str = "medium") -> str | None:
        """The icon URL of that size, else any icon, else None."""
        return self.preview_icons.get(size) or next(iter(self.preview_icons.values()), None)


@dataclass(frozen=True)
class LanguageInfo:
    """A conversation language: display name and the `language_code` sent as `language`."""

    name: str
    code: str


@dataclass(frozen=True)
class ConnectionInfo:
    """The answer of `GET /connection`."""

    session: str | None
    avatars: tuple[AvatarInfo, ...]
    languages: tuple[LanguageInfo, ...]
    chat_types: tuple[str, ...]
    vad_enabled: bool = False

    def avatar(self, avatar_id: str) -> AvatarInfo | None:
        """The avatar with that id, or None."""
        return next((a for a in self.avatars if a.id == avatar_id), None)

    @property
    def live_avatars(self) -> tuple[AvatarInfo, ...]:
        """Avatars that can start a Live session."""
        return tuple(a for a in self.avatars if a.has_live_mode)


@dataclass(frozen=True)
class LiveSessionInfo:
    """The answer of `POST /startLiveSession`."""

    license_id: str
    streaming_url: str


@dataclass(frozen=True)
class StreamSize:
    """The Live stream's pixel size; validated on construction (1..1920 x 1..1080)."""

    width: int = 1280
    height: int = 720

    DEFAULT: ClassVar[StreamSize]

    def __post_init__(self) -> None:
        for name, value, maximum in (("width", self.width, MAX_STREAM_WIDTH),
                                     ("height", self.height, MAX_STREAM_HEIGHT)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidStreamSizeError(
                    f"The stream {name} must be a whole number, not {value!r}.")
            if not 1 <= value <= maximum:
                raise InvalidStreamSizeError(
                    f"The stream {name} must be between 1 and {maximum} pixels, not {value}.")

    @classmethod
    def parse(cls, text: str) -> StreamSize:
        """Read "1280x720" (also "1280 x 720", "1280×720"); InvalidStreamSizeError otherwise."""
        match = re.fullmatch(r"\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*", text)
        if not match:
            raise InvalidStreamSizeError(
                f"Write the stream size as WIDTHxHEIGHT, e.g. 1280x720, not {text!r}.")
        return cls(int(match.group(1)), int(match.group(2)))

    def as_request(self) -> dict[str, str]:
        """The wire form: strings holding integers (PROTOCOL.md section 2)."""
        return {"width": str(self.width), "height": str(self.height)}

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


StreamSize.DEFAULT = StreamSize()


@dataclass(frozen=True)
class ChatHistoryEntry:
    """One stored message of `GET /chat` `payload`."""

    id: str
    direction: str
    request: str
    answer: str | None = None
    avatar_id: str | None = None
    avatar_name: str | None = None
    date_ms: int | None = None
    chat_type: str | None = None
    language_code: str | None = None
    file_url: str | None = None


@dataclass(frozen=True)
class ChatHistoryPage:
    """One page of chat history."""

    entries: tuple[ChatHistoryEntry, ...]
    has_more: bool


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _first_str(body: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` whose value is a non-empty string."""
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def parse_jwt_response(body: Mapping[str, Any]) -> str:
    """The token of a `POST /jwt` answer (`jwt`, or `token` as the official demo accepts)."""
    if body.get("result") == "failure":
        reason = _first_str(body, "message", "error")
        raise AuthError(f"The service refused to sign in: {reason}." if reason else None,
                        detail=_first_str(body, "error"))
    token = _first_str(body, "jwt", "token")
    if token is None:
        raise MalformedResponseError(detail="POST /jwt answer has no 'jwt' or 'token'")
    return token.strip()


def _parse_avatar(item: Any) -> AvatarInfo | None:
    if not isinstance(item, Mapping):
        return None
    avatar_id = _first_str(item, "_id", "id")
    if avatar_id is None:
        return None
    icons = item.get("previewIcons")
    preview = ({k: v for k, v in icons.items() if isinstance(k, str) and isinstance(v, str)}
               if isinstance(icons, Mapping) else {})
    return AvatarInfo(
        id=avatar_id,
        name=_first_str(item, "name") or avatar_id,
        has_live_mode=item.get("hasLiveMode") is True,
        greeting_text=_first_str(item, "greetingText") or "",
        preview_icons=preview,
        start_button_icon=_first_str(item, "startButtonIcon"),
    )


def _parse_language(item: Any) -> LanguageInfo | None:
    if not isinstance(item, Mapping):
        return None
    code = _first_str(item, "language_code", "code")
    if code is None:
        return None
    return LanguageInfo(name=_first_str(item, "name") or code, code=code)


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    return value if isinstance(value, list) else []


def parse_connection(body: Mapping[str, Any]) -> ConnectionInfo:
    """A `GET /connection` answer. Malformed list items are skipped (and logged), not fatal."""
    if "avatars_info" not in body:
        raise MalformedResponseError(detail="GET /connection answer has no 'avatars_info'")
    raw_avatars = _list(body, "avatars_info")
    avatars = tuple(a for a in map(_parse_avatar, raw_avatars) if a is not None)
    raw_languages = _list(body, "languages")
    languages = tuple(lang for lang in map(_parse_language, raw_languages) if lang is not None)
    if len(avatars) != len(raw_avatars) or len(languages) != len(raw_languages):
        log.warning("skipped %d malformed avatar(s) and %d malformed language(s) in /connection",
                    len(raw_avatars) - len(avatars), len(raw_languages) - len(languages))
    session = body.get("session")
    return ConnectionInfo(
        session=session if isinstance(session, str) and session else None,
        avatars=avatars,
        languages=languages,
        chat_types=tuple(t for t in _list(body, "chat_types") if isinstance(t, str)),
        vad_enabled=body.get("vadEnabled") is True,
    )


def parse_live_session(body: Mapping[str, Any]) -> LiveSessionInfo:
    """A successful `POST /startLiveSession` answer."""
    license_id = _first_str(body, "LicenseId", "licenseId", "license_id")
    url = _first_str(body, "streamingUrl", "streaming_url")
    if license_id is None or url is None:
        raise MalformedResponseError(
            detail="POST /startLiveSession answer lacks 'LicenseId' or 'streamingUrl'")
    return LiveSessionInfo(license_id=license_id, streaming_url=url)


def body_status(body: Mapping[str, Any]) -> int | None:
    """The numeric `status` of a body (an int, or a string holding one), else None."""
    status = body.get("status")
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    if isinstance(status, str) and _STATUS_NUMBER_RE.fullmatch(status.strip()):
        return int(status)
    return None


def check_end_live_session(body: Mapping[str, Any]) -> None:
    """The one success test of `POST /endLiveSession`, applied to a body whose numeric status
    was already judged (http_json.interpret_body): it answers `{"status": "success"}` (some
    servers say "ok"); any other status word is a failure and raises."""
    status = body.get("status")
    if (isinstance(status, str) and body_status(body) is None
            and status.strip().lower() not in END_SUCCESS_WORDS):
        raise error_for_status(-1, _first_str(body, "error", "message") or status)


def _parse_history_entry(item: Any) -> ChatHistoryEntry | None:
    if not isinstance(item, Mapping):
        return None
    entry_id = _first_str(item, "_id", "id")
    if entry_id is None:
        return None
    date = item.get("date")
    return ChatHistoryEntry(
        id=entry_id,
        direction=_first_str(item, "direction") or "outgoing",
        request=_str(item.get("request")) or "",
        answer=_str(item.get("answer")),
        avatar_id=_str(item.get("avatar_id")),
        avatar_name=_str(item.get("avatar_name")),
        date_ms=int(date) if isinstance(date, int | float) and not isinstance(date, bool)
        and abs(date) < 1e17 else None,
        chat_type=_str(item.get("chat_type")),
        language_code=_str(item.get("language_code")),
        file_url=_str(item.get("fileUrl")),
    )


def parse_history(body: Mapping[str, Any]) -> ChatHistoryPage:
    """A `GET /chat` answer; malformed entries are skipped."""
    if not isinstance(body.get("payload"), list):
        raise MalformedResponseError(detail="GET /chat answer has no 'payload' list")
    entries = tuple(e for e in map(_parse_history_entry, body["payload"]) if e is not None)
    return ChatHistoryPage(entries=entries, has_more=body.get("has_more_messages") is True)


# --- WebSocket: client -> server -------------------------------------------------------------
@dataclass(frozen=True)
class ChatContext:
    """What every outgoing chat message carries. `license_id` set means Live Mode."""

    avatar_id: str
    user_id: str
    language: str
    session: str | None = None
    license_id: str | None = None
    source: str = "ravatar-live"


def _common_fields(ctx: ChatContext, chat_type: str, request_type: str) -> dict[str, Any]:
    if not ctx.avatar_id or not ctx.user_id:
        raise InvalidRequestError("Choose an avatar before sending a message.")
    message: dict[str, Any] = {
        "avatar_id": ctx.avatar_id,
        "user_id": ctx.user_id,
        "chat_type": chat_type,
        "language": ctx.language,
        "requestType": request_type,
        "source": ctx.source,
        "isLive": ctx.license_id is not None,
    }
    if ctx.session:
        message["session"] = ctx.session
    if ctx.license_id is not None:
        message["LicenseId"] = ctx.license_id
    return message


def text_message(ctx: ChatContext, text: str) -> dict[str, Any]:
    """A typed message. Empty or blank text is refused."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("Type a message before sending.")
    message = _common_fields(ctx, "text", "text")
    message["request"] = text
    return message


def _strip_data_url(b64: str) -> str:
    # The protocol wants bare base64; tolerate a "data:audio/wav;base64," prefix from callers.
    if b64.startswith("data:") and "," in b64:
        return b64.split(",", 1)[1]
    return b64


def pcm_chunk_message(ctx: ChatContext, pcm_b64: str) -> dict[str, Any]:
    """One Live Mode PCM chunk (16 kHz s16le mono, base64). Needs `ctx.license_id`."""
    if ctx.license_id is None:
        raise InvalidRequestError("Voice streaming needs a running Live session.")
    if not pcm_b64:
        raise InvalidRequestError("There is no audio to send.")
    message = _common_fields(ctx, "voice", "audio")
    message["audio_base64_pcm"] = _strip_data_url(pcm_b64)
    return message


def wav_message(ctx: ChatContext, wav_b64: str, push_to_talk: bool = False) -> dict[str, Any]:
    """A whole recorded take (WAV, or WebM/Ogg Opus) as base64 without a data: prefix."""
    if not wav_b64:
        raise InvalidRequestError("There is no recording to send.")
    message = _common_fields(ctx, "voice", "audio")
    message["file_base64_data"] = _strip_data_url(wav_b64)
    if push_to_talk:
        message["isPushToTalk"] = True
    return message


# --- WebSocket: server -> client -------------------------------------------------------------
@dataclass(frozen=True)
class IncomingReply:
    """The avatar's answer to one request. For voice, `transcript` is what the server heard."""

    text: str
    transcript: str | None = None
    chat_type: str | None = None
    request_type: str | None = None
    file_url: str | None = None
    audio_b64: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True)
class SystemNotice:
    """A status or error notice from the server."""

    text: str


@dataclass(frozen=True)
class EventMessage:
    """Any other `type: "event"` message; `text` may be empty, `raw` is the whole object."""

    text: str
    raw: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class Unrecognised:
    """A frame this client does not understand; `reason` says why, for the log."""

    raw: str
    reason: str


# A plain union (not a `type` statement) so isinstance(x, ServerMessage) works.
ServerMessage = IncomingReply | SystemNotice | EventMessage | Unrecognised

_TEXT_KEYS = ("answer", "content", "message")


def split_voice_quote(text: str) -> tuple[str | None, str]:
    """Split ">what the user said\\n\\nreply" into (transcript, reply); no quote -> (None, text).

    A multi-line quote (each line starting with ">") is joined with spaces.
    """
    if not text.startswith(">"):
        return None, text
    quote, sep, rest = text.partition("\n\n")
    lines = [line[1:].strip() if line.startswith(">") else line.strip()
             for line in quote.split("\n")]
    transcript = " ".join(line for line in lines if line)
    return transcript, rest if sep else ""


def _text_of(obj: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return ""


def _incoming(obj: dict[str, Any], raw: str) -> ServerMessage:
    text = _text_of(obj, _TEXT_KEYS)
    file_url = _str(obj.get("fileUrl"))
    audio = _str(obj.get("file_base64_data")) or _str(obj.get("audio_base64"))
    if not text and not file_url and not audio:
        return Unrecognised(raw, "incoming message without text or media")
    chat_type = _str(obj.get("chat_type"))
    request_type = _str(obj.get("requestType"))
    transcript: str | None = None
    # Only voice answers carry the quote; a text answer may legitimately start with ">".
    is_voice = chat_type == "voice" or request_type == "audio"
    if is_voice or (chat_type is None and request_type is None):
        transcript, text = split_voice_quote(text)
    stamp = obj.get("timestamp")
    timestamp = (stamp if isinstance(stamp, str)
                 else str(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool)
                 else None)
    return IncomingReply(text=text, transcript=transcript, chat_type=chat_type,
                         request_type=request_type, file_url=file_url or None,
                         audio_b64=audio or None, timestamp=timestamp)


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Parse one WebSocket frame. Never raises: anything unusable becomes `Unrecognised`."""
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return Unrecognised(bytes(raw).decode("utf-8", "replace"), "frame is not UTF-8")
    elif isinstance(raw, str):
        text = raw
    else:
        return Unrecognised(repr(raw), f"frame of type {type(raw).__name__}")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return Unrecognised(text, "frame is not JSON")
    if not isinstance(obj, dict):
        return Unrecognised(text, "frame is not a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str):
        kind = obj.get("direction")
    if not isinstance(kind, str):
        return Unrecognised(text, "frame has no 'type'")
    kind = kind.lower()
    if kind == "incoming":
        return _incoming(obj, text)
    if kind == "system":
        notice = _text_of(obj, ("content", "message", "answer", "text", "error"))
        return SystemNotice(notice) if notice else Unrecognised(text, "empty system notice")
    if kind == "event":
        return EventMessage(_text_of(obj, ("content", "message", "answer", "text")), obj)
    return Unrecognised(text, f"unknown message type {kind[:40]!r}")

