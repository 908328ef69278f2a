"""Which banner the main window shows for each connection, session and stream event.

It owns the banner's bookkeeping: the busy-retry countdown, the timer that hides a success
banner, and whether a voice problem is showing (which "Connecting stream…" and "Live" must not
cover). The window calls it from its slots, so the order of effects per signal is the window's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Slot

from ravatar_live.live.controller import AppController
from ravatar_live.live.error_kinds import ErrorKind
from ravatar_live.live.states import ConnectionState, SessionState, StreamStage
from ravatar_live.ui.banner import Banner, BannerKind

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
SUCCESS_BANNER_MS = 2500

BannerActions = tuple[tuple[str, Callable[[], object]], ...]


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
        self._problem_banner = False  # the banner shows a voice problem the user must see
        self._countdown_left = 0
        self._countdown_text = ""
        self._countdown_attempt = 0
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._on_countdown_tick)
        self._success_timer = QTimer(self)
        self._success_timer.setSingleShot(True)
        self._success_timer.setInterval(SUCCESS_BANNER_MS)
        self._success_timer.timeout.connect(self._hide_success_banner)
        banner.shown_message.connect(self._on_banner_replaced)
        banner.dismissed.connect(self._on_banner_replaced)

    # ------------------------------------------------------------------ connection
    def on_connection_state(self, state: str) -> None:
        if state == ConnectionState.CONNECTING.value:
            self.banner.show_message(BannerKind.INFO, "Connecting…",
                                     "Signing in to the RAVATAR service.", dismissable=False)

    def on_connected(self) -> None:
        # "Connecting…" or an old connection error is stale once connected and idle.
        if self.banner.kind in (BannerKind.INFO, BannerKind.ERROR) and \
                self._controller.session.state.can_start:
            self.banner.clear()

    def on_connection_failed(self, kind: str, message: str) -> None:
        self.banner.show_message(BannerKind.ERROR, ERROR_TITLES.get(kind, "Cannot connect"),
                                 message, actions=(("Try again", self._host.retry_connect),))

    def on_socket_lost(self, message: str) -> None:
        if self._host.closing:
            return
        self.banner.show_message(BannerKind.WARNING, LINK_LOST_TITLE, message,
                                 actions=(("Reconnect", self._host.retry_connect),))

    def on_link_restored(self) -> None:
        # Only the link warning is stale now; any other banner still says something true.
        if self.banner.kind is BannerKind.WARNING and self.banner.title() == LINK_LOST_TITLE:
            self.banner.show_message(BannerKind.SUCCESS, "Chat connection restored",
                                     "Anything you typed meanwhile has been sent.")
            self._success_timer.start()

    # ------------------------------------------------------------------ session
    def on_session_state(self, state: str) -> None:
        self._countdown.stop()
        if self._host.closing and state != SessionState.ENDING.value:
            return
        if state == SessionState.CONNECTING.value:
            self.banner.show_message(BannerKind.INFO, "Connecting…", dismissable=False)
        elif state == SessionState.STARTING.value:
            self.banner.show_message(BannerKind.INFO, "Starting session…",
                                     "Asking RAVATAR for an avatar.", dismissable=False)
        elif state == SessionState.ENDING.value:
            self.banner.show_message(BannerKind.INFO, "Ending session…", dismissable=False)
        elif state == SessionState.IDLE.value:
            self.banner.show_message(BannerKind.INFO, "Cancelled",
                                     "No session was started.")

    def on_retry_scheduled(self, attempt: int, delay_s: float, message: str) -> None:
        self._countdown_left = max(1, round(delay_s))
        self._countdown_text = message
        self._countdown_attempt = attempt
        self.banner.show_message(
            BannerKind.WARNING, "All avatars are busy", self._countdown_message(),
            actions=(("Cancel", self._controller.cancel_start),), dismissable=False)
        self._countdown.start()

    def _countdown_message(self) -> str:
        return (f"{self._countdown_text} Retrying in {self._countdown_left} s "
                f"(attempt {self._countdown_attempt + 1}).")

    @Slot()
    def _on_countdown_tick(self) -> None:
        self._countdown_left -= 1
        if self._countdown_left <= 0:
            self._countdown.stop()
            self.banner.show_message(BannerKind.INFO, "Starting session…", "Trying again.",
                                     actions=(("Cancel", self._controller.cancel_start),),
                                     dismissable=False)
            return
        self.banner.set_text(self._countdown_message())

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
        self.banner.show_message(BannerKind.ERROR, ERROR_TITLES.get(kind, "Session failed"),
                                 message, actions=actions)

    def on_session_ended(self, acknowledged: bool) -> None:
        if acknowledged:
            self.banner.show_message(BannerKind.INFO, "Session ended",
                                     "Start a new session to talk again.")
        else:
            self.banner.show_message(
                BannerKind.WARNING, "Session ended",
                "The service did not confirm the end in time; it will be released shortly.")

    def show_closing(self) -> None:
        """The window is closing: no retry may run, and a live session is being ended."""
        self._countdown.stop()
        if self._controller.session.stream is not None:
            self.banner.show_message(BannerKind.INFO, "Ending session…",
                                     "Letting RAVATAR know before closing.",
                                     dismissable=False)

    # ------------------------------------------------------------------ stream
    def on_stream_stage(self, stage: str) -> None:
        if self._host.closing:
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
            self._success_timer.start()
        elif stage == StreamStage.CLOSED.value:
            self.banner.show_message(BannerKind.INFO, "Stream closed",
                                     "The avatar's stream ended.")

    def on_stream_failed(self, message: str) -> None:
        self.banner.show_message(
            BannerKind.ERROR, "The stream could not be shown here", message,
            actions=(("Show it directly", self._host.show_stream_directly),
                     ("Open in browser", self._host.open_stream_in_browser)))

    def show_browser_outcome(self, opened: bool) -> None:
        if opened:
            self.banner.show_message(
                BannerKind.INFO, "Opened in your browser",
                "The avatar plays in the browser; keep this window open to talk and type.")
        else:
            self.banner.show_message(
                BannerKind.ERROR, "No browser could be opened",
                "Show the stream directly in this window instead.",
                actions=(("Show it directly", self._host.show_stream_directly),))

    # ------------------------------------------------------------------ chat, voice, export
    def on_send_failed(self, message: str) -> None:
        self.banner.show_message(BannerKind.WARNING, "Message not sent", message)

    def show_voice_problem(self, kind: str, message: str) -> str:
        """Show a microphone problem that "Live" must not hide; returns its title."""
        title = ERROR_TITLES.get(kind, "Microphone problem")
        self.banner.show_message(BannerKind.ERROR, title, message,
                                 actions=(("Choose microphone", self._host.open_settings),))
        self._problem_banner = True
        return title

    def show_export_failed(self, target: Path, reason: str,
                           retry: Callable[[], object]) -> None:
        self.banner.show_message(
            BannerKind.ERROR, "Turn latencies not saved",
            f"Could not write {target.name}: {reason}. Choose another folder and try again.",
            actions=(("Try again", retry),))

    def show_export_saved(self, target: Path, count: int) -> None:
        self.banner.show_message(
            BannerKind.INFO, "Turn latencies saved",
            f"{count} turn{'s' if count != 1 else ''} written to {target}.")

    # ------------------------------------------------------------------ bookkeeping
    @Slot()
    def _on_banner_replaced(self) -> None:
        self._problem_banner = False

    def _problem_showing(self) -> bool:
        return self.banner.isVisible() and self._problem_banner

    @Slot()
    def _hide_success_banner(self) -> None:
        if self.banner.kind is BannerKind.SUCCESS:
            self.banner.clear()
