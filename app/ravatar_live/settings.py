"""The app's settings: one typed, declared model and the checks of every value.

Every option is declared once as a field of `Settings` with its default (settings_store.py keeps
them in a file). Validation that a user can trigger (the settings dialog, the command line)
raises `SettingsError` with a message meant for people; `Settings.problems()` names every bad
field at once (the dialog flags them all).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, cast, get_args
from urllib.parse import urlsplit

from PySide6.QtGui import QKeySequence

from ravatar_live.api.ids import AVATAR_ID, LANGUAGE_CODE, PROJECT_ID, USER_ID, IdRule
from ravatar_live.api.models import MAX_STREAM_HEIGHT, MAX_STREAM_WIDTH
from ravatar_live.audio.settings import (
    DEFAULT_TURN_PATIENCE,
    TURN_PATIENCES,
    VOICE_MODES,
    TakeSettings,
    TurnPatience,
    VoiceMode,
)
from ravatar_live.hotkeys.keys import HotkeyError, HotkeySpec

SETTINGS_VERSION: Final = 2
VERSION_KEY: Final = "settings_version"
DEFAULT_API_URL: Final = "https://chat.rvtr.ai"
RESOLUTION_PRESETS: Final[tuple[tuple[int, int], ...]] = ((640, 360), (1280, 720), (1920, 1080))

_TAKE_DEFAULTS: Final = TakeSettings()

MAX_DEVICE_ID_CHARS: Final = 1024
#: A saved window geometry (base64 of QWidget.saveGeometry(), about 90 characters) is small.
MAX_GEOMETRY_CHARS: Final = 4096
CONVERSATION_WIDTH_RANGE: Final = (200, 4000)
ThemeChoice = Literal["system", "light", "dark"]
THEME_CHOICES: Final[tuple[ThemeChoice, ...]] = get_args(ThemeChoice)
StreamPlayerChoice = Literal["auto", "web", "native"]
STREAM_PLAYER_CHOICES: Final[tuple[StreamPlayerChoice, ...]] = get_args(StreamPlayerChoice)
#: Where the user's voice goes: "app" = the app's own microphone as PCM over the chat WebSocket;
#: "page" = the stream's own WebRTC microphone (the page's, or the native player's track).
VoiceRoute = Literal["app", "page"]
VOICE_ROUTES: Final[tuple[VoiceRoute, ...]] = get_args(VoiceRoute)
DEFAULT_PUSH_TO_TALK_KEY: Final = "Space"
#: Keys that keyboard navigation needs; push-to-talk may not take them.
RESERVED_KEYS: Final = frozenset({"Tab", "Backtab", "Esc", "Return", "Enter", "F1"})
_MODIFIER_NAMES: Final = frozenset({"Shift", "Ctrl", "Alt", "Meta"})
FIELD_LABELS: Final = {
    "api_url": "API URL", "ws_url": "WebSocket URL", "project_id": "project id",
    "user_id": "user id", "avatar_id": "avatar", "language": "language",
    "stream_width": "stream width", "stream_height": "stream height",
    "voice_mode": "voice mode", "vad_sensitivity": "hands-free sensitivity",
    "vad_hangover_ms": "hands-free pause length", "turn_patience": "wait for me to finish",
    "microphone_id": "microphone",
    "stream_takes_as_pcm": "voice streaming", "voice_route": "voice route",
    "allow_plain_http_token": "unencrypted sign-in", "theme": "theme",
    "push_to_talk_key": "push-to-talk key",
    "echo_cancellation": "echo cancellation", "noise_suppression": "noise suppression",
    "window_geometry": "window position", "window_maximized": "maximised window",
    "conversation_width": "conversation pane width", "stream_player": "stream player",
    "speaker_id": "speaker", "avatar_volume": "avatar volume", "avatar_muted": "avatar muted",
    "global_push_to_talk_key": "push-to-talk key in any window",
}


class SettingsError(ValueError):
    """A setting a person typed is not acceptable; `user_message` says why in plain words."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class Settings:
    """Everything the user can configure. An empty project id means demo mode."""

    api_url: str = DEFAULT_API_URL
    ws_url: str = ""  # empty: derived from api_url (http->ws, https->wss, /ws/chat)
    project_id: str = ""
    user_id: str = ""  # generated once by SettingsStore.ensure_user_id()
    avatar_id: str = ""  # empty: the first avatar with Live Mode from /connection
    language: str = "en"
    stream_width: int = 1280
    stream_height: int = 720
    voice_mode: VoiceMode = "push-to-talk"
    # 0 = hard to trigger, 1 = triggers on anything; 0.5 is the audio layer's measured default.
    vad_sensitivity: float = round(1.0 - _TAKE_DEFAULTS.threshold, 2)
    vad_hangover_ms: int = _TAKE_DEFAULTS.hangover_ms
    # Hands-free end of turn: how long to wait for the rest of a sentence. Files from before
    # this setting lack the key and get the default; an unknown value is reset to it.
    turn_patience: TurnPatience = DEFAULT_TURN_PATIENCE
    microphone_id: str = ""  # empty: the system default input
    stream_takes_as_pcm: bool = True  # False: each take goes as one WAV blob
    # One route at a time (live.talk_router). The stream page gets the microphone only in the
    # "page" route. Replaces version 2's allow_stream_page_microphone, which let the page have
    # the microphone while the app sent its own too; that key is no longer read.
    voice_route: VoiceRoute = "app"
    # Send the JWT over unencrypted http:// / ws:// to another computer (api.urls); never the
    # default. This computer (127.0.0.1, localhost) is always fine.
    allow_plain_http_token: bool = False
    # WebRTC's echo cancellation (half-duplex where the avatar's audio cannot be tapped) and
    # noise suppression on the microphone. Files from before these lack the keys: defaults.
    echo_cancellation: bool = True
    noise_suppression: bool = True
    # Since version 2: the look, the push-to-talk key, and the window as the user left it.
    theme: ThemeChoice = "system"
    push_to_talk_key: str = DEFAULT_PUSH_TO_TALK_KEY  # QKeySequence portable text, one key
    window_geometry: str = ""  # base64 of QWidget.saveGeometry(); empty: the default placement
    window_maximized: bool = False
    conversation_width: int = 0  # the conversation pane's width in pixels; 0: the default
    # Which player shows the stream: "auto" starts with what worked for the stream's host
    # (else the web view) and switches when one cannot show the video (live.stream_players).
    stream_player: StreamPlayerChoice = "auto"
    # The avatar's sound: the native player plays it on this output ("" = system default) at
    # this volume (percent); mute silences both players.
    speaker_id: str = ""
    avatar_volume: int = 100
    avatar_muted: bool = False
    # Push-to-talk while another app has the focus (hotkeys/): this key, or "" (off, the
    # default). Files from before this setting lack the key and get the default.
    global_push_to_talk_key: str = ""

    @property
    def is_demo(self) -> bool:
        return not self.project_id

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def problems(self) -> dict[str, str]:
        """Field name -> why its value is not acceptable, for every bad field (empty when all
        are fine)."""
        found: dict[str, str] = {}
        for name, check in _FIELD_CHECKS:
            try:
                check(self)
            except SettingsError as exc:
                found.setdefault(name, exc.user_message)
        return found

    def validate(self) -> Settings:
        """Raise SettingsError for the first unacceptable value; return self when all are fine."""
        for _name, check in _FIELD_CHECKS:
            check(self)
        return self


