"""Which banner message each connection, session, stream, voice and export event posts.

Every event posts under its own topic (see `Topic`) and withdraws what it made stale; the
banner then shows the most important message of all (ui/banner.py). This is how a start error
outlives the repeating "Chat connection lost" warning, and why a microphone problem is not
covered by "Live". It also runs the busy-retry countdown.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Slot

from ravatar_live.live.controller import AppController
from ravatar_live.live.error_kinds import ErrorKind
from ravatar_live.live.states import ConnectionState, SessionState, StreamStage
from ravatar_live.ui.banner import Banner, BannerActions, BannerKind

LINK_LOST_TITLE = "Chat connection lost"
BUSY_TITLE = "All avatars are busy"
BUSY_TEXT = "Every avatar is in a conversation at the moment."
ERROR_TITLES: dict[str, str] = {
    ErrorKind.BUSY: BUSY_TITLE,
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
SUCCESS_BANNER_MS = 2500


class Topic(StrEnum):
    CONNECTION = "connection"  # signing in, /connection, a connection that failed
    LINK = "link"  # the chat socket dropped and is reconnecting
    SESSION = "session"  # starting, busy retries, live, ending, failures
    STREAM = "stream"  # the stream page: loading, closed, cannot be shown
    VOICE = "voice"  # microphone problems
    SEND = "send"  # a message that could not be sent
    EXPORT = "export"  # the latency export
    RESTART = "restart"  # the question whether to restart the session for new settings


class BannerHost(Protocol):
    """What the banners' buttons do; looked up when a banner is shown, so a replaced
    attribute on the window takes effect."""

    @property
    def closing(self) -> bool: ...

    def retry_connect(self) -> None: ...

    def open_settings(self) -> None: ...

    def show_stream_directly(self) -> None: ...

    def open_stream_in_browser(self) -> None: ...


class WindowBanners(QObject):
    def __init__(self, banner: Banner, controller: AppController, host: BannerHost,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.banner = banner
        self._controller = controller
        self._host = host
        self._countdown_left = 0
        self._countdown_attempt = 0
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._on_countdown_tick)

    def _post(self, topic: Topic, kind: BannerKind, title: str, text: str = "", *,
              actions: BannerActions = (), dismissable: bool = True,
              timeout_ms: int = 0) -> None:
        self.banner.post(topic.value, kind, title, text, actions=actions,
                         dismissable=dismissable, timeout_ms=timeout_ms)

    # ------------------------------------------------------------------ connection
    def on_connection_state(self, state: str) -> None:
        if state == ConnectionState.CONNECTING.value:
            self._post(Topic.CONNECTION, BannerKind.INFO, "Connecting…",
                       "Signing in to the RAVATAR service.", dismissable=False)

    def on_connected(self) -> None:
        self.banner.withdraw(Topic.CONNECTION)
        self.banner.withdraw(Topic.LINK)

    def on_connection_failed(self, kind: str, message: str) -> None:
        self.banner.withdraw(Topic.LINK)  # "Reconnecting…" is over: this is why
        self._post(Topic.CONNECTION, BannerKind.ERROR, ERROR_TITLES.get(kind, "Cannot connect"),
                   message, actions=(("Try again", self._host.retry_connect),))

    def on_socket_lost(self, message: str) -> None:
        if self._host.closing:
            return
        self._post(Topic.LINK, BannerKind.WARNING, LINK_LOST_TITLE, message,
                   actions=(("Reconnect", self._host.retry_connect),))

    def on_link_restored(self) -> None:
        if self.banner.message(Topic.LINK) is not None:
            self._post(Topic.LINK, BannerKind.SUCCESS, "Chat connection restored",
                       "Anything you typed meanwhile has been sent.",
                       timeout_ms=SUCCESS_BANNER_MS)

    # ------------------------------------------------------------------ session
    def on_session_state(self, state: str) -> None:
        self._countdown.stop()
        if self._host.closing and state != SessionState.ENDING.value:
            return
        if state == SessionState.CONNECTING.value:
            self._post(Topic.SESSION, BannerKind.INFO, "Connecting…", dismissable=False)
        elif state == SessionState.STARTING.value:
            self._post(Topic.SESSION, BannerKind.INFO, "Starting session…",
                       "Asking RAVATAR for an avatar.", dismissable=False)
        elif state == SessionState.LIVE.value:
            self.banner.withdraw(Topic.SESSION)
        elif state == SessionState.ENDING.value:
            self._post(Topic.SESSION, BannerKind.INFO, "Ending session…", dismissable=False)
        elif state == SessionState.IDLE.value:
            self._post(Topic.SESSION, BannerKind.INFO, "Cancelled", "No session was started.",
                       timeout_ms=4 * SUCCESS_BANNER_MS)

    def on_retry_scheduled(self, attempt: int, delay_s: float) -> None:
        self._countdown_left = max(1, round(delay_s))
        self._countdown_attempt = attempt
        self._post(Topic.SESSION, BannerKind.WARNING, BUSY_TITLE, self._countdown_message(),
                   actions=(("Cancel", self._controller.cancel_start),), dismissable=False)
        self._countdown.start()

    def _countdown_message(self) -> str:
        return (f"{BUSY_TEXT} Retrying in {self._countdown_left} s "
                f"(attempt {self._countdown_attempt + 1}).")

    @Slot()
    def _on_countdown_tick(self) -> None:
        self._countdown_left -= 1
        if self._countdown_left <= 0:
            self._countdown.stop()
            self._post(Topic.SESSION, BannerKind.INFO, "Starting session…", "Trying again.",
                       actions=(("Cancel", self._controller.cancel_start),), dismissable=False)
            return
        self._post(Topic.SESSION, BannerKind.WARNING, BUSY_TITLE, self._countdown_message(),
                   actions=(("Cancel", self._controller.cancel_start),), dismissable=False)

    def on_session_failed(self, kind: str, message: str) -> None:
        self._countdown.stop()
        actions: BannerActions = ()
        if kind in (ErrorKind.BUSY, ErrorKind.TIMEOUT, ErrorKind.UNKNOWN,
                    ErrorKind.UNREACHABLE, ErrorKind.MALFORMED):
            actions = (("Try again", self._controller.start_session),)
        elif kind == ErrorKind.AUTH:
            actions = (("Sign in again", self._host.retry_connect),
                       ("Settings", self._host.open_settings))
        elif kind == ErrorKind.INVALID:
            actions = (("Settings", self._host.open_settings),)
        if kind == ErrorKind.BUSY:
            # The service's words name "AI assistants"; the title names avatars: say one thing.
            message = f"{BUSY_TEXT} Try again in a minute."
        self.banner.withdraw(Topic.STREAM)
        self._post(Topic.SESSION, BannerKind.ERROR, ERROR_TITLES.get(kind, "Session failed"),
                   message, actions=actions)

    def on_session_ended(self, acknowledged: bool) -> None:
        self.banner.withdraw(Topic.STREAM)
        self.banner.withdraw(Topic.RESTART)
        if acknowledged:
            self._post(Topic.SESSION, BannerKind.INFO, "Session ended",
                       "Start a new session to talk again.")
        else:
            self._post(Topic.SESSION, BannerKind.WARNING, "Session ended",
                       "The service did not confirm the end in time; it will be released "
                       "shortly.")

    def show_closing(self) -> None:
        """The window is closing: no retry may run, nothing else matters now."""
        self._countdown.stop()
        self.banner.withdraw_all()
        if self._controller.session.stream is not None:
            self._post(Topic.SESSION, BannerKind.INFO, "Ending session…",
                       "Letting RAVATAR know before closing.", dismissable=False)

    def ask_restart(self, restart: Callable[[], object]) -> None:
        """Offer to restart the live session so new settings apply now (a banner, not a
        dialog: the question waits while the user keeps talking)."""
        self._post(Topic.RESTART, BannerKind.INFO, "Restart the session?",
                   "The new settings apply when a session starts. Restart the live session "
                   "now?", actions=(("Restart now", restart),
                                    ("Later", lambda: self.banner.withdraw(Topic.RESTART))))

    # ------------------------------------------------------------------ stream
    def on_stream_stage(self, stage: str) -> None:
        if self._host.closing:
            return
        if stage == StreamStage.LOADING.value:
            self._post(Topic.STREAM, BannerKind.INFO, "Connecting stream…",
                       "Waiting for the avatar's video.", dismissable=False)
        elif stage == StreamStage.PLAYING.value:
            self.banner.withdraw(Topic.STREAM)
            self._post(Topic.SESSION, BannerKind.SUCCESS, "Live", "The avatar can hear you now.",
                       timeout_ms=SUCCESS_BANNER_MS)
        elif stage == StreamStage.CLOSED.value:
            self._post(Topic.STREAM, BannerKind.INFO, "Stream closed",
                       "The avatar's stream ended.")

    def on_stream_failed(self, message: str) -> None:
        self._post(Topic.STREAM, BannerKind.ERROR, "The stream could not be shown here", message,
                   actions=(("Show it directly", self._host.show_stream_directly),
                            ("Open in browser", self._host.open_stream_in_browser)))

    def show_browser_outcome(self, opened: bool) -> None:
        # The answer to the message whose "Open in browser" was pressed takes its place.
        topic = self.banner.topic or Topic.STREAM.value
        if opened:
            self.banner.post(topic, BannerKind.INFO, "Opened in your browser",
                             "The avatar plays in the browser; keep this window open to talk "
                             "and type.")
        else:
            self.banner.post(topic, BannerKind.ERROR, "No browser could be opened",
                             "Show the stream directly in this window instead.",
                             actions=(("Show it directly", self._host.show_stream_directly),))

    # ------------------------------------------------------------------ chat, voice, export
    def on_send_failed(self, message: str) -> None:
        self._post(Topic.SEND, BannerKind.WARNING, "Message not sent", message)

    def show_voice_problem(self, kind: str, message: str) -> str:
        """Show a microphone problem (until audio flows again); returns its title."""
        title = ERROR_TITLES.get(kind, "Microphone problem")
        self._post(Topic.VOICE, BannerKind.ERROR, title, message,
                   actions=(("Choose microphone", self._host.open_settings),))
        return title

    def on_voice_working(self) -> None:
        """Audio flows again: a microphone problem is over."""
        self.banner.withdraw(Topic.VOICE)

    def show_export_failed(self, target: Path, reason: str,
                           retry: Callable[[], object]) -> None:
        self._post(Topic.EXPORT, BannerKind.ERROR, "Turn latencies not saved",
                   f"Could not write {target.name}: {reason}. Choose another folder and try "
                   "again.", actions=(("Try again", retry),))

    def show_export_saved(self, target: Path, count: int) -> None:
        self._post(Topic.EXPORT, BannerKind.INFO, "Turn latencies saved",
                   f"{count} turn{'s' if count != 1 else ''} written to {target}.")
