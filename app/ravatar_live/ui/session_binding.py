"""The connection, the live session and the stream page, shown in the window.

It binds the AppController's connection, session and stream signals to the top bar (button,
pickers, status chip), the stream view's placeholder and the banner policy, and keeps every
control's enabled state in step (`refresh`). The status chip follows the chat link too, so it
says "Reconnecting…" while the banner says the chat connection was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel

from ravatar_live.api.link_status import LinkStatus
from ravatar_live.api.models import ConnectionInfo
from ravatar_live.live.controller import AppController
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.ui.announcer import Announcer
from ravatar_live.ui.conversation_panel import ConversationPanel
from ravatar_live.ui.stream_view import StreamView
from ravatar_live.ui.talk_bar import TalkBar
from ravatar_live.ui.top_bar import TopBar
from ravatar_live.ui.window_banners import WindowBanners


@dataclass(frozen=True)
class SessionParts:
    """The widgets the session shows itself in."""

    top_bar: TopBar
    stream_view: StreamView
    side_panel: ConversationPanel
    talk_bar: TalkBar
    endpoint_label: QLabel


class SessionBinding(QObject):
    def __init__(self, controller: AppController, parts: SessionParts, banners: WindowBanners,
                 *, announcer: Announcer, closing: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = controller
        self._parts = parts
        self._banners = banners
        self._announcer = announcer
        self._closing = closing
        self._status = ""
        self._bind()

    def _bind(self) -> None:
        c, parts = self._c, self._parts
        c.connection.state_changed.connect(self._on_connection_state)
        c.connection.connected.connect(self._on_connected)
        c.connection.failed.connect(self._on_connection_failed)
        c.connection.socket_lost.connect(self._on_socket_lost)
        c.connection.link_restored.connect(self._on_link_restored)
        c.connection.link_changed.connect(self._on_link_changed)
        c.session.state_changed.connect(self._on_session_state)
        c.session.retry_scheduled.connect(self._on_retry_scheduled)
        c.session.failed.connect(self._on_session_failed)
        c.session.ended.connect(self._on_session_ended)
        c.stream.stage_changed.connect(self._on_stream_stage)
        c.stream.failed.connect(self._on_stream_failed)
        c.avatar_changed.connect(self._on_avatar_changed)
        parts.top_bar.session_button.clicked.connect(self.toggle_session)
        parts.top_bar.avatar_combo.activated.connect(self._on_avatar_picked)
        parts.top_bar.language_combo.activated.connect(self._on_language_picked)

    # ------------------------------------------------------------------ state -> controls
    @Slot()
    def refresh(self) -> None:
        """Every control's enabled state and the status chip, from the services' state."""
        c, parts = self._c, self._parts
        connected = c.connection.state is ConnectionState.CONNECTED
        state = c.session.state
        busy = self._closing()
        parts.top_bar.show_controls(state, connected=connected, has_avatar=bool(c.avatar_id),
                                    busy=busy)
        parts.side_panel.set_can_type(connected and not busy)
        parts.talk_bar.set_live(state is SessionState.LIVE and not busy)
        link = c.connection.link
        status = parts.top_bar.show_status(state, c.connection.state,
                                           link.state if link is not None else None)
        if status != self._status:
            self._status = status
            self._announcer.announce(f"Status: {status.lstrip('● ')}")

    # ------------------------------------------------------------------ connection
    @Slot(str)
    def _on_connection_state(self, state: str) -> None:
        self._banners.on_connection_state(state)
        self.refresh()

    @Slot(object)
    def _on_connected(self, info: ConnectionInfo) -> None:
        endpoint = self._c.connection.endpoint
        if endpoint is not None:
            self._parts.endpoint_label.setText(
                f"Demo mode: built-in simulator at {endpoint.api_url}" if endpoint.demo
                else f"{endpoint.api_url} · project {endpoint.project_id}")
        self._parts.top_bar.fill_pickers(info)
        self._on_avatar_changed(self._c.avatar_id)
        self._parts.top_bar.select_language(self._c.chat.language)
        self._banners.on_connected()
        self.show_idle_placeholder()
        self.refresh()

    @Slot(str, str)
    def _on_connection_failed(self, kind: str, message: str) -> None:
        self._banners.on_connection_failed(kind, message)
        self._parts.stream_view.show_placeholder("Not connected")
        self.refresh()

    @Slot(str)
    def _on_socket_lost(self, message: str) -> None:
        self._banners.on_socket_lost(message)

    @Slot()
    def _on_link_restored(self) -> None:
        self._banners.on_link_restored()

    @Slot(object)
    def _on_link_changed(self, _status: LinkStatus) -> None:
        self.refresh()

    @Slot(str)
    def _on_avatar_changed(self, avatar_id: str) -> None:
        name = self._parts.top_bar.select_avatar(avatar_id)
        if name is not None:
            self._parts.side_panel.show_avatar_name(name)
        self.refresh()

    @Slot(int)
    def _on_avatar_picked(self, index: int) -> None:
        self._c.choose_avatar(self._parts.top_bar.avatar_id_at(index))

    @Slot(int)
    def _on_language_picked(self, index: int) -> None:
        self._c.choose_language(self._parts.top_bar.language_code_at(index))

    # ------------------------------------------------------------------ session
    @Slot()
    def toggle_session(self) -> None:
        """Start, cancel or end the session, whichever the button offers now."""
        state = self._c.session.state
        if state is SessionState.LIVE:
            self._c.end_session()
        elif state in (SessionState.STARTING, SessionState.CONNECTING):
            self._c.cancel_start()
        elif state.can_start and self._parts.top_bar.session_button.isEnabled():
            self._c.start_session()

    @Slot(str)
    def _on_session_state(self, state: str) -> None:
        self._banners.on_session_state(state)
        if self._closing() and state != SessionState.ENDING.value:
            self.refresh()
            return
        if state == SessionState.STARTING.value:
            self._parts.stream_view.show_placeholder("Starting session…")
        elif state == SessionState.IDLE.value:
            self.show_idle_placeholder()
        self.refresh()

    @Slot(int, float, str)
    def _on_retry_scheduled(self, attempt: int, delay_s: float, _message: str) -> None:
        self._banners.on_retry_scheduled(attempt, delay_s)

    @Slot(str, str)
    def _on_session_failed(self, kind: str, message: str) -> None:
        self._banners.on_session_failed(kind, message)
        self._parts.stream_view.show_placeholder("No live session")
        self.refresh()

    @Slot(str, bool)
    def _on_session_ended(self, _license_id: str, acknowledged: bool) -> None:
        if self._closing():
            return
        self.show_idle_placeholder("Session ended")
        self._banners.on_session_ended(acknowledged)
        self.refresh()

    @Slot(str)
    def _on_stream_stage(self, stage: str) -> None:
        self._banners.on_stream_stage(stage)

    @Slot(str, str)
    def _on_stream_failed(self, _reason: str, message: str) -> None:
        self._banners.on_stream_failed(message)

    def show_idle_placeholder(self, text: str = "") -> None:
        name = self._parts.top_bar.avatar_combo.currentText() or "the avatar"
        self._parts.stream_view.show_placeholder(text or f"Start a session to meet {name}")
