"""The main window: top bar, the stream with its banner, the talk bar, the conversation pane.

It builds and places the parts, lets the bindings connect them to the AppController's services
(session_binding, talk_binding, stream_health_binding, settings_flow, window_actions), keeps the
keyboard order, and owns the close path: closeEvent is refused while "Ending session…" is shown,
the controller ends the license (bounded, ~2 s), the window's size and panes are remembered
through the settings service, then the window closes for real. It does no I/O itself.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ravatar_live import APP_NAME
from ravatar_live.api.urls import without_secrets
from ravatar_live.live.controller import AppController
from ravatar_live.settings import Settings
from ravatar_live.settings_service import SettingsChange, SettingsService
from ravatar_live.tasks import TaskSet
from ravatar_live.ui.announcer import Announcer
from ravatar_live.ui.banner import Banner
from ravatar_live.ui.conversation_panel import ConversationPanel
from ravatar_live.ui.diagnostics_binding import DiagnosticsBinding
from ravatar_live.ui.keyboard import (
    focus_by_keyboard_only,
    press_all_with_return,
    press_with_return,
)
from ravatar_live.ui.session_binding import SessionBinding, SessionParts
from ravatar_live.ui.settings_dialog import SettingsDialog
from ravatar_live.ui.settings_flow import SettingsFlow, SettingsHooks
from ravatar_live.ui.setup_check_binding import SetupCheckBinding
from ravatar_live.ui.shortcuts import Command
from ravatar_live.ui.stream_area import StreamArea
from ravatar_live.ui.stream_health_binding import StreamHealthBinding
from ravatar_live.ui.stream_player_binding import StreamPlayerBinding
from ravatar_live.ui.stream_view import StreamView
from ravatar_live.ui.talk_bar import TalkBar
from ravatar_live.ui.talk_binding import TalkBinding
from ravatar_live.ui.theme import app_icon, apply_theme
from ravatar_live.ui.top_bar import TopBar
from ravatar_live.ui.window_actions import WindowActions, press_if_usable
from ravatar_live.ui.window_banners import ERROR_TITLES, LINK_LOST_TITLE, WindowBanners
from ravatar_live.ui.window_state import (
    MIN_HEIGHT,
    MIN_WIDTH,
    capture_window,
    open_to_show,
    place_panes,
    restore_window,
)

# Re-exported: these lived here before the window was split up.
__all__ = ["ERROR_TITLES", "LINK_LOST_TITLE", "MainWindow", "StreamArea"]

logger = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    closed = Signal()  # the window really closed (after the session was ended)

    def __init__(self, controller: AppController, settings: SettingsService, *,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings_service = settings
        #: Opens a URL in the user's browser (replaced in tests: no browser in CI).
        self.open_external: Callable[[str], bool] = lambda url: QDesktopServices.openUrl(
            QUrl(url))
        #: Asks the user a yes/no question (title, text) (replaced in tests: no one to click).
        self.confirm: Callable[[str, str], bool] = self._ask
        self._close_allowed = False
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._tasks = TaskSet("window")
        self._panes_placed = False

        self._show_title()
        self.setWindowIcon(app_icon())
        self.setMinimumSize(QSize(MIN_WIDTH, MIN_HEIGHT))
        self.announcer = Announcer(self, self)
        self._build()
        self._bind()
        self._first_run_size = restore_window(self, settings.window_state())

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        central = QWidget(self)
        central.setObjectName("Central")
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.top_bar = TopBar(demo=self.controller.demo, parent=central)
        self.status_chip = self.top_bar.status_chip
        self.demo_badge = self.top_bar.demo_badge
        self.avatar_combo = self.top_bar.avatar_combo
        self.language_combo = self.top_bar.language_combo
        self.session_button = self.top_bar.session_button
        self.settings_button = self.top_bar.settings_button
        root.addWidget(self.top_bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, central)
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        left = QWidget(self.splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(14, 14, 14, 14)
        left_layout.setSpacing(12)
        self.stream_view = StreamView(left)
        self.stream_view.set_allow_microphone(self.controller.settings.voice_route == "page")
        # Queued: the question waits until the web view has finished refusing the navigation.
        self.stream_view.link_requested.connect(self.offer_link,
                                                Qt.ConnectionType.QueuedConnection)
        self.banner = Banner(left)
        self.stream_area = StreamArea(self.stream_view, self.banner, left)
        self.stream_area.setMinimumSize(240, 135)
        self.talk_bar = TalkBar(left)
        left_layout.addWidget(self.stream_area, 1)
        left_layout.addWidget(self.talk_bar)

        self.side_panel = ConversationPanel(self.splitter)
        self.subtitle = self.side_panel.subtitle
        self.conversation = self.side_panel.conversation
        self.message_edit = self.side_panel.message_edit
        self.send_button = self.side_panel.send_button
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.side_panel)
        # A wider window mostly widens the stream, but the conversation grows a little too.
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        root.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.endpoint_label = QLabel("", self)
        self.token_label = QLabel("", self)  # where sign-in is kept: app_runtime fills it in
        self.statusBar().addWidget(self.endpoint_label, 1)
        self.statusBar().addPermanentWidget(self.token_label)
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().setContentsMargins(10, 0, 10, 0)  # not flush with the window's edge

    def _bind(self) -> None:
        c = self.controller
        self.banners = WindowBanners(self.banner, c, self, parent=self)
        self.session = SessionBinding(
            c, SessionParts(self.top_bar, self.stream_view, self.side_panel, self.talk_bar,
                            self.endpoint_label),
            self.banners, announcer=self.announcer, closing=lambda: self._closing, parent=self)
        self.talk = TalkBinding(c, self.talk_bar, self.side_panel, self.banners,
                                announcer=self.announcer, refresh=self.session.refresh,
                                parent=self)
        self.players = StreamPlayerBinding(c, self.settings_service, self.stream_view,
                                           self.stream_area, parent=self)
        self.sound_button = self.players.sound_button
        self.health = StreamHealthBinding(c, self.stream_view, self.stream_area,
                                          self.conversation, self.banners,
                                          open_in_browser=self.open_stream_in_browser,
                                          window=self)
        self.stream_health = self.health.health
        self.turns = self.health.turns
        self.stats_overlay = self.health.overlay
        self.stats_action = self.health.stats_action
        self.export_latencies_action = self.health.export_action
        self.addAction(self.stats_action)  # Ctrl+Shift+S works with the menu closed
        self.diagnostics = DiagnosticsBinding(c, self.turns.log, self.banner,
                                              spawn=self._tasks.spawn, window=self)
        self.setup_check = SetupCheckBinding(c, self.banner, window=self,
                                             announce=self.announcer.announce)
        self.settings_flow = SettingsFlow(c, self.settings_service, self.banners, self,
                                          hooks=SettingsHooks(spawn=self._tasks.spawn,
                                                              follow=self._follow_settings),
                                          parent=self)
        self.window_actions = WindowActions(
            self, self.banner, handlers={
                Command.SESSION: lambda: press_if_usable(self.session_button),
                Command.FOCUS_MESSAGE: self.focus_message_box,
                Command.MUTE: lambda: press_if_usable(self.talk_bar.mute_button),
                Command.AVATAR_SOUND: self.sound_button.toggle,
                Command.HANDS_FREE: lambda: press_if_usable(self.talk_bar.hands_free_button),
                Command.SETTINGS: self.open_settings,
                Command.SHORTCUTS: self.show_shortcuts,
                Command.DISMISS: self.banner.dismiss,
                Command.QUIT: self.close,
            }, push_to_talk_key=lambda: self.controller.settings.push_to_talk_key, parent=self)
        actions = self.window_actions.actions
        self.quit_action = actions[Command.QUIT]
        self.settings_action = actions[Command.SETTINGS]
        self.gear_menu = self.window_actions.build_gear_menu(
            self.top_bar, [self.setup_check.action, self.stats_action,
                           self.export_latencies_action, self.diagnostics.action])
        self.banner.announced.connect(self.announcer.announce)
        self.banner.changed.connect(self._order_focus)
        self.talk.watch_keys(self)
        press_all_with_return(self)
        focus_by_keyboard_only(*self.findChildren(QAbstractButton), *self.findChildren(QComboBox))
        self._order_focus()
        self.session.refresh()

    # ------------------------------------------------------------------ keyboard
    @Slot()
    def _order_focus(self) -> None:
        """Tab order: top bar, the banner's buttons, the stream, the talk bar, the
        conversation, the message box and Send."""
        press_with_return(*self.banner.action_buttons())
        focus_by_keyboard_only(*self.banner.action_buttons())
        self.talk.watch_keys(self.banner)
        chain: list[QWidget] = [
            self.avatar_combo, self.language_combo, self.session_button, self.settings_button,
            *self.banner.focus_chain(), self.stream_area, self.sound_button,
            self.talk_bar.talk_button,
            self.talk_bar.record_button, self.talk_bar.hands_free_button,
            self.talk_bar.mute_button, self.talk_bar.mic_picker, self.conversation,
            self.conversation.jump_button, self.message_edit, self.send_button]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    @Slot()
    def show_shortcuts(self) -> None:
        self.window_actions.show_shortcuts()

    @Slot()
    def focus_message_box(self) -> None:
        if self.message_edit.isEnabled():
            self.message_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.message_edit.selectAll()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._panes_placed:
            self._panes_placed = True
            place_panes(self.splitter, self.settings_service.window_state().conversation_width)
            if self._first_run_size:  # the web view then copies frames instead of scaling
                settings = self.controller.settings
                open_to_show(self, self.splitter, self.stream_view,
                             QSize(settings.stream_width, settings.stream_height))
            # The stream has the focus at first: the push-to-talk key works at once, and Tab
            # goes on to the controls.
            self.stream_area.setFocus(Qt.FocusReason.OtherFocusReason)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.talk.push_to_talk.cancel()  # a hold must not outlive the window's focus
        super().changeEvent(event)

    # ------------------------------------------------------------------ banner buttons
    @Slot()
    def retry_connect(self) -> None:
        self._tasks.spawn(self.controller.reconnect())

    @Slot()
    def show_stream_directly(self) -> None:
        if self.players.show_web_directly():
            self.health.begin()

    @Slot(str)
    def offer_link(self, url: str) -> None:
        """The stream page wanted to leave its site (a link the user clicked): the view refused;
        open it in the user's browser if they say so."""
        site = without_secrets(url)
        if self.confirm("Open link in browser?",
                        f"The avatar's stream wants to open {site}, which is not part of the "
                        "stream. Open it in your web browser?"):
            self.open_external(url)

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Open
                                      | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Open

    @Slot()
    def open_stream_in_browser(self) -> None:
        stream = self.controller.session.stream
        if stream is not None:
            self.banners.show_browser_outcome(self.open_external(stream.url))

    # ------------------------------------------------------------------ settings
    @property
    def sign_in_note(self) -> str:
        return self.settings_flow.sign_in_note

    @sign_in_note.setter
    def sign_in_note(self, note: str) -> None:
        self.settings_flow.sign_in_note = note

    @Slot()
    def open_settings(self) -> None:
        if not self._closing:
            self.settings_flow.open_settings()

    def make_settings_dialog(self) -> SettingsDialog:
        return self.settings_flow.make_settings_dialog()

    def apply_settings(self, new: Settings) -> SettingsChange:
        return self.settings_flow.apply_settings(new)

    def _follow_settings(self, change: SettingsChange) -> None:
        new = change.new
        self.demo_badge.setVisible(self.controller.demo)
        self._show_title()
        self.stream_view.set_allow_microphone(new.voice_route == "page")
        self.talk_bar.set_hands_free(self.controller.voice.hands_free)
        self.talk.fill_microphones()
        if change.look_changed:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, new.theme)
        if change.keys_changed:
            self.talk.show_push_to_talk_key(new.push_to_talk_key)
            self.stream_area.set_push_to_talk_key(self.talk.push_to_talk.key_text)

    def _show_title(self) -> None:
        self.setWindowTitle(f"{APP_NAME} — demo" if self.controller.demo else APP_NAME)

    # ------------------------------------------------------------------ turn latencies
    @property
    def ask_save_path(self) -> Callable[[str], str]:
        return self.health.ask_save_path

    @ask_save_path.setter
    def ask_save_path(self, ask: Callable[[str], str]) -> None:
        self.health.ask_save_path = ask

    def export_turn_latencies(self, path: str | Path) -> bool:
        return self.health.export(path)

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
            self.settings_service.remember_window(capture_window(self, self.splitter))
            self.banners.show_closing()
            self.session.refresh()
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
