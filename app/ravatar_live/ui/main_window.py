"""The main window: top bar, the stream with its banner, the talk bar, the conversation pane.

It binds to the AppController's services through signals and slots and does no I/O itself. Its
close path always ends the live session first: closeEvent is refused while "Ending session…" is
shown, the controller ends the license (bounded, ~2 s), then the window closes for real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ravatar_live import APP_NAME
from ravatar_live.api.models import ConnectionInfo
from ravatar_live.live.controller import AppController
from ravatar_live.live.error_kinds import ErrorKind
from ravatar_live.live.session import LiveStream
from ravatar_live.live.states import ConnectionState, SessionState, StreamStage
from ravatar_live.live.stream_health import StreamHealth, install_stats_probe
from ravatar_live.live.turn_latency import TurnLatencyTracker
from ravatar_live.settings import Settings, SettingsStore
from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.conversation import ConversationView
from ravatar_live.ui.hold_key import HoldKeyFilter
from ravatar_live.ui.settings_dialog import SettingsDialog
from ravatar_live.ui.stream_stats import StreamProblemPresenter, StreamStatsOverlay
from ravatar_live.ui.stream_view import StreamView
from ravatar_live.ui.talk_bar import TalkBar
from ravatar_live.ui.theme import MUTED, TEXT, app_icon, icon, set_variant

logger = logging.getLogger(__name__)

LINK_LOST_TITLE = "Chat connection lost"
ERROR_TITLES: dict[str, str] = {
    ErrorKind.BUSY: "All avatars are busy",
    ErrorKind.TIMEOUT: "The stream timed out",
    ErrorKind.UNKNOWN: "The service reported an unknown error",
    ErrorKind.AUTH: "Sign-in refused",
    ErrorKind.PAYMENT: "Payment problem",
    ErrorKind.INVALID: "Request refused",
    ErrorKind.UNREACHABLE: "Cannot reach the service",
    ErrorKind.MALFORMED: "Unexpected answer from the service",
    ErrorKind.NO_MICROPHONE: "No microphone",
    ErrorKind.MICROPHONE: "Microphone problem",
    ErrorKind.STREAM: "The stream failed",
    ErrorKind.INTERNAL: "Something went wrong",
}


class StreamArea(QFrame):
    """The stream view with the banner floating over its top edge."""

    def __init__(self, view: StreamView, banner: Banner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StreamFrame")
        self.view = view
        self.banner = banner
        view.setParent(self)
        banner.setParent(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(view)
        banner.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.banner and event.type() in (QEvent.Type.Show,
                                                        QEvent.Type.LayoutRequest):
            self._place_banner()
            # A new message's buttons are polished (and grow) only after this event, and the
            # banner's height follows them: measure again once they have.
            QTimer.singleShot(0, self, self._place_banner)
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._place_banner()

    @Slot()
    def _place_banner(self) -> None:
        width = min(620, self.width() - 32)
        height = self.banner.heightForWidth(width)
        if height <= 0:
            height = self.banner.sizeHint().height()
        self.banner.setGeometry((self.width() - width) // 2, 16, width, height)
        self.banner.raise_()


class MainWindow(QMainWindow):
    closed = Signal()  # the window really closed (after the session was ended)

    def __init__(self, controller: AppController, store: SettingsStore | None = None, *,
                 token_note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.store = store
        # Injectable for tests: no real browser, modal question box or file dialog in CI.
        self.open_external: Callable[[str], bool] = lambda url: QDesktopServices.openUrl(
            QUrl(url))
        self.confirm: Callable[[str, str], bool] = self._ask
        self.ask_save_path: Callable[[str], str] = self._ask_save_path
        self._close_allowed = False
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._countdown_left = 0
        self._countdown_text = ""
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._on_countdown_tick)
        self._live_banner_timer = QTimer(self)
        self._live_banner_timer.setSingleShot(True)
        self._live_banner_timer.setInterval(2500)
        self._live_banner_timer.timeout.connect(self._hide_success_banner)

        self.setWindowTitle(f"{APP_NAME} — demo" if controller.demo else APP_NAME)
        self.setWindowIcon(app_icon())
        self.resize(1360, 820)
        self.setMinimumSize(QSize(960, 600))
        self._build(token_note)
        self._bind()
        self._bind_stream_health()
        self._install_shortcuts()
        self._watch_space()
        self._refresh_controls()

    # ------------------------------------------------------------------ building
    def _build(self, token_note: str) -> None:
        central = QWidget(self)
        central.setObjectName("Central")
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_top_bar())

        splitter = QSplitter(Qt.Orientation.Horizontal, central)
        splitter.setHandleWidth(1)
        splitter.setChildrenCollapsible(False)

        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(16, 16, 16, 16)
        left_layout.setSpacing(12)
        self.stream_view = StreamView(left)
        self.stream_view.set_allow_microphone(
            self.controller.settings.allow_stream_page_microphone)
        self.banner = Banner(left)
        self.stream_area = StreamArea(self.stream_view, self.banner, left)
        self.stream_area.setSizePolicy(QSizePolicy.Policy.Expanding,
                                       QSizePolicy.Policy.Expanding)
        self.talk_bar = TalkBar(left)
        self._problem_banner = False  # the banner shows a voice problem the user must see
        self.banner.shown_message.connect(self._on_banner_replaced)
        self.banner.dismissed.connect(self._on_banner_replaced)
        left_layout.addWidget(self.stream_area, 1)
        left_layout.addWidget(self.talk_bar)

        splitter.addWidget(left)
        splitter.addWidget(self._build_side_panel(splitter))
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([960, 400])
        root.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.endpoint_label = QLabel("", self)
        self.token_label = QLabel(token_note, self)
        self.sign_in_note = token_note  # the settings dialog repeats it, with the reason
        self.statusBar().addWidget(self.endpoint_label, 1)
        self.statusBar().addPermanentWidget(self.token_label)
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().setContentsMargins(10, 0, 10, 0)  # not flush with the window's edge

    def _build_top_bar(self) -> QWidget:
        bar = QFrame(self)
        bar.setObjectName("TopBar")
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(10)
        logo = QLabel(bar)
        logo.setPixmap(app_icon().pixmap(QSize(26, 26)))
        title = QLabel(APP_NAME, bar)
        title.setObjectName("AppTitle")
        self.status_chip = QLabel("Offline", bar)
        self.status_chip.setObjectName("StatusChip")
        self.status_chip.setAccessibleName("Connection status")
        self.demo_badge = QLabel("DEMO · built-in simulator", bar)
        self.demo_badge.setObjectName("DemoBadge")
        self.demo_badge.setToolTip("No RAVATAR project is configured: the app talks to its own "
                                   "simulator. Set a project id in Settings to use RAVATAR.")
        self.demo_badge.setVisible(self.controller.demo)
        layout.addWidget(logo)
        layout.addWidget(title)
        layout.addSpacing(6)
        layout.addWidget(self.demo_badge)
        layout.addWidget(self.status_chip)
        layout.addStretch(1)

        avatar_icon = QLabel(bar)
        avatar_icon.setPixmap(icon("avatar", MUTED).pixmap(QSize(16, 16)))
        self.avatar_combo = QComboBox(bar)
        self.avatar_combo.setAccessibleName("Avatar")
        self.avatar_combo.setToolTip("Avatar to talk to")
        self.avatar_combo.setMinimumWidth(150)
        lang_icon = QLabel(bar)
        lang_icon.setPixmap(icon("globe", MUTED).pixmap(QSize(16, 16)))
        self.language_combo = QComboBox(bar)
        self.language_combo.setAccessibleName("Language")
        self.language_combo.setToolTip("Conversation language")
        self.language_combo.setMinimumWidth(110)
        self.session_button = QPushButton("Start session", bar)
        self.session_button.setAccessibleName("Start or end the live session")
        self.session_button.setIconSize(QSize(16, 16))
        self.session_button.setMinimumWidth(150)
        self.settings_button = QToolButton(bar)
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
        return bar

    def _build_side_panel(self, parent: QWidget) -> QWidget:
        panel = QFrame(parent)
        panel.setObjectName("SidePanel")
        panel.setMinimumWidth(320)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 14, 0, 14)
        layout.setSpacing(8)
        header = QVBoxLayout()
        header.setContentsMargins(16, 0, 16, 0)
        header.setSpacing(0)
        title = QLabel("Conversation", panel)
        title.setObjectName("PanelTitle")
        self.subtitle = QLabel("", panel)
        self.subtitle.setObjectName("PanelSubtitle")
        header.addWidget(title)
        header.addWidget(self.subtitle)
        layout.addLayout(header)
        self.conversation = ConversationView(panel)
        layout.addWidget(self.conversation, 1)

        composer = QFrame(panel)
        composer.setObjectName("Composer")
        row = QHBoxLayout(composer)
        row.setContentsMargins(6, 4, 4, 4)
        row.setSpacing(6)
        self.message_edit = QLineEdit(composer)
        self.message_edit.setPlaceholderText("Type a message…")
        self.message_edit.setAccessibleName("Message")
        self.message_edit.setStyleSheet("QLineEdit { border: none; background: transparent; }")
        self.send_button = QPushButton(composer)
        self.send_button.setIcon(icon("send", "#ffffff"))
        self.send_button.setIconSize(QSize(16, 16))
        self.send_button.setText("Send")
        self.send_button.setProperty("variant", "primary")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setAccessibleName("Send message")
        row.addWidget(self.message_edit, 1)
        row.addWidget(self.send_button)
        wrapper = QHBoxLayout()
        wrapper.setContentsMargins(12, 0, 12, 0)
        wrapper.addWidget(composer)
        layout.addLayout(wrapper)
        return panel

    def _install_shortcuts(self) -> None:
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        quit_action.triggered.connect(self.close)
        settings_action = QAction(icon("settings", TEXT), "Settings…", self)
        settings_action.setShortcut(QKeySequence("Ctrl+,"))
        settings_action.triggered.connect(self.open_settings)
        self.addAction(quit_action)
        self.addAction(settings_action)
        self.quit_action = quit_action
        self.settings_action = settings_action
        self.export_latencies_action = QAction("Export turn latencies…", self)
        self.export_latencies_action.setToolTip(
            "Save how long the avatar took to answer each turn, as a CSV file")
        self.export_latencies_action.triggered.connect(self._on_export_latencies)
        self._build_gear_menu()

    def _build_gear_menu(self) -> None:
        """The gear opens a small menu: settings, the stream statistics overlay, the export."""
        menu = QMenu(self.settings_button)
        menu.setObjectName("GearMenu")
        menu.addAction(self.settings_action)
        menu.addSeparator()
        menu.addAction(self.stats_action)
        menu.addAction(self.export_latencies_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        self.gear_menu = menu
        self.settings_button.setMenu(menu)
        self.settings_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_button.setToolTip("Settings, stream statistics, export (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings and tools")

    # ------------------------------------------------------------------ binding
    def _bind(self) -> None:
        c = self.controller
        c.connection.state_changed.connect(self._on_connection_state)
        c.connection.connected.connect(self._on_connected)
        c.connection.failed.connect(self._on_connection_failed)
        c.connection.socket_lost.connect(self._on_socket_lost)
        c.connection.link_restored.connect(self._on_link_restored)
        c.session.state_changed.connect(self._on_session_state)
        c.session.retry_scheduled.connect(self._on_retry_scheduled)
        c.session.failed.connect(self._on_session_failed)
        c.session.stream_ready.connect(self._on_stream_ready)
        c.session.ended.connect(self._on_session_ended)
        c.stream.stage_changed.connect(self._on_stream_stage)
        c.stream.failed.connect(self._on_stream_failed)
        c.avatar_changed.connect(self._on_avatar_changed)
        self.stream_view.page_message.connect(c.stream.on_page_message)
        self.stream_view.framing_refused.connect(c.stream.on_framing_refused)

        c.chat.user_turn.connect(self.conversation.add_user_turn)
        c.chat.avatar_turn.connect(self.conversation.add_avatar_turn)
        c.chat.notice.connect(self.conversation.add_notice)
        c.chat.send_failed.connect(self._on_send_failed)

        c.voice.state_changed.connect(self.talk_bar.set_voice_state)
        c.voice.level_changed.connect(self.talk_bar.meter.set_level)
        c.voice.failed.connect(self._on_voice_failed)
        c.voice.hands_free_changed.connect(self.talk_bar.set_hands_free)
        self.talk_bar.talk_pressed.connect(c.voice.press)
        self.talk_bar.talk_released.connect(c.voice.release)
        self.talk_bar.record_toggled.connect(self._on_record_toggled)
        self.talk_bar.hands_free_toggled.connect(c.voice.set_hands_free)
        self.talk_bar.microphone_chosen.connect(self._on_microphone_chosen)
        self.talk_bar.set_hands_free(c.voice.hands_free)

        self.session_button.clicked.connect(self._on_session_button)
        self.send_button.clicked.connect(self.send_message)
        self.message_edit.returnPressed.connect(self.send_message)
        self.message_edit.textChanged.connect(self._refresh_controls)
        self.avatar_combo.activated.connect(self._on_avatar_picked)
        self.language_combo.activated.connect(self._on_language_picked)
        self._fill_microphones()

    def _bind_stream_health(self) -> None:
        """Stream figures (codec, frames, first frame), per-turn latency, and the codec /
        no-frames problems on the banner with an "Open in browser" offer."""
        c = self.controller
        install_stats_probe(self.stream_view.stream_page.profile())
        self.stream_health = StreamHealth(parent=self)
        self.turns = TurnLatencyTracker(parent=self)
        self.stats_overlay = StreamStatsOverlay(self.stream_area)
        self.stats_overlay.keep_clear_of(self.banner)
        self.stats_action = self.stats_overlay.toggle_action()
        self.addAction(self.stats_action)  # Ctrl+Shift+S works with the menu closed
        self.stream_problems = StreamProblemPresenter(self.stream_health, self.banner,
                                                      self.open_stream_in_browser, parent=self)
        self.stream_view.page_message.connect(self.stream_health.on_page_message)
        self.stream_health.stats_updated.connect(self.stats_overlay.show_stats)
        self.stream_health.first_frame.connect(self.stats_overlay.show_first_frame)
        self.stream_health.avatar_audio_started.connect(self.turns.on_avatar_audio_started)
        # After the conversation's own slots (bound in _bind): a reply's figure needs its bubble.
        c.chat.user_turn.connect(self.turns.on_user_turn)
        c.chat.avatar_turn.connect(self.turns.on_avatar_turn)
        c.voice.take_sent.connect(self.turns.on_take_sent)
        self.turns.turn_updated.connect(self.stats_overlay.show_turn)
        self.turns.turn_updated.connect(self.conversation.show_turn_latency)
        c.session.stream_ready.connect(self._on_stream_health_begin)
        c.session.ended.connect(self._on_stream_health_over)
        c.session.failed.connect(self._on_stream_health_over)
        c.stream.session_closed.connect(self._on_stream_health_over)

    @Slot()
    def _on_stream_health_begin(self) -> None:
        self.stats_overlay.clear()
        self.stream_health.begin()

    @Slot()
    def _on_stream_health_over(self) -> None:
        self.stream_health.reset()
        self.stats_overlay.clear()

    # ------------------------------------------------------------------ state -> controls
    @Slot()
    def _refresh_controls(self) -> None:
        c = self.controller
        connected = c.connection.state is ConnectionState.CONNECTED
        state = c.session.state
        busy = self._closing
        if state in (SessionState.LIVE,):
            self.session_button.setText("End session")
            self.session_button.setIcon(icon("stop", "#ffffff"))
            set_variant(self.session_button, "variant", "danger")
            self.session_button.setEnabled(not busy)
        elif state in (SessionState.STARTING, SessionState.CONNECTING):
            self.session_button.setText("Cancel")
            self.session_button.setIcon(icon("close", TEXT))
            set_variant(self.session_button, "variant", "")
            self.session_button.setEnabled(not busy)
        elif state is SessionState.ENDING:
            self.session_button.setText("Ending…")
            self.session_button.setEnabled(False)
        else:
            self.session_button.setText("Start session")
            self.session_button.setIcon(icon("play", "#ffffff"))
            set_variant(self.session_button, "variant", "primary")
            self.session_button.setEnabled(connected and bool(c.avatar_id) and not busy)
        picking = state.can_start and connected and not busy
        self.avatar_combo.setEnabled(picking and self.avatar_combo.count() > 0)
        self.language_combo.setEnabled(connected and not busy
                                       and self.language_combo.count() > 0)
        can_type = connected and not busy
        self.message_edit.setEnabled(can_type)
        self.send_button.setEnabled(can_type and bool(self.message_edit.text().strip()))
        self.talk_bar.set_live(state is SessionState.LIVE and not busy)
        self.settings_button.setEnabled(not busy)
        self._refresh_chip()

    def _refresh_chip(self) -> None:
        c = self.controller
        state, conn = c.session.state, c.connection.state
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

    # ------------------------------------------------------------------ connection
    @Slot(str)
    def _on_connection_state(self, state: str) -> None:
        if state == ConnectionState.CONNECTING.value:
            self.banner.show_message(BannerKind.INFO, "Connecting…",
                                     "Signing in to the RAVATAR service.", dismissable=False)
        self._refresh_controls()

    @Slot(object)
    def _on_connected(self, info: ConnectionInfo) -> None:
        endpoint = self.controller.connection.endpoint
        if endpoint is not None:
            self.endpoint_label.setText(
                f"Demo mode: built-in simulator at {endpoint.api_url}" if endpoint.demo
                else f"{endpoint.api_url} · project {endpoint.project_id}")
        self.avatar_combo.clear()
        for avatar in info.avatars:
            self.avatar_combo.addItem(avatar.name, avatar.id)
            if not avatar.has_live_mode:
                index = self.avatar_combo.count() - 1
                self.avatar_combo.setItemData(index, f"{avatar.name} has no Live Mode",
                                              Qt.ItemDataRole.ToolTipRole)
                model_item = self.avatar_combo.model().index(index, 0)
                self.avatar_combo.model().setData(model_item, 0, Qt.ItemDataRole.UserRole - 1)
        self.language_combo.clear()
        for language in info.languages:
            self.language_combo.addItem(language.name, language.code)
        self._on_avatar_changed(self.controller.avatar_id)
        index = self.language_combo.findData(self.controller.chat.language)
        self.language_combo.setCurrentIndex(max(index, 0))
        if self.banner.kind in (BannerKind.INFO, BannerKind.ERROR) and \
                self.controller.session.state.can_start:
            self.banner.clear()
        self._show_idle_placeholder()
        self._refresh_controls()

    @Slot(str, str)
    def _on_connection_failed(self, kind: str, message: str) -> None:
        self.banner.show_message(BannerKind.ERROR, ERROR_TITLES.get(kind, "Cannot connect"),
                                 message, actions=(("Try again", self.retry_connect),))
        self.stream_view.show_placeholder("Not connected")
        self._refresh_controls()

    @Slot(str)
    def _on_socket_lost(self, message: str) -> None:
        if self._closing:
            return
        self.banner.show_message(BannerKind.WARNING, LINK_LOST_TITLE, message,
                                 actions=(("Reconnect", self.retry_connect),))

    @Slot()
    def _on_link_restored(self) -> None:
        # Only the link warning is stale now; any other banner still says something true.
        if self.banner.kind is BannerKind.WARNING and self.banner.title() == LINK_LOST_TITLE:
            self.banner.show_message(BannerKind.SUCCESS, "Chat connection restored",
                                     "Anything you typed meanwhile has been sent.")
            self._live_banner_timer.start()

    @Slot()
    def retry_connect(self) -> None:
        self._spawn(self.controller.reconnect())

    @Slot(str)
    def _on_avatar_changed(self, avatar_id: str) -> None:
        index = self.avatar_combo.findData(avatar_id)
        if index >= 0:
            self.avatar_combo.setCurrentIndex(index)
            name = self.avatar_combo.itemText(index)
            self.conversation.avatar_name = name
            self.subtitle.setText(f"with {name}")
        self._refresh_controls()

    @Slot(int)
    def _on_avatar_picked(self, index: int) -> None:
        self.controller.choose_avatar(str(self.avatar_combo.itemData(index) or ""))

    @Slot(int)
    def _on_language_picked(self, index: int) -> None:
        self.controller.choose_language(str(self.language_combo.itemData(index) or ""))

    # ------------------------------------------------------------------ session
    @Slot()
    def _on_session_button(self) -> None:
        state = self.controller.session.state
        if state is SessionState.LIVE:
            self.controller.end_session()
        elif state in (SessionState.STARTING, SessionState.CONNECTING):
            self.controller.cancel_start()
        elif state.can_start:
            self.controller.start_session()

    @Slot(str)
    def _on_session_state(self, state: str) -> None:
        self._countdown.stop()
        if self._closing and state != SessionState.ENDING.value:
            self._refresh_controls()
            return
        if state == SessionState.CONNECTING.value:
            self.banner.show_message(BannerKind.INFO, "Connecting…", dismissable=False)
        elif state == SessionState.STARTING.value:
            self.banner.show_message(BannerKind.INFO, "Starting session…",
                                     "Asking RAVATAR for an avatar.", dismissable=False)
            self.stream_view.show_placeholder("Starting session…")
        elif state == SessionState.ENDING.value:
            self.banner.show_message(BannerKind.INFO, "Ending session…", dismissable=False)
        elif state == SessionState.IDLE.value:
            self.banner.show_message(BannerKind.INFO, "Cancelled",
                                     "No session was started.")
            self._show_idle_placeholder()
        self._refresh_controls()

    @Slot(int, float, str)
    def _on_retry_scheduled(self, attempt: int, delay_s: float, message: str) -> None:
        self._countdown_left = max(1, round(delay_s))
        self._countdown_text = message
        self._countdown_attempt = attempt
        self._show_countdown()
        self._countdown.start()

    def _show_countdown(self) -> None:
        self.banner.show_message(
            BannerKind.WARNING, "All avatars are busy",
            f"{self._countdown_text} Retrying in {self._countdown_left} s "
            f"(attempt {self._countdown_attempt + 1}).",
            actions=(("Cancel", self.controller.cancel_start),), dismissable=False)

    @Slot()
    def _on_countdown_tick(self) -> None:
        self._countdown_left -= 1
        if self._countdown_left <= 0:
            self._countdown.stop()
            self.banner.show_message(BannerKind.INFO, "Starting session…", "Trying again.",
                                     actions=(("Cancel", self.controller.cancel_start),),
                                     dismissable=False)
            return
        self.banner.set_text(
            f"{self._countdown_text} Retrying in {self._countdown_left} s "
            f"(attempt {self._countdown_attempt + 1}).")

    @Slot(str, str)
    def _on_session_failed(self, kind: str, message: str) -> None:
        self._countdown.stop()
        actions: tuple[tuple[str, Callable[[], object]], ...] = ()
        if kind in (ErrorKind.BUSY, ErrorKind.TIMEOUT, ErrorKind.UNKNOWN,
                    ErrorKind.UNREACHABLE, ErrorKind.MALFORMED):
            actions = (("Try again", self.controller.start_session),)
        elif kind == ErrorKind.AUTH:
            actions = (("Sign in again", self.retry_connect), ("Settings", self.open_settings))
        elif kind == ErrorKind.INVALID:
            actions = (("Settings", self.open_settings),)
        self.banner.show_message(BannerKind.ERROR, ERROR_TITLES.get(kind, "Session failed"),
                                 message, actions=actions)
        self.stream_view.show_placeholder("No live session")
        self._refresh_controls()

    @Slot(object)
    def _on_stream_ready(self, stream: LiveStream) -> None:
        self.stream_view.show_stream(stream.url, stream.size.width, stream.size.height)

    @Slot(str, bool)
    def _on_session_ended(self, license_id: str, acknowledged: bool) -> None:
        if self._closing:
            return
        self._show_idle_placeholder("Session ended")
        if acknowledged:
            self.banner.show_message(BannerKind.INFO, "Session ended",
                                     "Start a new session to talk again.")
        else:
            self.banner.show_message(
                BannerKind.WARNING, "Session ended",
                "The service did not confirm the end in time; it will be released shortly.")
        self._refresh_controls()

    @Slot(str)
    def _on_stream_stage(self, stage: str) -> None:
        if self._closing:
            return
        if stage == StreamStage.LOADING.value:
            if self._problem_showing():
                return
            self.banner.show_message(BannerKind.INFO, "Connecting stream…",
                                     "Waiting for the avatar's video.", dismissable=False)
        elif stage == StreamStage.PLAYING.value:
            if self._problem_showing():
                return  # a microphone problem matters more than "it works"
            self.banner.show_message(BannerKind.SUCCESS, "Live",
                                     "The avatar can hear you now.")
            self._live_banner_timer.start()
        elif stage == StreamStage.CLOSED.value:
            self.banner.show_message(BannerKind.INFO, "Stream closed",
                                     "The avatar's stream ended.")

    @Slot()
    def _on_banner_replaced(self) -> None:
        self._problem_banner = False

    def _problem_showing(self) -> bool:
        return self.banner.isVisible() and self._problem_banner

    @Slot()
    def _hide_success_banner(self) -> None:
        if self.banner.kind is BannerKind.SUCCESS:
            self.banner.clear()

    @Slot(str, str)
    def _on_stream_failed(self, reason: str, message: str) -> None:
        self.banner.show_message(
            BannerKind.ERROR, "The stream could not be shown here", message,
            actions=(("Show it directly", self.show_stream_directly),
                     ("Open in browser", self.open_stream_in_browser)))

    @Slot()
    def show_stream_directly(self) -> None:
        stream = self.controller.session.stream
        if stream is None:
            return
        self.stream_view.show_direct(stream.url)
        self.controller.stream.begin()
        self._on_stream_health_begin()

    @Slot()
    def open_stream_in_browser(self) -> None:
        stream = self.controller.session.stream
        if stream is None:
            return
        if self.open_external(stream.url):
            self.banner.show_message(
                BannerKind.INFO, "Opened in your browser",
                "The avatar plays in the browser; keep this window open to talk and type.")
        else:
            self.banner.show_message(BannerKind.ERROR, "No browser could be opened",
                                     "Show the stream directly in this window instead.",
                                     actions=(("Show it directly", self.show_stream_directly),))

    def _show_idle_placeholder(self, text: str = "") -> None:
        name = self.avatar_combo.currentText() or "the avatar"
        self.stream_view.show_placeholder(text or f"Start a session to meet {name}")

    # ------------------------------------------------------------------ chat and voice
    @Slot()
    def send_message(self) -> None:
        text = self.message_edit.text().strip()
        if not text or not self.message_edit.isEnabled():
            return
        self.controller.chat.send_text(text)
        self.message_edit.clear()

    @Slot(str, str)
    def _on_send_failed(self, kind: str, message: str) -> None:
        self.banner.show_message(BannerKind.WARNING, "Message not sent", message)

    @Slot(str, str)
    def _on_voice_failed(self, kind: str, message: str) -> None:
        title = ERROR_TITLES.get(kind, "Microphone problem")
        self.banner.show_message(BannerKind.ERROR, title, message,
                                 actions=(("Choose microphone", self.open_settings),))
        self._problem_banner = True
        self.talk_bar.show_problem(title)
        if kind == ErrorKind.NO_MICROPHONE:
            self.talk_bar.set_no_microphone()

    @Slot(bool)
    def _on_record_toggled(self, start: bool) -> None:
        if start:
            self.controller.voice.start_recording()
        else:
            self.controller.voice.stop_recording()

    @Slot(str)
    def _on_microphone_chosen(self, device_id: str) -> None:
        self.controller.voice.set_device(device_id)

    def _fill_microphones(self) -> None:
        devices = self.controller.voice.devices()
        if devices:
            self.talk_bar.set_devices(devices, self.controller.settings.microphone_id)
        else:
            self.talk_bar.set_no_microphone()

    # ------------------------------------------------------------------ turn latencies
    @Slot()
    def _on_export_latencies(self) -> None:
        path = self.ask_save_path("turn-latencies.csv")
        if path:
            self.export_turn_latencies(path)

    def export_turn_latencies(self, path: str | Path) -> bool:
        """Save the turn latencies as CSV to `path`; a failure is shown, not raised."""
        target = Path(path)
        try:
            self.turns.export_csv(target)
        except OSError as exc:
            logger.warning("exporting turn latencies failed: %s", exc.strerror or exc)
            self.banner.show_message(
                BannerKind.ERROR, "Turn latencies not saved",
                f"Could not write {target.name}: {exc.strerror or exc}. "
                "Choose another folder and try again.",
                actions=(("Try again", self._on_export_latencies),))
            return False
        count = len(self.turns.log.turns)
        self.banner.show_message(
            BannerKind.INFO, "Turn latencies saved",
            f"{count} turn{'s' if count != 1 else ''} written to {target}.")
        return True

    def _ask_save_path(self, suggested: str) -> str:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export turn latencies", str(Path.home() / suggested),
            "CSV files (*.csv);;All files (*)")
        return path

    # ------------------------------------------------------------------ settings
    @Slot()
    def open_settings(self) -> None:
        if self._closing:
            return
        dialog = self.make_settings_dialog()
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())

    def make_settings_dialog(self) -> SettingsDialog:
        """The settings dialog, filled from the current settings and `/connection`."""
        info = self.controller.connection.info
        return SettingsDialog(
            self.controller.settings, avatars=info.avatars if info else (),
            languages=info.languages if info else (), devices=self.controller.voice.devices(),
            demo=self.controller.force_demo, sign_in_note=self.sign_in_note, parent=self)

    def apply_settings(self, new: Settings) -> None:
        """Save and apply; reconnect for new service settings, offer a restart for a new size."""
        old = self.controller.settings
        if self.store is not None:
            self.store.save(new)
        self.controller.update_settings(new)
        self.demo_badge.setVisible(self.controller.demo)
        self.setWindowTitle(f"{APP_NAME} — demo" if self.controller.demo else APP_NAME)
        self.stream_view.set_allow_microphone(new.allow_stream_page_microphone)
        self.talk_bar.set_hands_free(self.controller.voice.hands_free)
        self._fill_microphones()
        service_changed = (old.api_url, old.ws_url, old.project_id) != (
            new.api_url, new.ws_url, new.project_id)
        if service_changed:
            self._spawn(self.controller.reconnect())
            return
        if new.avatar_id and new.avatar_id != old.avatar_id:
            self.controller.choose_avatar(new.avatar_id)
        session_changed = (old.stream_width, old.stream_height) != (
            new.stream_width, new.stream_height) or new.avatar_id != old.avatar_id
        if session_changed and self.controller.session.state is SessionState.LIVE and \
                self.confirm("Restart the session?",
                             "The new settings apply when a session starts. Restart the "
                             "live session now?"):
            self._spawn(self.controller.restart_session())

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------ hold Space to talk
    def _watch_space(self) -> None:
        self.hold_key = HoldKeyFilter(Qt.Key.Key_Space, self)
        self.hold_key.pressed.connect(self.talk_bar.begin_talk)
        self.hold_key.released.connect(self.talk_bar.end_talk)
        self.hold_key.watch(self)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.hold_key.cancel()  # a hold must not outlive the window's focus
        super().changeEvent(event)

    # ------------------------------------------------------------------ closing
    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def has_closed(self) -> bool:
        return self._close_allowed and not self.isVisible()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._close_allowed:
            event.accept()
            self.closed.emit()
            return
        event.ignore()
        self.begin_close()

    def begin_close(self) -> asyncio.Task[None] | None:
        """Start the close path (idempotent): end the session, then really close."""
        if self._close_task is None:
            self._closing = True
            self._countdown.stop()
            if self.controller.session.stream is not None:
                self.banner.show_message(BannerKind.INFO, "Ending session…",
                                         "Letting RAVATAR know before closing.",
                                         dismissable=False)
            self._refresh_controls()
            self._close_task = asyncio.get_running_loop().create_task(self._close_after_end())
        return self._close_task

    async def _close_after_end(self) -> None:
        try:
            await self.controller.shutdown()
        except Exception:
            logger.exception("shutting down the services failed")
        self._close_allowed = True
        self.close()

    def end_session_now(self) -> None:
        """Synchronous end for OS log-out and quit from outside (the loop may not run again)."""
        if self.controller.session.stream is not None:
            self.controller.end_session_blocking()

    def _spawn(self, coro: Coroutine[object, object, object]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