def _check_voice_mode(s: Settings) -> None:
    if s.voice_mode not in VOICE_MODES:
        raise SettingsError(f"Voice mode must be one of: {', '.join(VOICE_MODES)}.")


def _check_sensitivity(s: Settings) -> None:
    if not 0.0 <= s.vad_sensitivity <= 1.0:
        raise SettingsError("Hands-free sensitivity must be between 0 and 1.")


def _check_hangover(s: Settings) -> None:
    if not 100 <= s.vad_hangover_ms <= 3000:
        raise SettingsError("Hands-free pause length must be between 100 and 3000 ms.")


def _check_stream_player(s: Settings) -> None:
    if s.stream_player not in STREAM_PLAYER_CHOICES:
        raise SettingsError(f"Stream player must be one of: {', '.join(STREAM_PLAYER_CHOICES)}.")


def _check_voice_route(s: Settings) -> None:
    if s.voice_route not in VOICE_ROUTES:
        raise SettingsError(f"Voice route must be one of: {', '.join(VOICE_ROUTES)}.")


def _check_speaker(s: Settings) -> None:
    if len(s.speaker_id) > MAX_DEVICE_ID_CHARS or "\x00" in s.speaker_id:
        raise SettingsError("Speaker must be a device id from this computer.")


def _check_volume(s: Settings) -> None:
    if not 0 <= s.avatar_volume <= 100:
        raise SettingsError("The avatar's volume must be between 0 and 100 %.")


