"""Typed audio errors: every one carries a message a user can read in the UI."""

from __future__ import annotations


class AudioError(Exception):
    """Base of every error raised by ravatar_live.audio."""

    def __init__(self, user_message: str, *, detail: str = "") -> None:
        super().__init__(user_message if not detail else f"{user_message} ({detail})")
        self.user_message = user_message
        self.detail = detail


class CaptureError(AudioError):
    """The microphone could not be opened or stopped delivering audio."""


class NoMicrophoneError(CaptureError):
    """The system has no audio input device at all."""


class DeviceNotFoundError(CaptureError):
    """The chosen input device does not exist (any more)."""


class DeviceBusyError(CaptureError):
    """The device exists but could not be opened (in use elsewhere, or refused)."""


class DeviceLostError(CaptureError):
    """The device disappeared or stopped delivering audio in the middle of capture."""


class BackendUnavailableError(CaptureError):
    """A capture backend's library is missing or cannot run here."""


class AudioFormatError(AudioError):
    """Audio data or a WAV file is in a form we cannot read."""


class VadUnavailableError(AudioError):
    """The requested voice-activity detector cannot be loaded."""


class SettingsError(AudioError, ValueError):
    """A voice setting is out of range."""
