"""Qt face of the audio layer's VoiceController: signals for the widgets, takes to the chat.

The controller's callbacks already run on the loop (GUI) thread, so they are re-emitted as Qt
signals directly. PCM chunks and finished takes go straight to the ChatService, bracketed by
begin_take / end_take so a take cut by a dropped connection is resent whole after the reconnect.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QObject, Signal, Slot

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.audio.echo import EchoProtection
from ravatar_live.audio.errors import CaptureError
from ravatar_live.audio.settings import (
    TURN_PRESETS,
    TakeSettings,
    VoiceMode,
    VoiceSettings,
    VoiceState,
)
from ravatar_live.audio.voice import VoiceController
from ravatar_live.live.chat import ChatService
from ravatar_live.live.error_kinds import classify
from ravatar_live.settings import Settings

logger = logging.getLogger(__name__)


def voice_settings_from(settings: Settings, base: VoiceSettings | None = None) -> VoiceSettings:
    """Map the app's settings onto the audio layer's: sensitivity s -> speech threshold 1 - s;
    "wait for me to finish" -> an end-of-turn preset (the pause length is its fallback)."""
    base = base or VoiceSettings()
    threshold = min(0.95, max(0.05, 1.0 - settings.vad_sensitivity))
    takes: TakeSettings = replace(base.takes, threshold=threshold,
                                  release_delta=min(base.takes.release_delta, threshold / 2),
                                  hangover_ms=settings.vad_hangover_ms,
                                  turn=TURN_PRESETS[settings.turn_patience])
    return replace(base, mode=settings.voice_mode, stream_pcm=settings.stream_takes_as_pcm,
                   echo_cancellation=settings.echo_cancellation,
                   noise_suppression=settings.noise_suppression, takes=takes).validated()


class VoiceService(QObject):
    level_changed = Signal(float, float)  # rms, peak (0..1)
    state_changed = Signal(str)  # "idle" | "listening" | "speech" | "recording" | "sending"
    take_started = Signal()
    take_sent = Signal(bool)  # streamed
    failed = Signal(str, str)  # ErrorKind value, plain-words message
    hands_free_changed = Signal(bool)
    muted_changed = Signal(bool)
    echo_protection_changed = Signal(str)  # EchoProtection: what keeps the avatar's voice out

    def __init__(self, controller: VoiceController, chat: ChatService,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._voice = controller
        self._chat = chat
        self._active = False  # the mic is wanted (a live session is on)
        self._muted = False  # the user closed the mic: nothing is captured or sent
        self._manual_mode: VoiceMode = "push-to-talk"
        controller.on_level.connect(self._on_level)
        controller.on_state.connect(self._on_state)
        controller.on_take_started.connect(self._on_take_started)
        controller.on_pcm_chunk.connect(chat.send_pcm_chunk)
        controller.on_take_finished.connect(self._on_take_finished)
        controller.on_error.connect(self._on_error)
        controller.echo.on_protection.connect(self.echo_protection_changed.emit)

    @property
    def controller(self) -> VoiceController:
        return self._voice

    @property
    def state(self) -> VoiceState:
        return self._voice.state

    @property
    def hands_free(self) -> bool:
        return self._voice.mode == "vad"

    @property
    def echo_protection(self) -> EchoProtection:
        return self._voice.echo.protection

    @property
    def active(self) -> bool:
        return self._active

    @property
    def muted(self) -> bool:
        return self._muted

    def devices(self) -> list[AudioDevice]:
        return self._voice.list_devices()

    @property
    def turn_note(self) -> str:
        """For Settings: why hands-free runs without the end-of-turn model; empty when fine."""
        failure = self._voice.turn_model_failure
        if not failure:
            return ""
        return (f"{failure} Hands-free ends your turn after the pause length above, so it may "
                "cut you off at a pause mid-sentence.")

    def apply_settings(self, settings: Settings) -> None:
        if settings.voice_mode != "vad":
            self._manual_mode = settings.voice_mode
        was_hands_free = self.hands_free
        self._voice.set_settings(voice_settings_from(settings, self._voice.settings))
        self._voice.set_device(settings.microphone_id or None)
        if was_hands_free != self.hands_free:
            self.hands_free_changed.emit(self.hands_free)

    # --- session lifecycle -------------------------------------------------------------------
    @Slot()
    def activate(self) -> None:
        """Open the microphone (meter runs; hands-free listens) for a live session."""
        self._active = True
        if not self._muted:
            self._voice.start_listening()

    @Slot()
    def deactivate(self) -> None:
        self._active = False
        self._voice.stop_listening()

    # --- controls ----------------------------------------------------------------------------
    @Slot(bool)
    def set_muted(self, muted: bool) -> None:
        """Mute: the microphone closes (a take in progress is dropped) and stays closed, even
        across a new session, until unmuted."""
        if muted == self._muted:
            return
        self._muted = muted
        if muted:
            self._voice.stop_listening()
        elif self._active:
            self._voice.start_listening()
        logger.info("microphone %s", "muted" if muted else "unmuted")
        self.muted_changed.emit(muted)

    @Slot(bool)
    def set_hands_free(self, on: bool) -> None:
        if on == self.hands_free:
            return
        self._voice.set_mode("vad" if on else self._manual_mode)
        if on and self._active and not self._muted:
            self._voice.start_listening()
        self.hands_free_changed.emit(self.hands_free)

    @Slot()
    def press(self) -> None:
        if not self._muted:
            self._voice.press()

    @Slot()
    def release(self) -> None:
        self._voice.release()

    @Slot()
    def start_recording(self) -> None:
        if not self._muted:
            self._voice.start_recording()

    @Slot()
    def stop_recording(self) -> None:
        self._voice.stop_recording()

    @Slot(str)
    def set_device(self, device_id: str) -> None:
        self._voice.set_device(device_id or None)

    def close(self) -> None:
        self._active = False
        self._voice.close()

    # --- controller callbacks (on the loop thread) -------------------------------------------
    def _on_level(self, rms: float, peak: float) -> None:
        self.level_changed.emit(rms, peak)

    def _on_state(self, state: VoiceState) -> None:
        self.state_changed.emit(state)

    def _on_take_started(self) -> None:
        logger.info("voice take started")
        self._chat.begin_take()
        self.take_started.emit()

    def _on_take_finished(self, wav: bytes, push_to_talk: bool, streamed: bool) -> None:
        self._chat.end_take()
        if not streamed:
            self._chat.send_wav(wav, push_to_talk)
        self.take_sent.emit(streamed)

    def _on_error(self, error: CaptureError) -> None:
        kind, message = classify(error)
        self.failed.emit(kind.value, message)
