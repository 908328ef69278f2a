"""The window's top bar: logo, demo badge, status chip, avatar and language pickers, the
start/end button and the gear. It shows state; the window decides what it means.

Two groups (who and where / what to do) share one row while they fit and stack when the window is
narrow; the title and the badge shorten with "…" first (the full text in their tooltips).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from ravatar_live import APP_NAME
from ravatar_live.api.link_status import LinkState
from ravatar_live.api.models import ConnectionInfo
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.ui.eliding_label import ElidingLabel
from ravatar_live.ui.reflow import ReflowLayout
from ravatar_live.ui.steady_width import fit_to_longest
from ravatar_live.ui.theme import app_icon, set_variant, tint

SESSION_LABELS = (("Start session", "primary"), ("End session", "danger"), ("Cancel", ""),
                  ("Ending…", ""))


def status_text(state: SessionState, conn: ConnectionState,
                link: LinkState | None) -> tuple[str, str]:
    """(chip text, style kind) for the session, the connection and the chat link."""
    if conn is ConnectionState.CONNECTED and link in (LinkState.RECONNECTING,
                                                      LinkState.CONNECTING):
        return "Reconnecting…", "reconnecting"
    if state is SessionState.LIVE:
        return "● Live", "live"
    if conn is ConnectionState.CONNECTING or state in (SessionState.STARTING,
                                                       SessionState.CONNECTING):
        return "Connecting…", "connecting"
    if conn is ConnectionState.FAILED:
        return "Offline", "error"
    if conn is ConnectionState.CONNECTED:
        return "Connected", "connected"
    return "Offline", ""


def _combo(parent: QWidget, name: str, description: str, chars: int) -> QComboBox:
    combo = QComboBox(parent)
    combo.setAccessibleName(name)
    combo.setAccessibleDescription(description)
    combo.setToolTip(description)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    return combo


class TopBar(QFrame):
    def __init__(self, *, demo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TopBar")
        self.reflow = ReflowLayout(self, spacing=10)
        self.reflow.setContentsMargins(16, 8, 12, 8)
        self.reflow.add_group(self._build_identity(demo), 1)
        self.reflow.add_group(self._build_controls())

    def _build_identity(self, demo: bool) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        logo = QLabel(group)
        logo.setPixmap(app_icon().pixmap(QSize(26, 26)))
        logo.setAccessibleName(f"{APP_NAME} logo")
        self.title = ElidingLabel(APP_NAME, group, name="AppTitle", min_chars=7)
        self.demo_badge = ElidingLabel("DEMO · built-in simulator", group, name="DemoBadge",
                                       min_chars=4,
                                       tooltip="No RAVATAR project is configured: the app "
                                       "talks to its own simulator. Set a project id in "
                                       "Settings to use RAVATAR.")
        self.demo_badge.setAccessibleDescription(self.demo_badge.toolTip())
        self.demo_badge.setVisible(demo)
        self.status_chip = ElidingLabel("Offline", group, name="StatusChip", min_chars=14)
        self.status_chip.setAccessibleDescription("Connection and session status")
        row.addWidget(logo)
        row.addWidget(self.title)
        row.addWidget(self.demo_badge)
        row.addWidget(self.status_chip)
        row.addStretch(1)
        return group

    def _build_controls(self) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        avatar_icon = QLabel(group)
        tint(avatar_icon, "avatar", "muted")
        self.avatar_combo = _combo(group, "Avatar", "The avatar to talk to", 10)
        lang_icon = QLabel(group)
        tint(lang_icon, "globe", "muted")
        self.language_combo = _combo(group, "Language", "The conversation's language", 8)
        self.avatar_combo.currentTextChanged.connect(self._on_avatar_text)
        self.session_button = QPushButton("Start session", group)
        self.session_button.setObjectName("SessionButton")
        self.session_button.setAccessibleName("Start session")
        self.session_button.setAccessibleDescription(
            "Starts a live session with the avatar, or ends the one that is running "
            "(Ctrl+Enter)")
        self.session_button.setToolTip("Start or end the live session (Ctrl+Enter)")
        self.session_button.setIconSize(QSize(16, 16))
        tint(self.session_button, "play", "on_primary")  # measured with its icon
        fit_to_longest(self.session_button, SESSION_LABELS)
        self.settings_button = QToolButton(group)
        self.settings_button.setObjectName("IconButton")
        tint(self.settings_button, "settings")
        self.settings_button.setIconSize(QSize(20, 20))
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings")
        self.settings_button.setAccessibleDescription("Opens the settings")
        row.addWidget(avatar_icon)
        row.addWidget(self.avatar_combo, 1)
        row.addWidget(lang_icon)
        row.addWidget(self.language_combo, 1)
        row.addSpacing(4)
        row.addWidget(self.session_button)
        row.addWidget(self.settings_button)
        return group

    def set_gear_menu(self, menu: QMenu) -> None:
        """The gear opens `menu` at once (settings, statistics, shortcuts, export, quit)."""
        self.settings_button.setMenu(menu)
        self.settings_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_button.setToolTip("Settings, stream statistics, keyboard shortcuts, "
                                        "export (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings and tools")
        self.settings_button.setAccessibleDescription(
            "Opens a menu: settings, stream statistics, keyboard shortcuts, export, quit")

    @Slot(str)
    def _on_avatar_text(self, name: str) -> None:
        self.avatar_combo.setToolTip(f"Avatar: {name}" if name else "The avatar to talk to")

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
        if state is SessionState.LIVE:
            self._session_label("End session", "stop", "danger", "on_danger")
            button.setEnabled(not busy)
        elif state in (SessionState.STARTING, SessionState.CONNECTING):
            self._session_label("Cancel", "close", "", "text")
            button.setEnabled(not busy)
        elif state is SessionState.ENDING:
            self._session_label("Ending…", "stop", "", "text")
            button.setEnabled(False)
        else:
            self._session_label("Start session", "play", "primary", "on_primary")
            button.setEnabled(connected and has_avatar and not busy)
        picking = state.can_start and connected and not busy
        self.avatar_combo.setEnabled(picking and self.avatar_combo.count() > 0)
        self.language_combo.setEnabled(connected and not busy
                                       and self.language_combo.count() > 0)
        self.settings_button.setEnabled(not busy)

    def _session_label(self, text: str, icon_name: str, variant: str, icon_role: str) -> None:
        button = self.session_button
        if button.text() == text and button.property("variant") == variant:
            return
        button.setText(text)
        button.setAccessibleName(text)
        tint(button, icon_name, icon_role)
        set_variant(button, "variant", variant)

    def show_status(self, state: SessionState, conn: ConnectionState,
                    link: LinkState | None = None) -> str:
        """The status chip: live, connecting, reconnecting, connected or offline; its text."""
        text, kind = status_text(state, conn, link)
        self.status_chip.setText(text)
        set_variant(self.status_chip, "kind", kind)
        return text
