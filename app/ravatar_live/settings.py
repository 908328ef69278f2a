"""The app's settings: one typed, declared model, persisted with QSettings (INI).

Every option is declared once as a field of `Settings` with its default; `SettingsStore` maps the
fields to INI keys, coerces the strings QSettings hands back to the declared types, and falls back
to the default (with a warning) for a value it cannot read, so a hand-edited file never crashes the
app. Validation that a user can trigger (the settings dialog, the command line) raises
`SettingsError` with a message meant for people.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final, cast
from urllib.parse import urlsplit

from platformdirs import user_config_dir
from PySide6.QtCore import QSettings

from ravatar_live.api.models import MAX_STREAM_HEIGHT, MAX_STREAM_WIDTH
from ravatar_live.audio.settings import (
    DEFAULT_TURN_PATIENCE,
    TURN_PATIENCES,
    VOICE_MODES,
    TakeSettings,
    TurnPatience,
    VoiceMode,
)

logger = logging.getLogger(__name__)

SETTINGS_VERSION: Final = 1
DEFAULT_API_URL: Final = "https://chat.rvtr.ai"
RESOLUTION_PRESETS: Final[tuple[tuple[int, int], ...]] = ((640, 360), (1280, 720), (1920, 1080))

_TAKE_DEFAULTS: Final = TakeSettings()

_PROJECT_ID_RE: Final = re.compile(r"[A-Za-z0-9-]{1,64}")
_USER_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_LANGUAGE_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,35}")  # BCP 47-ish codes: en, en-US, zh_Hans
_AVATAR_ID_RE: Final = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_DEVICE_ID_CHARS: Final = 1024
FIELD_LABELS: Final = {
    "api_url": "API URL", "ws_url": "WebSocket URL", "project_id": "project id",
    "user_id": "user id", "avatar_id": "avatar", "language": "language",
    "stream_width": "stream width", "stream_height": "stream height",
    "voice_mode": "voice mode", "vad_sensitivity": "hands-free sensitivity",
    "vad_hangover_ms": "hands-free pause length", "turn_patience": "wait for me to finish",
    "microphone_id": "microphone",
    "stream_takes_as_pcm": "voice streaming", "allow_stream_page_microphone":
        "stream page microphone",
}


def settings_notice(reset_fields: list[str]) -> str:
    """Plain words telling the user which settings were unreadable and reset."""
    names = ", ".join(FIELD_LABELS.get(name, name.replace("_", " ")) for name in reset_fields)
    return (f"Some saved settings could not be used and were reset to their defaults: {names}. "
            "Check them in Settings.")


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
    allow_stream_page_microphone: bool = False

    @property
    def is_demo(self) -> bool:
        return not self.project_id

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> Settings:
        """Raise SettingsError for the first unacceptable value; return self when all are fine."""
        validate_stream_size(self.stream_width, self.stream_height)
        validate_http_url(self.api_url, "API URL")
        if self.ws_url:
            validate_ws_url(self.ws_url)
        if self.project_id:
            validate_project_id(self.project_id)
        if self.user_id:
            validate_user_id(self.user_id)
        if self.voice_mode not in VOICE_MODES:
            raise SettingsError(f"Voice mode must be one of: {', '.join(VOICE_MODES)}.")
        if not 0.0 <= self.vad_sensitivity <= 1.0:
            raise SettingsError("Hands-free sensitivity must be between 0 and 1.")
        if not 100 <= self.vad_hangover_ms <= 3000:
            raise SettingsError("Hands-free pause length must be between 100 and 3000 ms.")
        if self.turn_patience not in TURN_PATIENCES:
            raise SettingsError(
                f"Wait for me to finish must be one of: {', '.join(TURN_PATIENCES)}.")
        if not _LANGUAGE_RE.fullmatch(self.language):
            raise SettingsError("Language must be a language code such as en or en-US.")
        if self.avatar_id and not _AVATAR_ID_RE.fullmatch(self.avatar_id):
            raise SettingsError("Avatar must be an avatar id from the RAVATAR service.")
        if len(self.microphone_id) > MAX_DEVICE_ID_CHARS or "\x00" in self.microphone_id:
            raise SettingsError("Microphone must be a device id from this computer.")
        return self


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
    for value, label, maximum in ((width, "Width", MAX_STREAM_WIDTH),
                                  (height, "Height", MAX_STREAM_HEIGHT)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{label} must be a whole number of pixels (1 to {maximum}).")
        if not 1 <= value <= maximum:
            raise SettingsError(f"{label} must be between 1 and {maximum} pixels, not {value}.")
    return cast(int, width), cast(int, height)


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


def validate_project_id(project_id: str) -> str:
    if not _PROJECT_ID_RE.fullmatch(project_id):
        raise SettingsError(
            "Project id must be 1 to 64 letters, digits or dashes (RAVATAR shows it in your "
            "project's settings)."
        )
    return project_id


def validate_user_id(user_id: str) -> str:
    if not _USER_ID_RE.fullmatch(user_id):
        raise SettingsError("User id must be 1 to 128 letters, digits, '_' or '-'.")
    return user_id


def new_user_id() -> str:
    """24 lowercase hex characters, the shape RAVATAR's own ids have."""
    return secrets.token_hex(12)


