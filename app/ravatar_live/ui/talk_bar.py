"""The bar of talk controls under the stream: hold-to-talk, record-and-send, hands-free, the
microphone level and picker. It only shows and reports; the VoiceService does the work."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.ui.level_meter import LevelMeter
from ravatar_live.ui.theme import DANGER, SUCCESS, TEXT, icon, set_variant

STATE_TEXT = {
    "idle": "Mic off",
    "ready": "Ready",
    "listening": "Listening…",
    "speech": "Hearing you…",
    "recording": "Recording…",
    "sending": "Sending…",
}


class TalkBar(QFrame):
    talk_pressed = Signal()
    talk_released = Signal()
    record_toggled = Signal(bool)  # True: start recording, False: stop and send
    hands_free_toggled = Signal(bool)
    microphone_chosen = Signal(str)  # device id ("" = system default)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TalkBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(12)

        self.talk_button = QPushButton("Hold to talk", self)
        self.talk_button.setObjectName("TalkButton")
        self.talk_button.setIcon(icon("mic", TEXT))
        self.talk_button.setIconSize(QSize(20, 20))
        self.talk_button.setToolTip("Hold to talk; release to send (or hold Space)")
        self.talk_button.setAccessibleName("Hold to talk")
        self.talk_button.setAutoRepeat(False)
        self.talk_button.pressed.connect(self._on_talk_pressed)
        self.talk_button.released.connect(self._on_talk_released)

        self.record_button = QPushButton("Record", self)
        self.record_button.setObjectName("RecordButton")
        self.record_button.setIcon(icon("record", DANGER))
        self.record_button.setIconSize(QSize(18, 18))
        self.record_button.setToolTip("Click to start recording, click again to send")
        self.record_button.setAccessibleName("Record and send")
        self.record_button.clicked.connect(self._on_record_clicked)

        self.hands_free_button = QPushButton("Hands-free", self)
        self.hands_free_button.setObjectName("HandsFreeButton")
        self.hands_free_button.setCheckable(True)
        self.hands_free_button.setIcon(icon("hands-free", SUCCESS))
        self.hands_free_button.setIconSize(QSize(18, 18))
        self.hands_free_button.setToolTip(
            "Hands-free: the app listens and sends when you stop speaking")
        self.hands_free_button.setAccessibleName("Hands-free listening")
        self.hands_free_button.toggled.connect(self._on_hands_free_toggled)

        self.state_label = QLabel(STATE_TEXT["idle"], self)
        self.state_label.setObjectName("VoiceState")
        self.state_label.setAccessibleName("Voice state")

        self.meter = LevelMeter(self)
        self.meter.setFixedHeight(8)

        self.mic_picker = QComboBox(self)
        self.mic_picker.setToolTip("Microphone")
        self.mic_picker.setAccessibleName("Microphone")
        self.mic_picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.mic_picker.setMinimumContentsLength(14)
        self.mic_picker.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.mic_picker.activated.connect(self._on_mic_activated)

        mic_icon = QLabel(self)
        mic_icon.setPixmap(icon("mic", "#8b93a7").pixmap(QSize(16, 16)))

        layout.addWidget(self.talk_button)
        layout.addWidget(self.record_button)
        layout.addWidget(self.hands_free_button)
        layout.addWidget(self.state_label)
        layout.addWidget(self.meter, 1, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(mic_icon)
        layout.addWidget(self.mic_picker)

        self._recording = False
        self._live = False
        self._talking = False
        self._problem = ""
        self.set_live(False)

    # --- state from the services -------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self._recording

    @property
    def talking(self) -> bool:
        return self._talking

    def set_live(self, live: bool) -> None:
        """Voice goes to the avatar only during a live session."""
        self._live = live
        for widget in (self.talk_button, self.record_button, self.hands_free_button):
            widget.setEnabled(live)
        self.meter.setEnabled(live)
        if not live:
            self._set_recording(False)
            self._talking = False
            set_variant(self.talk_button, "active", "false")
            self.meter.reset()
            self.set_voice_state("idle")

    def show_problem(self, text: str) -> None:
        """A microphone problem stays visible until audio flows again."""
        self._problem = text
        self.state_label.setText(text)
        set_variant(self.state_label, "kind", "error")

    @Slot(str)
    def set_voice_state(self, state: str) -> None:
        if self._problem and state in ("idle", "sending"):
            return
        self._problem = ""
        shown = "ready" if state == "idle" and self._live else state
        self.state_label.setText(STATE_TEXT.get(shown, shown))
        set_variant(self.state_label, "kind", shown)
        if state != "recording" and self._recording and state in ("idle", "listening"):
            # A capped or failed take ended the recording on its own.
            self._set_recording(False)

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
        """Start a hold-to-talk take (mouse press or Space down)."""
        if not self._live or self._talking:
            return
        self._talking = True
        set_variant(self.talk_button, "active", "true")
        self.talk_pressed.emit()

    @Slot()
    def end_talk(self) -> None:
        if not self._talking:
            return
        self._talking = False
        set_variant(self.talk_button, "active", "false")
        self.talk_released.emit()

    @Slot()
    def _on_talk_pressed(self) -> None:
        self.begin_talk()

    @Slot()
    def _on_talk_released(self) -> None:
        self.end_talk()

    @Slot()
    def _on_record_clicked(self) -> None:
        if not self._live:
            return
        self._set_recording(not self._recording)
        self.record_toggled.emit(self._recording)

    @Slot(bool)
    def _on_hands_free_toggled(self, on: bool) -> None:
        self.hands_free_toggled.emit(on)

    @Slot(int)
    def _on_mic_activated(self, index: int) -> None:
        self.microphone_chosen.emit(str(self.mic_picker.itemData(index) or ""))

    def _set_recording(self, on: bool) -> None:
        self._recording = on
        self.record_button.setText("Stop & send" if on else "Record")
        self.record_button.setIcon(icon("stop-record" if on else "record", DANGER))
        set_variant(self.record_button, "active", "true" if on else "false")
