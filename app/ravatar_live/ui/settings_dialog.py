"""The settings dialog: resolution, service, avatar and language, voice, microphone, permissions.

Values are checked when the user presses Save; an unacceptable one keeps the dialog open with a
message next to the buttons and the field marked. The dialog never saves by itself: the window
reads `result_settings()` after `accept`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.api.models import AvatarInfo, LanguageInfo
from ravatar_live.audio.capture import AudioDevice
from ravatar_live.settings import (
    MAX_STREAM_HEIGHT,
    MAX_STREAM_WIDTH,
    RESOLUTION_PRESETS,
    Settings,
    SettingsError,
    TurnPatience,
    VoiceMode,
    parse_dimension,
)
from ravatar_live.ui.theme import set_variant

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
CUSTOM = "custom"


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, *, avatars: Sequence[AvatarInfo] = (),
                 languages: Sequence[LanguageInfo] = (), devices: Sequence[AudioDevice] = (),
                 demo: bool = False, sign_in_note: str = "", turn_note: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setModal(True)
        self.setMinimumWidth(520)
        self._original = settings
        self._result: Settings | None = None
        self._avatars = list(avatars)
        self._languages = list(languages)
        self._devices = list(devices)
        self._sign_in_note = sign_in_note
        self._turn_note = turn_note  # why the end-of-turn model is not in use; empty when it is

        tabs = QTabWidget(self)
        tabs.addTab(self._build_session_tab(), "Session")
        tabs.addTab(self._build_voice_tab(), "Voice")
        tabs.addTab(self._build_connection_tab(demo), "Connection")
        self.tabs = tabs

        self.error_label = QLabel("", self)
        self.error_label.setObjectName("FieldError")
        self.error_label.setWordWrap(True)
        self.error_label.setAccessibleName("Settings error")
        self.error_label.hide()

        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setDefault(True)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.reset_button = QPushButton("Reset to defaults", self)
        self.reset_button.setToolTip("Fill every field with its default (saved on Save)")
        buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.save_button.clicked.connect(self._on_save)
        self.cancel_button.clicked.connect(self.reject)
        self.reset_button.clicked.connect(self._on_reset)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(12)
        layout.addWidget(tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        set_variant(self.save_button, "variant", "primary")
        self._load(settings)

    # --- building ----------------------------------------------------------------------------
    def _build_session_tab(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        self.preset_combo = QComboBox(page)
        for width, height in RESOLUTION_PRESETS:
            self.preset_combo.addItem(f"{width} × {height}", f"{width}x{height}")
        self.preset_combo.addItem("Custom…", CUSTOM)
        self.preset_combo.setAccessibleName("Resolution preset")
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
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
        hint = QLabel(f"Up to {MAX_STREAM_WIDTH} × {MAX_STREAM_HEIGHT}. Applies at the next "
                      "session start (the app offers to restart a running one).", page)
        hint.setObjectName("Hint")
        hint.setWordWrap(True)
        self.avatar_combo = QComboBox(page)
        self.avatar_combo.setAccessibleName("Avatar")
        self.language_combo = QComboBox(page)
        self.language_combo.setAccessibleName("Language")
        form.addRow("Resolution", self.preset_combo)
        form.addRow("Size", size_row)
        form.addRow("", hint)
        form.addRow("Avatar", self.avatar_combo)
        form.addRow("Language", self.language_combo)
        return page

    def _build_voice_tab(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        self.voice_mode_combo = QComboBox(page)
        for mode, label in VOICE_MODE_LABELS.items():
            self.voice_mode_combo.addItem(label, mode)
        self.voice_mode_combo.setAccessibleName("Voice mode at session start")
        self.sensitivity_slider = QSlider(Qt.Orientation.Horizontal, page)
        self.sensitivity_slider.setRange(5, 95)
        self.sensitivity_slider.setAccessibleName("Hands-free sensitivity")
        self.sensitivity_slider.setToolTip("Higher: reacts to quieter speech (and more noise)")
        self.hangover_spin = QSpinBox(page)
        self.hangover_spin.setRange(100, 3000)
        self.hangover_spin.setSingleStep(50)
        self.hangover_spin.setSuffix(" ms")
        self.hangover_spin.setAccessibleName("Pause that ends a hands-free take")
        self.hangover_spin.setToolTip("Used when the end-of-turn model is not available")
        self.turn_combo = QComboBox(page)
        for patience, label in TURN_PATIENCE_LABELS.items():
            self.turn_combo.addItem(label, patience)
        self.turn_combo.setAccessibleName("Wait for me to finish")
        self.turn_combo.setToolTip(
            "When you pause, a model judges whether your sentence sounds finished. Quick "
            "answers sooner, Patient waits longer through pauses in the middle of a sentence.")
        self.turn_note_label = QLabel(self._turn_note, page)
        self.turn_note_label.setObjectName("Hint")
        self.turn_note_label.setWordWrap(True)
        self.turn_note_label.setAccessibleName("End-of-turn model status")
        self.turn_note_label.setVisible(bool(self._turn_note))
        self.mic_combo = QComboBox(page)
        self.mic_combo.setAccessibleName("Microphone")
        self.mic_combo.addItem("System default", "")
        for device in self._devices:
            self.mic_combo.addItem(device.name, device.id)
        self.pcm_check = QCheckBox("Stream my speech while I talk", page)
        self.pcm_check.setAccessibleName("Stream takes as PCM")
        self.pcm_check.setToolTip("On: 16 kHz PCM chunks go out as you speak (lowest delay). "
                                  "Off: each take is sent as one WAV file when it ends.")
        self.page_mic_check = QCheckBox("Let the stream page use the microphone", page)
        self.page_mic_check.setAccessibleName("Allow the stream page's microphone")
        self.page_mic_check.setToolTip(
            "Off by default: the app sends your voice over its own connection. When on, only "
            "the stream's own site may use the microphone.")
        form.addRow("Start in", self.voice_mode_combo)
        form.addRow("Sensitivity", self.sensitivity_slider)
        form.addRow("End of speech after", self.hangover_spin)
        form.addRow("Wait for me to finish", self.turn_combo)
        form.addRow("", self.turn_note_label)
        form.addRow("Microphone", self.mic_combo)
        form.addRow("", self.pcm_check)
        form.addRow("", self.page_mic_check)
        return page

    def _build_connection_tab(self, demo: bool) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        self.project_edit = QLineEdit(page)
        self.project_edit.setPlaceholderText("empty: demo mode (built-in simulator)")
        self.project_edit.setAccessibleName("Project id")
        self.api_edit = QLineEdit(page)
        self.api_edit.setAccessibleName("API URL")
        self.ws_edit = QLineEdit(page)
        self.ws_edit.setPlaceholderText("derived from the API URL")
        self.ws_edit.setAccessibleName("WebSocket URL")
        self.user_label = QLabel(page)
        self.user_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.user_label.setAccessibleName("User id")
        note = QLabel("Changes here reconnect the app." + (
            " This run is in demo mode (--demo)." if demo else ""), page)
        note.setObjectName("Hint")
        note.setWordWrap(True)
        form.addRow("Project id", self.project_edit)
        form.addRow("API URL", self.api_edit)
        form.addRow("WebSocket URL", self.ws_edit)
        form.addRow("User id", self.user_label)
        # Where the JWT lives (keychain, or memory only when there is none): the user should know.
        self.sign_in_label = QLabel(self._sign_in_note, page)
        self.sign_in_label.setObjectName("Hint")
        self.sign_in_label.setWordWrap(True)
        self.sign_in_label.setAccessibleName("Where sign-in is kept")
        form.addRow("Sign-in", self.sign_in_label)
        form.addRow("", note)
        return page

    # --- loading and reading -----------------------------------------------------------------
    def _load(self, s: Settings) -> None:
        preset = f"{s.stream_width}x{s.stream_height}"
        index = self.preset_combo.findData(preset)
        self.preset_combo.setCurrentIndex(index if index >= 0 else
                                          self.preset_combo.findData(CUSTOM))
        self.width_edit.setText(str(s.stream_width))
        self.height_edit.setText(str(s.stream_height))
        self._on_preset_changed(self.preset_combo.currentIndex())
        self._fill_avatars(s.avatar_id)
        self._fill_languages(s.language)
        self.voice_mode_combo.setCurrentIndex(max(0, self.voice_mode_combo.findData(
            s.voice_mode)))
        self.sensitivity_slider.setValue(round(s.vad_sensitivity * 100))
        self.hangover_spin.setValue(s.vad_hangover_ms)
        self.turn_combo.setCurrentIndex(max(0, self.turn_combo.findData(s.turn_patience)))
        self.mic_combo.setCurrentIndex(max(0, self.mic_combo.findData(s.microphone_id)))
        self.pcm_check.setChecked(s.stream_takes_as_pcm)
        self.page_mic_check.setChecked(s.allow_stream_page_microphone)
        self.project_edit.setText(s.project_id)
        self.api_edit.setText(s.api_url)
        self.ws_edit.setText(s.ws_url)
        self.user_label.setText(s.user_id or "(generated at first start)")

    def _fill_avatars(self, current: str) -> None:
        self.avatar_combo.clear()
        self.avatar_combo.addItem("First available", "")
        for avatar in self._avatars:
            label = avatar.name if avatar.has_live_mode else f"{avatar.name} (no live mode)"
            self.avatar_combo.addItem(label, avatar.id)
        if current and self.avatar_combo.findData(current) < 0:
            self.avatar_combo.addItem(f"{current} (not offered now)", current)
        self.avatar_combo.setCurrentIndex(max(0, self.avatar_combo.findData(current)))

    def _fill_languages(self, current: str) -> None:
        self.language_combo.clear()
        for language in self._languages:
            self.language_combo.addItem(f"{language.name} ({language.code})", language.code)
        if self.language_combo.findData(current) < 0:
            self.language_combo.addItem(current or "en", current or "en")
        self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(current)))

    def _read(self) -> Settings:
        """The settings the fields describe; SettingsError for the first bad one."""
        self._mark(self.width_edit, False)
        self._mark(self.height_edit, False)
        try:
            width = parse_dimension(self.width_edit.text(), "Width", MAX_STREAM_WIDTH)
        except SettingsError:
            self._mark(self.width_edit, True)
            raise
        try:
            height = parse_dimension(self.height_edit.text(), "Height", MAX_STREAM_HEIGHT)
        except SettingsError:
            self._mark(self.height_edit, True)
            raise
        candidate = self._original.replace(
            stream_width=width, stream_height=height,
            avatar_id=str(self.avatar_combo.currentData() or ""),
            language=str(self.language_combo.currentData() or "en"),
            voice_mode=str(self.voice_mode_combo.currentData()),
            vad_sensitivity=self.sensitivity_slider.value() / 100,
            vad_hangover_ms=self.hangover_spin.value(),
            turn_patience=str(self.turn_combo.currentData()),
            microphone_id=str(self.mic_combo.currentData() or ""),
            stream_takes_as_pcm=self.pcm_check.isChecked(),
            allow_stream_page_microphone=self.page_mic_check.isChecked(),
            project_id=self.project_edit.text().strip(),
            api_url=self.api_edit.text().strip(),
            ws_url=self.ws_edit.text().strip(),
        )
        return candidate.validate()

    def result_settings(self) -> Settings:
        """The accepted settings (the original ones when the dialog was cancelled)."""
        return self._result or self._original

    # --- actions -----------------------------------------------------------------------------
    @Slot()
    def _on_save(self) -> None:
        try:
            self._result = self._read()
        except SettingsError as exc:
            self.error_label.setText(exc.user_message)
            self.error_label.show()
            return
        self.error_label.hide()
        self.accept()

    @Slot()
    def _on_reset(self) -> None:
        self._load(Settings(user_id=self._original.user_id))
        self.error_label.hide()

    @Slot(int)
    def _on_preset_changed(self, index: int) -> None:
        data = str(self.preset_combo.itemData(index))
        custom = data == CUSTOM
        self.width_edit.setReadOnly(not custom)
        self.height_edit.setReadOnly(not custom)
        if not custom:
            width, height = data.split("x")
            self.width_edit.setText(width)
            self.height_edit.setText(height)
            self._mark(self.width_edit, False)
            self._mark(self.height_edit, False)

    @staticmethod
    def _mark(edit: QLineEdit, invalid: bool) -> None:
        set_variant(edit, "invalid", "true" if invalid else "false")
