"""The window's top bar: logo, demo badge, status chip, avatar and language pickers, the
start/end button and the gear. It shows state; the main window decides what it means."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)

from ravatar_live import APP_NAME
from ravatar_live.api.models import ConnectionInfo
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.ui.theme import MUTED, TEXT, app_icon, icon, set_variant


class TopBar(QFrame):
    def __init__(self, *, demo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TopBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(10)
        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(QSize(26, 26)))
        title = QLabel(APP_NAME, self)
        title.setObjectName("AppTitle")
        self.status_chip = QLabel("Offline", self)
        self.status_chip.setObjectName("StatusChip")
        self.status_chip.setAccessibleName("Connection status")
        self.demo_badge = QLabel("DEMO · built-in simulator", self)
        self.demo_badge.setObjectName("DemoBadge")
        self.demo_badge.setToolTip("No RAVATAR project is configured: the app talks to its own "
                                   "simulator. Set a project id in Settings to use RAVATAR.")
        self.demo_badge.setVisible(demo)
        layout.addWidget(logo)
        layout.addWidget(title)
        layout.addSpacing(6)
        layout.addWidget(self.demo_badge)
        layout.addWidget(self.status_chip)
        layout.addStretch(1)

        avatar_icon = QLabel(self)
        avatar_icon.setPixmap(icon("avatar", MUTED).pixmap(QSize(16, 16)))
        self.avatar_combo = QComboBox(self)
        self.avatar_combo.setAccessibleName("Avatar")
        self.avatar_combo.setToolTip("Avatar to talk to")
        self.avatar_combo.setMinimumWidth(150)
        lang_icon = QLabel(self)
        lang_icon.setPixmap(icon("globe", MUTED).pixmap(QSize(16, 16)))
        self.language_combo = QComboBox(self)
        self.language_combo.setAccessibleName("Language")
        self.language_combo.setToolTip("Conversation language")
        self.language_combo.setMinimumWidth(110)
        self.session_button = QPushButton("Start session", self)
        self.session_button.setAccessibleName("Start or end the live session")
        self.session_button.setIconSize(QSize(16, 16))
        self.session_button.setMinimumWidth(150)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("IconButton")
        self.settings_button.setIcon(icon("settings", TEXT))
        self.settings_button.setIconSize(QSize(20, 20))
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings")
        for widget in (avatar_icon, self.avatar_combo, lang_icon, self.language_combo):
            layout.addWidget(widget)
        layout.addSpacing(8)
        layout.addWidget(self.session_button)
        layout.addWidget(self.settings_button)

    def set_gear_menu(self, menu: QMenu) -> None:
        """The gear opens `menu` at once (it holds settings, statistics and the export)."""
        self.settings_button.setMenu(menu)
        self.settings_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_button.setToolTip("Settings, stream statistics, export (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings and tools")

    # ------------------------------------------------------------------ pickers
    def fill_pickers(self, info: ConnectionInfo) -> None:
        """List the project's avatars (those without Live Mode greyed out) and languages."""
        self.avatar_combo.clear()
        for avatar in info.avatars:
            self.avatar_combo.addItem(avatar.name, avatar.id)
            if not avatar.has_live_mode:
                index = self.avatar_combo.count() - 1
                self.avatar_combo.setItemData(index, f"{avatar.name} has no Live Mode",
                                              Qt.ItemDataRole.ToolTipRole)
                model_item = self.avatar_combo.model().index(index, 0)
                # Clearing the item's flags (UserRole - 1) disables it in the list.
                self.avatar_combo.model().setData(model_item, 0, Qt.ItemDataRole.UserRole - 1)
        self.language_combo.clear()
        for language in info.languages:
            self.language_combo.addItem(language.name, language.code)

    def select_avatar(self, avatar_id: str) -> str | None:
        """Show `avatar_id` as picked; its name, or None when it is not in the list."""
        index = self.avatar_combo.findData(avatar_id)
        if index < 0:
            return None
        self.avatar_combo.setCurrentIndex(index)
        return self.avatar_combo.itemText(index)

    def select_language(self, code: str) -> None:
        index = self.language_combo.findData(code)
        self.language_combo.setCurrentIndex(max(index, 0))

    def avatar_id_at(self, index: int) -> str:
        return str(self.avatar_combo.itemData(index) or "")

    def language_code_at(self, index: int) -> str:
        return str(self.language_combo.itemData(index) or "")

    # ------------------------------------------------------------------ state
    def show_controls(self, state: SessionState, *, connected: bool, has_avatar: bool,
                      busy: bool) -> None:
        """The start/end button, pickers and gear for the session `state`; `busy` while the
        window is closing."""
        button = self.session_button
        if state in (SessionState.LIVE,):
            button.setText("End session")
            button.setIcon(icon("stop", "#ffffff"))
            set_variant(button, "variant", "danger")
            button.setEnabled(not busy)
        elif state in (SessionState.STARTING, SessionState.CONNECTING):
            button.setText("Cancel")
            button.setIcon(icon("close", TEXT))
            set_variant(button, "variant", "")
            button.setEnabled(not busy)
        elif state is SessionState.ENDING:
            button.setText("Ending…")
            button.setEnabled(False)
        else:
            button.setText("Start session")
            button.setIcon(icon("play", "#ffffff"))
            set_variant(button, "variant", "primary")
            button.setEnabled(connected and has_avatar and not busy)
        picking = state.can_start and connected and not busy
        self.avatar_combo.setEnabled(picking and self.avatar_combo.count() > 0)
        self.language_combo.setEnabled(connected and not busy
                                       and self.language_combo.count() > 0)
        self.settings_button.setEnabled(not busy)

    def show_status(self, state: SessionState, conn: ConnectionState) -> None:
        """The status chip: live, connecting, connected or offline."""
        if state is SessionState.LIVE:
            text, kind = "● Live", "live"
        elif conn is ConnectionState.CONNECTING or state in (SessionState.STARTING,
                                                             SessionState.CONNECTING):
            text, kind = "Connecting…", "connecting"
        elif conn is ConnectionState.FAILED:
            text, kind = "Offline", "error"
        elif conn is ConnectionState.CONNECTED:
            text, kind = "Connected", "connected"
        else:
            text, kind = "Offline", ""
        self.status_chip.setText(text)
        set_variant(self.status_chip, "kind", kind)