def _check_turn_patience(s: Settings) -> None:
    if s.turn_patience not in TURN_PATIENCES:
        raise SettingsError(f"Wait for me to finish must be one of: {', '.join(TURN_PATIENCES)}.")


def _check_language(s: Settings) -> None:
    validate_language(s.language)


def _check_avatar(s: Settings) -> None:
    if s.avatar_id:
        validate_avatar_id(s.avatar_id)


def _check_microphone(s: Settings) -> None:
    if len(s.microphone_id) > MAX_DEVICE_ID_CHARS or "\x00" in s.microphone_id:
        raise SettingsError("Microphone must be a device id from this computer.")


def _check_theme(s: Settings) -> None:
    if s.theme not in THEME_CHOICES:
        raise SettingsError(f"Theme must be one of: {', '.join(THEME_CHOICES)}.")


def _check_geometry(s: Settings) -> None:
    if s.window_geometry:
        decode_geometry(s.window_geometry)


def _check_conversation_width(s: Settings) -> None:
    low, high = CONVERSATION_WIDTH_RANGE
    if s.conversation_width != 0 and not low <= s.conversation_width <= high:
        raise SettingsError(f"The conversation pane must be {low} to {high} pixels wide.")


#: (field, check) in the order the checks run; a field may have several.
_FIELD_CHECKS: Final[tuple[tuple[str, Callable[[Settings], object]], ...]] = (
    ("stream_width", lambda s: _check_dimension(s.stream_width, "Width", MAX_STREAM_WIDTH)),
    ("stream_height", lambda s: _check_dimension(s.stream_height, "Height", MAX_STREAM_HEIGHT)),
    ("api_url", lambda s: validate_http_url(s.api_url, "API URL")),
    ("ws_url", lambda s: s.ws_url and validate_ws_url(s.ws_url)),
    ("project_id", lambda s: s.project_id and validate_project_id(s.project_id)),
    ("user_id", lambda s: s.user_id and validate_user_id(s.user_id)),
    ("voice_mode", _check_voice_mode),
    ("vad_sensitivity", _check_sensitivity),
    ("vad_hangover_ms", _check_hangover),
    ("turn_patience", _check_turn_patience),
    ("language", _check_language),
    ("avatar_id", _check_avatar),
    ("microphone_id", _check_microphone),
    ("theme", _check_theme),
    ("push_to_talk_key", lambda s: validate_push_to_talk_key(s.push_to_talk_key)),
    ("window_geometry", _check_geometry),
    ("conversation_width", _check_conversation_width),
    ("stream_player", _check_stream_player),
    ("voice_route", _check_voice_route),
    ("speaker_id", _check_speaker),
    ("avatar_volume", _check_volume),
    ("global_push_to_talk_key",
     lambda s: validate_global_push_to_talk_key(s.global_push_to_talk_key)),
)


