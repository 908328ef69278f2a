"""One voice route at a time (Settings › Voice › Voice goes through):

- "app": the app's own microphone, sent as PCM over the chat WebSocket (`VoiceService`); the
  stream page gets no microphone at all (the web view neither grants nor frames it with one).
- "page": the stream's own WebRTC microphone (`PageMicrophone`): RAVATAR's page in the web view,
  or the native player's microphone track fed by `NativeMicFeed`. The app's capture sends
  nothing to the chat socket: the voice service stays inactive, so it never opens the
  microphone, and hold-to-talk and record go to the page route instead.

The talk controls (hold, record, microphone choice) come here and go to the route in use; mute
and hands-free stay the voice service's (one switch for both routes), and the page route follows
them. A live session activates the route in use; a change of route while live switches at once.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Slot

from ravatar_live.live.native_mic_feed import NativeMicFeed
from ravatar_live.live.page_microphone import PageMicrophone
from ravatar_live.live.player_choice import PlayerKind
from ravatar_live.live.stream_players import StreamPlayers
from ravatar_live.live.voice_service import VoiceService
from ravatar_live.settings import VoiceRoute

logger = logging.getLogger(__name__)


class TalkRouter(QObject):
    """See the module docstring."""

    def __init__(self, voice: VoiceService, page: PageMicrophone, feed: NativeMicFeed,
                 players: StreamPlayers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._voice = voice
        self._page = page
        self._feed = feed
        self._players = players
        self._route: VoiceRoute = "app"
        self._live = False
        page.set_hands_free(voice.hands_free)
        page.set_muted(voice.muted)
        voice.hands_free_changed.connect(page.set_hands_free)
        voice.muted_changed.connect(self._on_muted)
        players.player_changed.connect(page.on_player_changed)
        players.player_changed.connect(self._on_player_changed)
        page.native_open.connect(self._on_native_open)

    @property
    def route(self) -> VoiceRoute:
        return self._route

    @property
    def page_route(self) -> bool:
        return self._route == "page"

    def set_route(self, route: VoiceRoute) -> None:
        """Use `route` from now on (at once when live)."""
        if route == self._route:
            return
        logger.info("voice route: %s", "stream page microphone" if route == "page"
                    else "app microphone")
        was_live = self._live
        if was_live:
            self.deactivate()
        self._route = route
        self._page.set_enabled(route == "page")
        self._players.set_microphone_route(route == "page")
        if was_live:
            self.activate()

    # --- the live session ----------------------------------------------------------------------
    @Slot()
    def activate(self) -> None:
        """A live session started: open the route in use."""
        self._live = True
        if self.page_route:
            self._page.activate()
            self._follow_native()
        else:
            self._voice.activate()

    @Slot()
    def deactivate(self) -> None:
        self._live = False
        self._page.deactivate()
        self._feed.stop()
        if self._voice.active:
            self._voice.deactivate()

    # --- the talk controls ---------------------------------------------------------------------
    @Slot()
    def press(self) -> None:
        if self.page_route:
            self._page.press()
        else:
            self._voice.press()

    @Slot()
    def release(self) -> None:
        if self.page_route:
            self._page.release()
        else:
            self._voice.release()

    @Slot()
    def start_recording(self) -> None:
        if self.page_route:
            self._page.start_recording()
        else:
            self._voice.start_recording()

    @Slot()
    def stop_recording(self) -> None:
        if self.page_route:
            self._page.stop_recording()
        else:
            self._voice.stop_recording()

    @Slot(str)
    def set_device(self, device_id: str) -> None:
        self._voice.set_device(device_id)
        if self._feed.running:
            self._follow_native(restart=True)

    # --- the native player's microphone --------------------------------------------------------
    @Slot(bool)
    def _on_muted(self, muted: bool) -> None:
        self._page.set_muted(muted)
        self._follow_native()

    @Slot(str)
    def _on_player_changed(self, _kind: str) -> None:
        self._follow_native()

    @Slot(bool)
    def _on_native_open(self, is_open: bool) -> None:
        native = self._players.native
        if native is not None:
            native.set_microphone_open(is_open)

    def _follow_native(self, *, restart: bool = False) -> None:
        """The capture feeds the native player while it shows the stream in the page route,
        live and unmuted; otherwise it is closed."""
        native = self._players.native
        wanted = (self.page_route and self._live and not self._voice.muted and native is not None
                  and self._players.active is PlayerKind.NATIVE)
        if not wanted or native is None:
            self._feed.stop()
            return
        if self._feed.running and not restart:
            return
        if self._voice.controller.mic_open:
            logger.warning("the app's capture still has the microphone; not feeding the stream")
            return
        self._feed.start(native, self._voice.controller.device_id)
