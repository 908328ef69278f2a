"""The bar of talk controls under the stream: hold-to-talk, record-and-send, hands-free, the voice
state, the microphone level, mute and the microphone picker. It only shows and reports; the
VoiceService does the work.

The buttons and the microphone part share one row while they fit and stack when the stream pane
is narrow; the buttons whose label changes keep one width, so nothing jumps.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.ui.eliding_label import ElidingLabel
from ravatar_live.ui.level_meter import LevelMeter
from ravatar_live.ui.reflow import ReflowLayout
from ravatar_live.ui.steady_width import fit_to_longest
from ravatar_live.ui.theme import set_variant, tint

STATE_TEXT = {
    "idle": "Mic off",
    "ready": "Ready",
    "opening": "Opening the microphone…",
    "listening": "Listening…",
    "speech": "Hearing you…",
    "recording": "Recording…",
    "sending": "Sending…",
    "muted": "Microphone muted",
}
# What keeps the avatar's own voice out of hands-free (audio.echo.EchoProtection).
ECHO_TEXT = {
    "echo-cancellation": "Echo cancellation on",
    "half-duplex": "Half-duplex: speak up to interrupt",
    "off": "Echo cancellation off",
}
ECHO_TIP = {
    "echo-cancellation": "The avatar's voice from your speakers is removed from the microphone: "
                         "you can talk over the avatar.",
    "half-duplex": "The avatar's sound cannot be followed here, so while the avatar talks "
                   "hands-free waits for a clearly louder voice.",
    "off": "Nothing removes the avatar's voice from the microphone: use headphones, or turn "
           "echo cancellation on in Settings › Voice.",
}
RECORD_LABEL = "Record"
STOP_LABEL = "Stop && send"  # "&&" shows one "&" (a single one would underline the next letter)
TAP_HINT = "Too short: hold the button while you speak"
TAP_HINT_MS = 3500


class TalkBar(QFrame):
    talk_pressed = Signal()
    talk_released = Signal()
    record_toggled = Signal(bool)  # True: start recording, False: stop and send
    hands_free_toggled = Signal(bool)
    microphone_chosen = Signal(str)  # device id ("" = system default)
    mute_toggled = Signal(bool)
    hint_shown = Signal(str)  # a short hint for the user (e.g. a hold that was too short)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TalkBar")
        self.reflow = ReflowLayout(self, spacing=12)
        self.reflow.setContentsMargins(12, 10, 12, 10)
        self.reflow.add_group(self._build_buttons())
        self.reflow.add_group(self._build_microphone(), 1)

        #: A hold shorter than this is a tap and sends nothing (the voice settings' tap_s).
        self.tap_s = 0.2
        self._held = QElapsedTimer()
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.setInterval(TAP_HINT_MS)
        self._hint_timer.timeout.connect(self._clear_hint)
        self._recording = False
        self._live = False
        self._muted = False
        self._talking = False
        self._problem = ""
        self._hint = ""
        self._voice_state = "idle"
        self.set_push_to_talk_key("Space")
        self.set_live(False)

    def _build_buttons(self) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.talk_button = QPushButton("Hold to talk", group)
        self.talk_button.setObjectName("TalkButton")
        tint(self.talk_button, "mic")
        self.talk_button.setIconSize(QSize(20, 20))
        self.talk_button.setAccessibleName("Hold to talk")
        self.talk_button.setAutoRepeat(False)
        self.talk_button.pressed.connect(self._on_talk_pressed)
        self.talk_button.released.connect(self._on_talk_released)

        self.record_button = QPushButton(RECORD_LABEL, group)
        self.record_button.setObjectName("RecordButton")
        tint(self.record_button, "record", "error")
        self.record_button.setIconSize(QSize(18, 18))
        self.record_button.setToolTip("Click to start recording, click again to send")
        self.record_button.setAccessibleName("Record")
        self.record_button.setAccessibleDescription(
            "Starts recording what you say; press again to stop and send it")
        self.record_button.clicked.connect(self._on_record_clicked)
        fit_to_longest(self.record_button, ((RECORD_LABEL, ""), (STOP_LABEL, "")))

        self.hands_free_button = QPushButton("Hands-free", group)
        self.hands_free_button.setObjectName("HandsFreeButton")
        self.hands_free_button.setCheckable(True)
        tint(self.hands_free_button, "hands-free", "success")
        self.hands_free_button.setIconSize(QSize(18, 18))
        self.hands_free_button.setToolTip(
            "Hands-free: the app listens and sends when you stop speaking")
        self.hands_free_button.setAccessibleName("Hands-free")
        self.hands_free_button.setAccessibleDescription(
            "When on, the app listens and sends each thing you say when you pause")
        self.hands_free_button.toggled.connect(self._on_hands_free_toggled)
        row.addWidget(self.talk_button, 1)
        row.addWidget(self.record_button)
        row.addWidget(self.hands_free_button)
        return group

    @Slot(str)
    def set_echo_protection(self, protection: str) -> None:
        """Say what keeps the avatar's voice out of hands-free (an EchoProtection value)."""
        text = ECHO_TEXT.get(protection, protection)
        tip = ECHO_TIP.get(protection, "")
        self.echo_label.setText(text)  # also its accessible name
        self.echo_label.set_tooltip_text(tip)
        self.echo_label.setAccessibleDescription(tip)

    def _build_microphone(self) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.state_label = ElidingLabel(STATE_TEXT["idle"], group, name="VoiceState",
                                        min_chars=10)
        self.state_label.setAccessibleDescription("What the microphone is doing")
        # Next to the microphone's state, in the room left over: it gives way first (to nothing
        # but its tooltip) and never widens the talk bar or cuts the state.
        self.echo_label = ElidingLabel(ECHO_TEXT["half-duplex"], group, name="EchoState",
                                       min_chars=1)
        self.echo_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_echo_protection("half-duplex")

        self.meter = LevelMeter(group)
        self.meter.setFixedHeight(8)

        self.mute_button = QToolButton(group)
        self.mute_button.setObjectName("IconButton")
        self.mute_button.setCheckable(True)
        self.mute_button.setIconSize(QSize(18, 18))
        self.mute_button.setAccessibleName("Mute microphone")
        self.mute_button.setAccessibleDescription(
            "Closes the microphone so nothing you say is sent (Ctrl+Shift+M)")
        self.mute_button.toggled.connect(self._on_mute_toggled)
        self._show_mute(False)

        self.mic_picker = QComboBox(group)
        self.mic_picker.setToolTip("Microphone")
        self.mic_picker.setAccessibleName("Microphone")
        self.mic_picker.setAccessibleDescription("The microphone the app listens to")
        self.mic_picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.mic_picker.setMinimumContentsLength(12)
        self.mic_picker.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.mic_picker.activated.connect(self._on_mic_activated)
        self.mic_picker.currentTextChanged.connect(self._on_mic_text)

        row.addWidget(self.state_label)
        row.addWidget(self.echo_label, 1)
        row.addWidget(self.meter, 1, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.mute_button)
        row.addWidget(self.mic_picker)
        return group

    # --- state from the services -------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self._recording

    @property
    def talking(self) -> bool:
        return self._talking

    @property
    def muted(self) -> bool:
        return self._muted

    def set_push_to_talk_key(self, key: str) -> None:
        """Name the push-to-talk key in the button's tooltip and description."""
        self.talk_button.setToolTip(f"Hold to talk; release to send (or hold {key})")
        self.talk_button.setAccessibleDescription(
            f"Hold to speak to the avatar, release to send. The {key} key does the same when "
            "no other control needs it.")

    def set_live(self, live: bool) -> None:
        """Voice goes to the avatar only during a live session."""
        self._live = live
        self._enable_voice()
        if not live:
            self._set_recording(False)
            self._talking = False
            set_variant(self.talk_button, "active", "false")
            self.meter.reset()
            self._voice_state = "idle"
        self._show_state()

    def set_muted(self, muted: bool) -> None:
        """Reflect the microphone's mute without emitting mute_toggled."""
        blocked = self.mute_button.blockSignals(True)
        self.mute_button.setChecked(muted)
        self.mute_button.blockSignals(blocked)
        self._apply_mute(muted)

    def _apply_mute(self, muted: bool) -> None:
        self._muted = muted
        self._show_mute(muted)
        if muted:
            self.end_talk()
            self._set_recording(False)
            self.meter.reset()
        self._enable_voice()
        self._show_state()

    def _show_mute(self, muted: bool) -> None:
        tint(self.mute_button, "mic-off" if muted else "mic", "error" if muted else "muted")
        self.mute_button.setToolTip("Unmute the microphone (Ctrl+Shift+M)" if muted
                                    else "Mute the microphone (Ctrl+Shift+M)")

    def _enable_voice(self) -> None:
        usable = self._live and not self._muted
        for widget in (self.talk_button, self.record_button, self.hands_free_button):
            widget.setEnabled(usable)
        self.meter.setEnabled(usable)

    def show_problem(self, text: str) -> None:
        """A microphone problem stays visible until audio flows again."""
        self._problem = text
        self._show_state()

    @Slot(str)
    def set_voice_state(self, state: str) -> None:
        if not (self._problem and state in ("idle", "sending")):
            self._problem = ""
        self._voice_state = state
        self._show_state()
        if state != "recording" and self._recording and state in ("idle", "listening"):
            # A capped or failed take ended the recording on its own.
            self._set_recording(False)

    def _show_state(self) -> None:
        if self._problem:
            text, kind = self._problem, "error"
        elif self._muted:
            text, kind = STATE_TEXT["muted"], "error"
        elif self._hint:
            text, kind = self._hint, "hint"
        else:
            kind = "ready" if self._voice_state == "idle" and self._live else self._voice_state
            text = STATE_TEXT.get(kind, kind)
        self.state_label.setText(text)
        set_variant(self.state_label, "kind", kind)

    def set_hands_free(self, on: bool) -> None:
        """Reflect the mode without emitting hands_free_toggled."""
        blocked = self.hands_free_button.blockSignals(True)
        self.hands_free_button.setChecked(on)
        self.hands_free_button.blockSignals(blocked)

    def set_devices(self, devices: list[AudioDevice], current_id: str) -> None:
        self.mic_picker.clear()
        self.mic_picker.addItem("System default", "")
        for device in devices:
            label = f"{device.name} (default)" if device.is_default else device.name
            self.mic_picker.addItem(label, device.id)
        index = self.mic_picker.findData(current_id)
        self.mic_picker.setCurrentIndex(max(index, 0))
        self.mic_picker.setEnabled(True)

    def set_no_microphone(self) -> None:
        self.mic_picker.clear()
        self.mic_picker.addItem("No microphone found", "")
        self.mic_picker.setEnabled(False)

    # --- user actions ------------------------------------------------------------------------
    @Slot()
    def begin_talk(self) -> None:
        """Start a hold-to-talk take (mouse press, Space on the button, the push-to-talk key)."""
        if not self._live or self._muted or self._talking:
            return
        self._talking = True
        self._held.start()
        self._clear_hint()
        set_variant(self.talk_button, "active", "true")
        self.talk_pressed.emit()

    @Slot()
    def end_talk(self) -> None:
        if not self._talking:
            return
        self._talking = False
        set_variant(self.talk_button, "active", "false")
        self.talk_released.emit()
        if self._held.isValid() and self._held.elapsed() < self.tap_s * 1000:
            # The voice service drops such a tap; say why nothing was sent.
            self._hint = TAP_HINT
            self._show_state()
            self._hint_timer.start()
            self.hint_shown.emit(TAP_HINT)

    @Slot()
    def _clear_hint(self) -> None:
        if self._hint:
            self._hint = ""
            self._show_state()

    @Slot()
    def _on_talk_pressed(self) -> None:
        self.begin_talk()

    @Slot()
    def _on_talk_released(self) -> None:
        self.end_talk()

    @Slot()
    def _on_record_clicked(self) -> None:
        if not self._live or self._muted:
            return
        self._set_recording(not self._recording)
        self.record_toggled.emit(self._recording)

    @Slot(bool)
    def _on_hands_free_toggled(self, on: bool) -> None:
        self.hands_free_toggled.emit(on)

    @Slot(bool)
    def _on_mute_toggled(self, muted: bool) -> None:
        self._apply_mute(muted)
        self.mute_toggled.emit(muted)

    @Slot(int)
    def _on_mic_activated(self, index: int) -> None:
        self.microphone_chosen.emit(str(self.mic_picker.itemData(index) or ""))

    @Slot(str)
    def _on_mic_text(self, name: str) -> None:
        self.mic_picker.setToolTip(f"Microphone: {name}" if name else "Microphone")

    def _set_recording(self, on: bool) -> None:
        self._recording = on
        self.record_button.setText(STOP_LABEL if on else RECORD_LABEL)
        self.record_button.setAccessibleName("Stop and send" if on else "Record")
        tint(self.record_button, "stop-record" if on else "record", "error")
        set_variant(self.record_button, "active", "true" if on else "false")