def default_settings_path() -> Path:
    return Path(user_config_dir("ravatar-live", appauthor=False)) / "settings.ini"


def _coerce(raw: object, default: object) -> object:
    """Turn what QSettings returned (often a string from INI) into the default's type."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"not a boolean: {raw!r}")
    if isinstance(default, int):
        return int(str(raw).strip())
    if isinstance(default, float):
        return float(str(raw).strip())
    return "" if raw is None else str(raw)


class SettingsStore:
    """Loads and saves `Settings` in one INI file (QSettings), keyed by field name."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_settings_path()
        self._qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)
        #: Plain-words notices from the last load() (a value reset, an unreadable file); the
        #: app shows them so a reset never goes unnoticed.
        self.notices: list[str] = []

    def load(self) -> Settings:
        defaults = Settings()
        values: dict[str, object] = {}
        unreadable: list[str] = []
        qs = self._qsettings
        qs.sync()
        self.notices = []
        if qs.status() is not QSettings.Status.NoError:
            logger.warning("settings: %s could not be read (%s); using defaults", self.path,
                           qs.status().name)
            self.notices.append("The settings file could not be read, so the defaults are used "
                                "for this run.")
        for field in fields(Settings):
            if not qs.contains(field.name):
                continue
            default = getattr(defaults, field.name)
            try:
                values[field.name] = _coerce(qs.value(field.name), default)
            except (TypeError, ValueError, OverflowError):
                logger.warning("settings: unreadable value for %s, using the default", field.name)
                unreadable.append(field.name)
        settings = dataclasses.replace(defaults, **values)  # type: ignore[arg-type]
        try:
            result = settings.validate()
            reset: list[str] = []
        except SettingsError as exc:
            # A bad value in the file must not stop the app; drop back to defaults per field.
            logger.warning("settings: %s Falling back to defaults for invalid values.", exc)
            result, reset = self._repair(settings)
        if unreadable or reset:
            self.notices.append(settings_notice(unreadable + reset))
        return result

    def save(self, settings: Settings) -> None:
        settings.validate()
        qs = self._qsettings
        qs.setValue("settings_version", SETTINGS_VERSION)
        for field in fields(Settings):
            qs.setValue(field.name, getattr(settings, field.name))
        qs.sync()

    def reset(self) -> Settings:
        """Forget everything except the user id (a new id would orphan the user's history)."""
        user_id = self.load().user_id
        self._qsettings.clear()
        fresh = Settings(user_id=user_id)
        self.save(fresh)
        return fresh

    def ensure_user_id(self, settings: Settings) -> Settings:
        """Generate and persist the user id the first time; keep it afterwards."""
        if settings.user_id:
            return settings
        updated = settings.replace(user_id=new_user_id())
        self._qsettings.setValue("user_id", updated.user_id)
        self._qsettings.setValue("settings_version", SETTINGS_VERSION)
        self._qsettings.sync()
        return updated

    @staticmethod
    def _repair(settings: Settings) -> tuple[Settings, list[str]]:
        """Reset exactly the fields that are invalid on their own, keep the rest; the result
        and the names of the fields reset."""
        defaults = Settings()
        keep: dict[str, object] = {}
        reset: list[str] = []
        for field in fields(Settings):
            value = getattr(settings, field.name)
            try:
                dataclasses.replace(defaults, **{field.name: value}).validate()
            except SettingsError:
                logger.warning("settings: resetting %s to its default", field.name)
                reset.append(field.name)
                continue
            keep[field.name] = value
        repaired = dataclasses.replace(defaults, **keep)  # type: ignore[arg-type]
        try:
            return repaired.validate(), reset
        except SettingsError:
            everything = [f.name for f in fields(Settings) if f.name != "user_id"]
            return dataclasses.replace(defaults, user_id=settings.user_id), everything
