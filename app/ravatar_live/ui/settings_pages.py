"""The settings dialog's pages (Session, Voice, Keys & look, Connection): the fields, their labels,
accessible names and hints, and a message line under every field whose value can be wrong.

`SettingsPages` only builds; `SettingsDialog` (settings_dialog.py) loads, checks and reads them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSlider,
    QSpinBox,
    QWidget,
)

from ravatar_live.api.ids import PROJECT_ID
from ravatar_live.audio.capture import AudioDevice
from ravatar_live.settings import (
    DEFAULT_PUSH_TO_TALK_KEY,
    MAX_STREAM_HEIGHT,
    MAX_STREAM_WIDTH,
    RESOLUTION_PRESETS,
    StreamPlayerChoice,
    TurnPatience,
    VoiceMode,
    VoiceRoute,
)
from ravatar_live.ui.key_capture import KeyCaptureButton, check_global_push_to_talk_key

VOICE_MODE_LABELS: dict[VoiceMode, str] = {
    "push-to-talk": "Hold to talk",
    "vad": "Hands-free (voice activity)",
    "record": "Record and send",
}
TURN_PATIENCE_LABELS: dict[TurnPatience, str] = {
    "quick": "Quick",
    "balanced": "Balanced",
    "patient": "Patient",
}
THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
PLAYER_LABELS: dict[StreamPlayerChoice, str] = {
    "auto": "Automatic (recommended)",
    "web": "Built-in browser (RAVATAR's page)",
    "native": "The app's own player",
}
VOICE_ROUTE_LABELS: dict[VoiceRoute, str] = {
    "app": "App microphone (PCM over WebSocket)",
    "page": "Stream page microphone (WebRTC)",
}
CUSTOM = "custom"
#: Offered when push-to-talk in any window is first switched on: no app types with it.
DEFAULT_GLOBAL_KEY = "F9"


class SettingsPages(QDialog):
    """Builds the pages; `_fields` maps each checked setting to (input, message, description)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, tuple[QWidget, QLabel, str]] = {}
        self._devices: list[AudioDevice] = []
        self._sign_in_note = ""
        self._turn_note = ""
        self._global_key_note = ""  # whether push-to-talk in any window can work here
        self._speakers: list[AudioDevice] = []

    def _scrolling(self, page: QWidget) -> QScrollArea:
        """The page in a scroll area: a small dialog scrolls instead of clipping (sideways too,
        for what cannot wrap, like the user id)."""
        area = QScrollArea(self)
        area.setObjectName("SettingsPage")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        page.setObjectName("SettingsPageBody")
        area.setWidget(page)
        return area

    def _form(self) -> tuple[QWidget, QFormLayout]:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(8)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        return page, form

    def _hint(self, text: str, parent: QWidget) -> QLabel:
        hint = QLabel(text, parent)
        hint.setObjectName("Hint")
        hint.setWordWrap(True)
        return hint

    def _checked_field(self, form: QFormLayout, label: str, field: QWidget | QHBoxLayout, *,
                       inputs: dict[str, QWidget], description: str) -> None:
        """A form row whose value can be wrong (`inputs`: setting name -> its input), with a
        message line under it."""
        form.addRow(label, field)
        message = QLabel("", form.parentWidget())
        message.setObjectName("FieldError")
        message.setWordWrap(True)
        message.hide()
        form.addRow("", message)
        for name, widget in inputs.items():
            widget.setAccessibleDescription(description)
            self._fields[name] = (widget, message, description)

    def _build_session_tab(self) -> QWidget:
        page, form = self._form()
        self.preset_combo = QComboBox(page)
        for width, height in RESOLUTION_PRESETS:
            self.preset_combo.addItem(f"{width} × {height}", f"{width}x{height}")
        self.preset_combo.addItem("Custom…", CUSTOM)
        self.preset_combo.setAccessibleName("Resolution")
        self.preset_combo.setAccessibleDescription("The avatar's video size")
        self.width_edit = QLineEdit(page)
        self.width_edit.setAccessibleName("Stream width")
        self.width_edit.setPlaceholderText(f"1–{MAX_STREAM_WIDTH}")
        self.height_edit = QLineEdit(page)
        self.height_edit.setAccessibleName("Stream height")
        self.height_edit.setPlaceholderText(f"1–{MAX_STREAM_HEIGHT}")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_edit)
        size_row.addWidget(QLabel("×", page))
        size_row.addWidget(self.height_edit)
        size_row.addWidget(QLabel("px", page))
        self.avatar_combo = QComboBox(page)
        self.avatar_combo.setAccessibleName("Avatar")
        self.avatar_combo.setAccessibleDescription("The avatar a new session starts with")
        self.language_combo = QComboBox(page)
        self.language_combo.setAccessibleName("Language")
        self.language_combo.setAccessibleDescription("The conversation's language")
        form.addRow("Resolution", self.preset_combo)
        self._checked_field(form, "Size", size_row,
                            inputs={"stream_width": self.width_edit,
                                    "stream_height": self.height_edit},
                            description=f"Width 1 to {MAX_STREAM_WIDTH}, height 1 to "
                            f"{MAX_STREAM_HEIGHT} pixels (custom size only)")
        form.addRow("", self._hint(f"Up to {MAX_STREAM_WIDTH} × {MAX_STREAM_HEIGHT}. Applies "
                                   "at the next session start (the app offers to restart a "
                                   "running one).", page))
        self.player_combo = QComboBox(page)
        for choice, label in PLAYER_LABELS.items():
            self.player_combo.addItem(label, choice)
        self.player_combo.setAccessibleName("Stream player")
        self.player_combo.setToolTip(
            "The built-in browser shows RAVATAR's own page but cannot play H.264 video, which "
            "avatar streams usually send; the app's own player plays H.264 and VP8. Automatic "
            "uses what worked last time and switches by itself.")
        self.player_combo.setAccessibleDescription(self.player_combo.toolTip())
        self.speaker_combo = QComboBox(page)
        self.speaker_combo.setAccessibleName("Speaker")
        self.speaker_combo.setAccessibleDescription(
            "Where the app's own player plays the avatar's voice (the built-in browser uses "
            "the system's default)")
        self.speaker_combo.addItem("System default", "")
        for device in self._speakers:
            self.speaker_combo.addItem(device.name, device.id)
        form.addRow("Avatar", self.avatar_combo)
        form.addRow("Language", self.language_combo)
        form.addRow("Stream player", self.player_combo)
        form.addRow("Speaker", self.speaker_combo)
        return page

    def _build_voice_tab(self) -> QWidget:
        page, form = self._form()
        self.voice_mode_combo = QComboBox(page)
        for mode, label in VOICE_MODE_LABELS.items():
            self.voice_mode_combo.addItem(label, mode)
        self.voice_mode_combo.setAccessibleName("Voice mode at session start")
        self.voice_mode_combo.setAccessibleDescription("How you talk when a session starts")
        self.sensitivity_slider = QSlider(Qt.Orientation.Horizontal, page)
        self.sensitivity_slider.setRange(5, 95)
        self.sensitivity_slider.setAccessibleName("Hands-free sensitivity")
        self.sensitivity_slider.setToolTip("Higher: reacts to quieter speech (and more noise)")
        self.sensitivity_slider.setAccessibleDescription(self.sensitivity_slider.toolTip())
        self.hangover_spin = QSpinBox(page)
        self.hangover_spin.setRange(100, 3000)
        self.hangover_spin.setSingleStep(50)
        self.hangover_spin.setSuffix(" ms")
        self.hangover_spin.setAccessibleName("Pause that ends a hands-free take")
        self.hangover_spin.setAccessibleDescription(
            "How long you must be silent before hands-free sends what you said, when the "
            "end-of-turn model is not available")
        self.turn_combo = QComboBox(page)
        for patience, label in TURN_PATIENCE_LABELS.items():
            self.turn_combo.addItem(label, patience)
        self.turn_combo.setAccessibleName("Wait for me to finish")
        self.turn_combo.setToolTip(
            "When you pause, a model judges whether your sentence sounds finished. Quick "
            "answers sooner, Patient waits longer through pauses in the middle of a sentence.")
        self.turn_combo.setAccessibleDescription(self.turn_combo.toolTip())
        self.turn_note_label = QLabel(self._turn_note, page)
        self.turn_note_label.setObjectName("Hint")
        self.turn_note_label.setWordWrap(True)
        self.turn_note_label.setAccessibleName("End-of-turn model status")
        self.turn_note_label.setVisible(bool(self._turn_note))
        self.mic_combo = QComboBox(page)
        self.mic_combo.setAccessibleName("Microphone")
        self.mic_combo.setAccessibleDescription("The microphone the app listens to")
        self.mic_combo.addItem("System default", "")
        for device in self._devices:
            self.mic_combo.addItem(device.name, device.id)
        self.pcm_check = QCheckBox("Stream my speech while I talk", page)
        self.pcm_check.setAccessibleName("Stream my speech while I talk")
        self.pcm_check.setToolTip("On: 16 kHz PCM chunks go out as you speak (lowest delay). "
                                  "Off: each take is sent as one WAV file when it ends.")
        self.pcm_check.setAccessibleDescription(self.pcm_check.toolTip())
        self.voice_route_combo = QComboBox(page)
        for route, label in VOICE_ROUTE_LABELS.items():
            self.voice_route_combo.addItem(label, route)
        self.voice_route_combo.setAccessibleName("Voice route")
        self.voice_route_combo.setToolTip(
            "App microphone: the app sends your voice over its own connection (the default). "
            "Stream page microphone: the avatar's stream takes the microphone over WebRTC "
            "instead; only the stream's own site gets it, and only while you talk.")
        self.voice_route_combo.setAccessibleDescription(self.voice_route_combo.toolTip())
        self.echo_check = QCheckBox("Cancel the avatar's echo", page)
        self.echo_check.setAccessibleName("Cancel the avatar's echo")
        self.echo_check.setToolTip(
            "On: the avatar's voice from your speakers is removed from the microphone, so "
            "hands-free never answers itself and you can talk over the avatar. Where the "
            "avatar's sound cannot be followed, hands-free then needs you to speak up while "
            "the avatar talks. Off: use headphones.")
        self.echo_check.setAccessibleDescription(self.echo_check.toolTip())
        self.noise_check = QCheckBox("Suppress background noise", page)
        self.noise_check.setAccessibleName("Suppress background noise")
        self.noise_check.setToolTip("Steady noise (fans, hum) is reduced before your voice is "
                                    "detected and sent.")
        self.noise_check.setAccessibleDescription(self.noise_check.toolTip())
        form.addRow("Start in", self.voice_mode_combo)
        form.addRow("Sensitivity", self.sensitivity_slider)
        form.addRow("End of speech after", self.hangover_spin)
        form.addRow("Wait for me to finish", self.turn_combo)
        form.addRow("", self.turn_note_label)
        form.addRow("Microphone", self.mic_combo)
        form.addRow("", self.pcm_check)
        form.addRow("Voice goes through", self.voice_route_combo)
        form.addRow("", self.echo_check)
        form.addRow("", self.noise_check)
        return page

    def _build_keys_tab(self) -> QWidget:
        page, form = self._form()
        self.theme_combo = QComboBox(page)
        for choice, label in THEME_LABELS.items():
            self.theme_combo.addItem(label, choice)
        self.theme_combo.setAccessibleName("Look")
        self.theme_combo.setAccessibleDescription(
            "Light or dark; following the system switches with your desktop")
        self.key_button = KeyCaptureButton(DEFAULT_PUSH_TO_TALK_KEY, page)
        self.key_button.setAccessibleDescription(
            "Press, then press the key you want to hold to talk. It works wherever the "
            "focused control has no use for it.")
        form.addRow("Look", self.theme_combo)
        self._checked_field(form, "Push-to-talk key", self.key_button,
                            inputs={"push_to_talk_key": self.key_button},
                            description=self.key_button.accessibleDescription())
        form.addRow("", self._hint("Space is the default: it talks while the avatar's "
                                   "stream has the focus, and presses a focused button "
                                   "otherwise. A key such as F2 talks from anywhere.", page))
        self._add_global_key_rows(page, form)
        return page

    def _add_global_key_rows(self, page: QWidget, form: QFormLayout) -> None:
        """Push-to-talk while another app has the focus: on/off, the key, and whether it can
        work on this desktop (and if not, why)."""
        self.global_key_check = QCheckBox("Hold a key to talk while another app has the focus",
                                          page)
        self.global_key_check.setAccessibleName("Push-to-talk in any window")
        self.global_key_check.setToolTip(
            "Off by default. When on, the key below starts and ends a take from any app, the "
            "way the Hold to talk button does.")
        self.global_key_check.setAccessibleDescription(self.global_key_check.toolTip())
        self.global_key_button = KeyCaptureButton(
            DEFAULT_GLOBAL_KEY, page, name="Push-to-talk key in any window",
            check=check_global_push_to_talk_key)
        self.global_key_button.setAccessibleDescription(
            "Press, then press the key to hold in any app, such as F9 or Ctrl+Alt+T")
        self.global_key_status = QLabel(self._global_key_note, page)
        self.global_key_status.setObjectName("Hint")
        self.global_key_status.setWordWrap(True)
        self.global_key_status.setAccessibleName("Push-to-talk in any window status")
        form.addRow("In any window", self.global_key_check)
        self._checked_field(form, "Key in any window", self.global_key_button,
                            inputs={"global_push_to_talk_key": self.global_key_button},
                            description=self.global_key_button.accessibleDescription())
        form.addRow("", self.global_key_status)

    def _build_connection_tab(self, demo: bool) -> QWidget:
        page, form = self._form()
        self.project_edit = QLineEdit(page)
        self.project_edit.setPlaceholderText("empty: demo mode (built-in simulator)")
        self.project_edit.setAccessibleName("Project id")
        self.api_edit = QLineEdit(page)
        self.api_edit.setAccessibleName("API URL")
        self.ws_edit = QLineEdit(page)
        self.ws_edit.setPlaceholderText("derived from the API URL")
        self.ws_edit.setAccessibleName("WebSocket URL")
        # Read-only but selectable and copyable; it scrolls inside itself when the dialog is
        # narrow, where a label would be cut (an id cannot wrap).
        self.user_field = QLineEdit(page)
        self.user_field.setReadOnly(True)
        self.user_field.setAccessibleName("User id")
        self.user_field.setAccessibleDescription("Who you are to RAVATAR; made once and kept")
        self._checked_field(form, "Project id", self.project_edit,
                            inputs={"project_id": self.project_edit},
                            description=f"{PROJECT_ID.shape}; empty for demo mode")
        self._checked_field(form, "API URL", self.api_edit, inputs={"api_url": self.api_edit},
                            description="The RAVATAR service's address, starting with https://")
        self._checked_field(form, "WebSocket URL", self.ws_edit,
                            inputs={"ws_url": self.ws_edit},
                            description="Starts with wss:// or ws://; empty to derive it from "
                            "the API URL")
        form.addRow("User id", self.user_field)
        self.plain_http_check = QCheckBox("Allow unencrypted sign-in (http:// to another "
                                          "computer)", page)
        self.plain_http_check.setAccessibleName("Allow unencrypted sign-in")
        self.plain_http_check.setToolTip(
            "Warning: with an http:// or ws:// address on another computer, your sign-in "
            "token crosses the network unencrypted and anyone on the way can use it. Leave "
            "this off unless you trust every network in between; this computer "
            "(127.0.0.1) is always allowed.")
        self.plain_http_check.setAccessibleDescription(self.plain_http_check.toolTip())
        form.addRow("", self.plain_http_check)
        form.addRow("", self._hint("Off (recommended): the app refuses to send your sign-in "
                                   "unencrypted to another computer.", page))
        # Where the JWT lives (keychain, or memory only when there is none): the user should know.
        self.sign_in_label = QLabel(self._sign_in_note, page)
        self.sign_in_label.setObjectName("Hint")
        self.sign_in_label.setWordWrap(True)
        self.sign_in_label.setAccessibleName("Where sign-in is kept")
        form.addRow("Sign-in", self.sign_in_label)
        form.addRow("", self._hint("Changes here reconnect the app." + (
            " This run is in demo mode (--demo)." if demo else ""), page))
        return page