def parse_dimension(text: str, label: str, maximum: int) -> int:
    """Parse a width/height typed by a person: a whole number from 1 to `maximum`."""
    cleaned = text.strip()
    if not re.fullmatch(r"[0-9]+", cleaned):
        raise SettingsError(f"{label} must be a whole number of pixels (1 to {maximum}).")
    value = int(cleaned)
    if not 1 <= value <= maximum:
        raise SettingsError(f"{label} must be between 1 and {maximum} pixels, not {value}.")
    return value


def validate_stream_size(width: object, height: object) -> tuple[int, int]:
    """Check a stream size is integers within RAVATAR's 1920 x 1080 limit."""
    _check_dimension(width, "Width", MAX_STREAM_WIDTH)
    _check_dimension(height, "Height", MAX_STREAM_HEIGHT)
    return cast(int, width), cast(int, height)


def _check_dimension(value: object, label: str, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{label} must be a whole number of pixels (1 to {maximum}).")
    if not 1 <= value <= maximum:
        raise SettingsError(f"{label} must be between 1 and {maximum} pixels, not {value}.")


def validate_http_url(url: str, label: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{label} must start with http:// or https:// and name a host.")
    return url.strip()


def validate_ws_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SettingsError("WebSocket URL must start with ws:// or wss:// and name a host.")
    return url.strip()


def _check_id(rule: IdRule, value: str, hint: str = "") -> str:
    problem = rule.problem(value)
    if problem is not None:
        raise SettingsError(problem + hint)
    return value


def validate_project_id(project_id: str) -> str:
    return _check_id(PROJECT_ID, project_id,
                     " RAVATAR shows it in your project's settings.")


def validate_user_id(user_id: str) -> str:
    return _check_id(USER_ID, user_id)


def validate_avatar_id(avatar_id: str) -> str:
    return _check_id(AVATAR_ID, avatar_id, " Pick one of the avatars the service lists.")


def validate_language(code: str) -> str:
    return _check_id(LANGUAGE_CODE, code, " For example en or en-US.")


def validate_push_to_talk_key(text: str) -> str:
    """One key, optionally with modifiers (QKeySequence portable text, e.g. "Space", "F2",
    "Ctrl+Space"); never a key that keyboard navigation needs."""
    sequence = QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText)
    canonical = sequence.toString(QKeySequence.SequenceFormat.PortableText)
    # An unknown key reads back as ""; a bare modifier cannot be held "as a key" on its own.
    if sequence.count() != 1 or not canonical or canonical in _MODIFIER_NAMES:
        raise SettingsError("The push-to-talk key must be a single key, such as Space or F2.")
    if canonical in RESERVED_KEYS:
        raise SettingsError(f"{canonical} is needed to move around the window and cannot be "
                            "the push-to-talk key.")
    return canonical


def validate_global_push_to_talk_key(text: str) -> str:
    """"" (off) or a push-to-talk key that can be watched in other apps: not a bare letter,
    digit or Space, which would talk whenever the person types elsewhere."""
    if not text:
        return ""
    canonical = validate_push_to_talk_key(text)
    try:
        spec = HotkeySpec.parse(canonical)
        spec.portal_trigger()  # raises for a key no backend can name
    except HotkeyError as exc:
        raise SettingsError(str(exc)) from None
    if spec.types_text:
        raise SettingsError(f"{canonical} types text in other apps; for push-to-talk in any "
                            "window pick a key such as F9, or add Ctrl or Alt.")
    return canonical


def decode_geometry(text: str) -> bytes:
    """The bytes of a saved window geometry; SettingsError when it is not one."""
    if len(text) > MAX_GEOMETRY_CHARS:
        raise SettingsError("The saved window position is too long to be real.")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SettingsError("The saved window position is not readable.") from None


def encode_geometry(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_user_id() -> str:
    """24 lowercase hex characters, the shape RAVATAR's own ids have."""
    return secrets.token_hex(12)
