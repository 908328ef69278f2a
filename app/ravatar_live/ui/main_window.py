"""The main window: top bar, the stream with its banner, the talk bar, the conversation pane.

It composes the widgets (top_bar, stream_area, conversation_panel, talk_bar) and binds them to
the AppController's services through signals and slots; which banner each event shows is
window_banners' job. It does no I/O itself. Its close path always ends the live session first:
closeEvent is refused while "Ending session…" is shown, the controller ends the license
(bounded, ~2 s), then the window closes for real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ravatar_live import APP_NAME
from ravatar_live.api.models import ConnectionInfo
from ravatar_live.live.controller import AppController
from ravatar_live.live.error_kinds import ErrorKind
from ravatar_live.live.session import LiveStream
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.live.stream_health import StreamHealth, install_stats_probe
from ravatar_live.live.turn_latency import TurnLatencyTracker
from ravatar_live.settings import Settings, SettingsStore
from ravatar_live.ui.banner import Banner
from ravatar_live.ui.conversation_panel import ConversationPanel
from ravatar_live.ui.hold_key import HoldKeyFilter
from ravatar_live.ui.settings_dialog import SettingsDialog
from ravatar_live.ui.stream_area import StreamArea
from ravatar_live.ui.stream_stats import StreamProblemPresenter, StreamStatsOverlay
from ravatar_live.ui.stream_view import StreamView
from ravatar_live.ui.talk_bar import TalkBar
from ravatar_live.ui.theme import TEXT, app_icon, icon
from ravatar_live.ui.top_bar import TopBar
from ravatar_live.ui.window_banners import ERROR_TITLES, LINK_LOST_TITLE, WindowBanners

# Re-exported: these lived here before the window was split up.
__all__ = ["ERROR_TITLES", "LINK_LOST_TITLE", "MainWindow", "StreamArea"]

logger = logging.getLogger(__name__)


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
        self.top_bar = TopBar(demo=self.controller.demo, parent=self)
        self.status_chip = self.top_bar.status_chip
        self.demo_badge = self.top_bar.demo_badge
        self.avatar_combo = self.top_bar.avatar_combo
        self.language_combo = self.top_bar.language_combo
        self.session_button = self.top_bar.session_button
        self.settings_button = self.top_bar.settings_button
        root.addWidget(self.top_bar)

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
        self.banners = WindowBanners(self.banner, self.controller, self, parent=self)
        left_layout.addWidget(self.stream_area, 1)
        left_layout.addWidget(self.talk_bar)

        self.side_panel = ConversationPanel(splitter)
        self.subtitle = self.side_panel.subtitle
        self.conversation = self.side_panel.conversation
        self.message_edit = self.side_panel.message_edit
        self.send_button = self.side_panel.send_button
        splitter.addWidget(left)
        splitter.addWidget(self.side_panel)
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
        self.top_bar.set_gear_menu(menu)

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
        self.top_bar.show_controls(state, connected=connected, has_avatar=bool(c.avatar_id),
                                   busy=busy)
        self.side_panel.set_can_type(connected and not busy)
        self.talk_bar.set_live(state is SessionState.LIVE and not busy)
        self.top_bar.show_status(state, c.connection.state)

    # ------------------------------------------------------------------ connection
    @Slot(str)
    def _on_connection_state(self, state: str) -> None:
        self.banners.on_connection_state(state)
        self._refresh_controls()

    @Slot(object)
    def _on_connected(self, info: ConnectionInfo) -> None:
        endpoint = self.controller.connection.endpoint
        if endpoint is not None:
            self.endpoint_label.setText(
                f"Demo mode: built-in simulator at {endpoint.api_url}" if endpoint.demo
                else f"{endpoint.api_url} · project {endpoint.project_id}")
        self.top_bar.fill_pickers(info)
        self._on_avatar_changed(self.controller.avatar_id)
        self.top_bar.select_language(self.controller.chat.language)
        self.banners.on_connected()
        self._show_idle_placeholder()
        self._refresh_controls()

    @Slot(str, str)
    def _on_connection_failed(self, kind: str, message: str) -> None:
        self.banners.on_connection_failed(kind, message)
        self.stream_view.show_placeholder("Not connected")
        self._refresh_controls()

    @Slot(str)
    def _on_socket_lost(self, message: str) -> None:
        self.banners.on_socket_lost(message)

    @Slot()
    def _on_link_restored(self) -> None:
        self.banners.on_link_restored()

    @Slot()
    def retry_connect(self) -> None:
        self._spawn(self.controller.reconnect())

    @Slot(str)
    def _on_avatar_changed(self, avatar_id: str) -> None:
        name = self.top_bar.select_avatar(avatar_id)
        if name is not None:
            self.side_panel.show_avatar_name(name)
        self._refresh_controls()

    @Slot(int)
    def _on_avatar_picked(self, index: int) -> None:
        self.controller.choose_avatar(self.top_bar.avatar_id_at(index))

    @Slot(int)
    def _on_language_picked(self, index: int) -> None:
        self.controller.choose_language(self.top_bar.language_code_at(index))

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
        self.banners.on_session_state(state)
        if self._closing and state != SessionState.ENDING.value:
            self._refresh_controls()
            return
        if state == SessionState.STARTING.value:
            self.stream_view.show_placeholder("Starting session…")
        elif state == SessionState.IDLE.value:
            self._show_idle_placeholder()
        self._refresh_controls()

    @Slot(int, float, str)
    def _on_retry_scheduled(self, attempt: int, delay_s: float, message: str) -> None:
        self.banners.on_retry_scheduled(attempt, delay_s, message)

    @Slot(str, str)
    def _on_session_failed(self, kind: str, message: str) -> None:
        self.banners.on_session_failed(kind, message)
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
        self.banners.on_session_ended(acknowledged)
        self._refresh_controls()

    @Slot(str)
    def _on_stream_stage(self, stage: str) -> None:
        self.banners.on_stream_stage(stage)

    @Slot(str, str)
    def _on_stream_failed(self, reason: str, message: str) -> None:
        self.banners.on_stream_failed(message)

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
        self.banners.show_browser_outcome(self.open_external(stream.url))

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
        self.banners.on_send_failed(message)

    @Slot(str, str)
    def _on_voice_failed(self, kind: str, message: str) -> None:
        title = self.banners.show_voice_problem(kind, message)
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
            self.banners.show_export_failed(target, str(exc.strerror or exc),
                                            retry=self._on_export_latencies)
            return False
        self.banners.show_export_saved(target, len(self.turns.log.turns))
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
            demo=self.controller.force_demo, sign_in_note=self.sign_in_note,
            turn_note=self.controller.voice.turn_note, parent=self)

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
            self.banners.show_closing()
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
