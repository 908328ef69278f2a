"""The settings dialog: resolution, avatar and language, voice, keys and look, connection.

Every field is checked as it is typed: each bad field gets its own message under it and a red
edge, all at once, and the message goes the moment the field is fixed (or a preset replaces
it). Save with a bad field keeps the dialog open and moves to the first one. Each tab scrolls
when the dialog is smaller than its content, and the dialog opens large enough to show all of
it. The dialog never saves by itself: the window reads `result_settings()` after `accept`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.api.models import AvatarInfo, LanguageInfo
from ravatar_live.audio.capture import AudioDevice
from ravatar_live.settings import (
    MAX_STREAM_HEIGHT,
    MAX_STREAM_WIDTH,
    Settings,
    SettingsError,
    parse_dimension,
)
from ravatar_live.ui.settings_pages import CUSTOM, DEFAULT_GLOBAL_KEY, SettingsPages
from ravatar_live.ui.theme import set_variant


class SettingsDialog(SettingsPages):
    def __init__(self, settings: Settings, *, avatars: Sequence[AvatarInfo] = (),
                 languages: Sequence[LanguageInfo] = (), devices: Sequence[AudioDevice] = (),
                 speakers: Sequence[AudioDevice] = (), demo: bool = False,
                 sign_in_note: str = "", turn_note: str = "", global_key_note: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setModal(True)
        self._original = settings
        self._result: Settings | None = None
        self._avatars = list(avatars)
        self._languages = list(languages)
        self._devices = list(devices)
        self._speakers = list(speakers)
        self._sign_in_note = sign_in_note
        self._turn_note = turn_note  # why the end-of-turn model is not in use; empty when it is
        self._global_key_note = global_key_note
        self._loading = False

        tabs = QTabWidget(self)
        tabs.addTab(self._scrolling(self._build_session_tab()), "Session")
        tabs.addTab(self._scrolling(self._build_voice_tab()), "Voice")
        tabs.addTab(self._scrolling(self._build_keys_tab()), "Keys && look")
        tabs.addTab(self._scrolling(self._build_connection_tab(demo)), "Connection")
        self.tabs = tabs
        self._describe_tabs()
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        self.key_button.refused.connect(self._on_key_refused)
        self.key_button.key_changed.connect(self._on_key_changed)
        self.global_key_button.refused.connect(self._on_global_key_refused)
        self.global_key_button.key_changed.connect(self._on_key_changed)
        self.global_key_check.toggled.connect(self._on_global_key_toggled)

        self.error_label = QLabel("", self)
        self.error_label.setObjectName("FieldError")
        self.error_label.setWordWrap(True)
        self.error_label.setAccessibleName("Settings problems")
        self.error_label.hide()

        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setDefault(True)
        self.save_button.setAccessibleDescription("Saves the settings and closes")
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleDescription("Closes without saving")
        self.reset_button = QPushButton("Reset to defaults", self)
        self.reset_button.setToolTip("Fill every field with its default (saved on Save)")
        self.reset_button.setAccessibleDescription(self.reset_button.toolTip())
        buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.save_button.clicked.connect(self._on_save)
        self.cancel_button.clicked.connect(self.reject)
        self.reset_button.clicked.connect(self._on_reset)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(12)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        set_variant(self.save_button, "variant", "primary")
        self._load(settings)
        self._watch_fields()
        self._fit_to_content()

    # --- building ----------------------------------------------------------------------------
    def _describe_tabs(self) -> None:
        bar = self.tabs.tabBar()
        bar.setAccessibleName("Settings pages")
        for index, about in enumerate(("The stream's size, the avatar and the language",
                                       "How you talk to the avatar",
                                       "The look and the push-to-talk key",
                                       "The service's address and where sign-in is kept")):
            self.tabs.setTabToolTip(index, about)  # also what a screen reader says of the tab
        for arrow in bar.findChildren(QToolButton):  # shown when the tabs do not all fit
            arrow.setAccessibleDescription("Shows the settings pages that do not fit")

    def _fit_to_content(self) -> None:
        """Open large enough for the biggest tab (within the screen); smaller still works."""
        self.ensurePolished()  # measured in the style sheet's fonts and paddings
        hints = [page.sizeHint() for page in self._pages()]
        widest = max(h.width() for h in hints)
        tallest = max(h.height() for h in hints)
        around_tabs = self.sizeHint() - self.tabs.sizeHint()  # margins, errors, buttons
        first = self.tabs.widget(0)  # a page's scroll area, as the tab widget measured it
        around_page = self.tabs.sizeHint() - (first.sizeHint() if first is not None else QSize())
        width = max(560, widest + around_page.width() + around_tabs.width() + 24)
        height = tallest + around_page.height() + around_tabs.height() + 24
        screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        self.setMinimumSize(360, 320)
        self.resize(min(width, screen.width() - 40), min(height, screen.height() - 60))

    # --- loading and reading -----------------------------------------------------------------
    def _load(self, s: Settings) -> None:
        self._loading = True
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
        self.player_combo.setCurrentIndex(max(0, self.player_combo.findData(s.stream_player)))
        if s.speaker_id and self.speaker_combo.findData(s.speaker_id) < 0:
            self.speaker_combo.addItem("Not connected now", s.speaker_id)  # kept, not lost
        self.speaker_combo.setCurrentIndex(max(0, self.speaker_combo.findData(s.speaker_id)))
        self.mic_combo.setCurrentIndex(max(0, self.mic_combo.findData(s.microphone_id)))
        self.pcm_check.setChecked(s.stream_takes_as_pcm)
        self.voice_route_combo.setCurrentIndex(max(0, self.voice_route_combo.findData(
            s.voice_route)))
        self.plain_http_check.setChecked(s.allow_plain_http_token)
        self.echo_check.setChecked(s.echo_cancellation)
        self.noise_check.setChecked(s.noise_suppression)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(s.theme)))
        self.key_button.set_key(s.push_to_talk_key)
        self.global_key_check.setChecked(bool(s.global_push_to_talk_key))
        self.global_key_button.set_key(s.global_push_to_talk_key or DEFAULT_GLOBAL_KEY)
        self.global_key_button.setEnabled(bool(s.global_push_to_talk_key))
        self.project_edit.setText(s.project_id)
        self.api_edit.setText(s.api_url)
        self.ws_edit.setText(s.ws_url)
        self.user_field.setText(s.user_id or "(made at first start)")
        self._loading = False

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

    def problems(self) -> dict[str, str]:
        """Field name -> what is wrong with it, for every field the user must fix."""
        found: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for name, edit, label, maximum in (
                ("stream_width", self.width_edit, "Width", MAX_STREAM_WIDTH),
                ("stream_height", self.height_edit, "Height", MAX_STREAM_HEIGHT)):
            try:
                sizes[name] = parse_dimension(edit.text(), label, maximum)
            except SettingsError as exc:
                found[name] = exc.user_message
        candidate = self._candidate(sizes.get("stream_width", self._original.stream_width),
                                    sizes.get("stream_height", self._original.stream_height))
        for name, why in candidate.problems().items():
            found.setdefault(name, why)
        return found

    def _candidate(self, width: int, height: int) -> Settings:
        return self._original.replace(
            stream_width=width, stream_height=height,
            avatar_id=str(self.avatar_combo.currentData() or ""),
            language=str(self.language_combo.currentData() or "en"),
            voice_mode=str(self.voice_mode_combo.currentData()),
            vad_sensitivity=self.sensitivity_slider.value() / 100,
            vad_hangover_ms=self.hangover_spin.value(),
            turn_patience=str(self.turn_combo.currentData()),
            stream_player=str(self.player_combo.currentData() or "auto"),
            speaker_id=str(self.speaker_combo.currentData() or ""),
            microphone_id=str(self.mic_combo.currentData() or ""),
            stream_takes_as_pcm=self.pcm_check.isChecked(),
            voice_route=str(self.voice_route_combo.currentData() or "app"),
            allow_plain_http_token=self.plain_http_check.isChecked(),
            echo_cancellation=self.echo_check.isChecked(),
            noise_suppression=self.noise_check.isChecked(),
            theme=str(self.theme_combo.currentData() or "system"),
            push_to_talk_key=self.key_button.key,
            global_push_to_talk_key=(self.global_key_button.key
                                     if self.global_key_check.isChecked() else ""),
            project_id=self.project_edit.text().strip(),
            api_url=self.api_edit.text().strip(),
            ws_url=self.ws_edit.text().strip(),
        )

    def result_settings(self) -> Settings:
        """The accepted settings (the original ones when the dialog was cancelled)."""
        return self._result or self._original

    # --- checking as the user types ----------------------------------------------------------
    def _watch_fields(self) -> None:
        for edit in (self.width_edit, self.height_edit, self.project_edit, self.api_edit,
                     self.ws_edit):
            edit.textChanged.connect(self._revalidate)
        self._revalidate()

    @Slot()
    def _revalidate(self) -> dict[str, str]:
        """Show a message under every bad field, and none under the good ones."""
        if self._loading:
            return {}
        found = self.problems()
        messages: dict[QLabel, list[str]] = {}
        for name, (widget, label, description) in self._fields.items():
            why = found.get(name, "")
            set_variant(widget, "invalid", "true" if why else "false")
            widget.setAccessibleDescription(why or description)
            messages.setdefault(label, [])
            if why:
                messages[label].append(why)
        for label, lines in messages.items():
            label.setText("\n".join(lines))
            label.setVisible(bool(lines))
        self.error_label.setText("\n".join(found.values()))
        self.error_label.setVisible(bool(found))
        return found

    @Slot(str)
    def _on_key_refused(self, why: str) -> None:
        _widget, label, _description = self._fields["push_to_talk_key"]
        label.setText(why)
        label.setVisible(bool(why))

    @Slot(str)
    def _on_key_changed(self, _key: str) -> None:
        self._revalidate()

    @Slot(str)
    def _on_global_key_refused(self, why: str) -> None:
        _widget, label, _description = self._fields["global_push_to_talk_key"]
        label.setText(why)
        label.setVisible(bool(why))

    @Slot(bool)
    def _on_global_key_toggled(self, on: bool) -> None:
        self.global_key_button.setEnabled(on)
        self._revalidate()

    # --- actions -----------------------------------------------------------------------------
    @Slot()
    def _on_save(self) -> None:
        found = self._revalidate()
        if found:
            self._go_to_first_problem(found)
            return
        self._result = self._candidate(
            parse_dimension(self.width_edit.text(), "Width", MAX_STREAM_WIDTH),
            parse_dimension(self.height_edit.text(), "Height", MAX_STREAM_HEIGHT)).validate()
        self.accept()

    def _go_to_first_problem(self, found: dict[str, str]) -> None:
        first = next((name for name in self._fields if name in found), None)
        if first is None:
            return  # only the summary can say it (a value no field here shows)
        widget = self._fields[first][0]
        for index, page in enumerate(self._pages()):
            if page.isAncestorOf(widget):
                self.tabs.setCurrentIndex(index)
        widget.setFocus()

    def _pages(self) -> list[QWidget]:
        """Each tab's content (inside its scroll area), in tab order."""
        pages = []
        for index in range(self.tabs.count()):
            area = self.tabs.widget(index)
            if isinstance(area, QScrollArea) and (page := area.widget()) is not None:
                pages.append(page)
        return pages

    @Slot()
    def _on_reset(self) -> None:
        self._load(Settings(user_id=self._original.user_id))
        self._revalidate()

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
        self._revalidate()
