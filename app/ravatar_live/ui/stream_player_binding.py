"""The stream area follows `live.stream_players`: it shows the web view or the native player's
video, whichever shows the stream now; the web view's page events go to the players service (and
its microphone handshake to the page microphone); the avatar's sound button (mute, volume) drives
both players and is remembered. The native view is made the first time the native player is used
(it needs Qt Multimedia, which the app does not load at start-up); while it shows the stream the
hidden web view lets its renderer process go (`StreamView.release_renderer`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from ravatar_live.live.controller import AppController
from ravatar_live.live.player_choice import PlayerKind
from ravatar_live.settings_service import SettingsService
from ravatar_live.ui.avatar_sound import AvatarSoundButton
from ravatar_live.ui.stream_area import StreamArea
from ravatar_live.ui.stream_view import StreamView

if TYPE_CHECKING:
    from ravatar_live.stream.player import NativeStreamPlayer
    from ravatar_live.ui.native_video import NativeVideoView

#: What the hidden web view shows once the native player took the stream over.
WEB_VIEW_LET_GO = "The app's own player shows the stream."


class StreamPlayerBinding(QObject):
    def __init__(self, controller: AppController, settings: SettingsService,
                 web_view: StreamView, area: StreamArea, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = controller
        self._settings = settings
        players = self._players = controller.players
        self._web_view = web_view
        self._area = area
        self.native_view: NativeVideoView | None = None
        self.sound_button = AvatarSoundButton(area)
        self.sound_button.hide()  # shown with a stream
        self.sound_button.set_state(controller.settings.avatar_muted,
                                    controller.settings.avatar_volume)
        self.sound_button.muted_changed.connect(self._on_sound_changed)
        self.sound_button.volume_changed.connect(self._on_sound_changed)
        settings.applied.connect(self._on_settings_applied)
        web_view.page_message.connect(players.on_web_message)
        web_view.framing_refused.connect(players.on_web_framing_refused)
        # The stream page's microphone handshake (live.page_microphone).
        web_view.mic_report.connect(controller.page_mic.on_mic_report)
        web_view.frame_loaded.connect(controller.page_mic.on_page_loaded)
        controller.page_mic.web_command.connect(web_view.post_mic_command)
        players.show_web.connect(self._show_web)
        players.show_native.connect(self._show_native)
        players.unload_web.connect(self._unload_web)
        players.player_changed.connect(self._on_player_changed)
        players.web_muted.connect(self._on_web_muted)
        players.web_gain.connect(web_view.set_avatar_gain)

    def show_web_directly(self) -> bool:
        """Load the stream page on its own in the web view (for a server that refuses to be
        framed). False when there is no stream."""
        url = self._players.show_web_directly()
        if url is None:
            return False
        self._area.show_view(self._web_view)
        self._web_view.show_direct(url)
        return True

    @Slot()
    def _on_sound_changed(self) -> None:
        muted, volume = self.sound_button.isChecked(), self.sound_button.volume_slider.value()
        self._c.adjust_sound(muted=muted, volume=volume)
        self._settings.remember_sound(muted, volume)

    @Slot(object)
    def _on_settings_applied(self, _change: object) -> None:
        current = self._c.settings
        self.sound_button.set_state(current.avatar_muted, current.avatar_volume)

    @Slot(str, int, int)
    def _show_web(self, url: str, width: int, height: int) -> None:
        self._area.show_view(self._web_view)
        self._web_view.show_stream(url, width, height)

    @Slot(object)
    def _show_native(self, player: NativeStreamPlayer) -> None:
        if self.native_view is None:
            from ravatar_live.ui.native_video import NativeVideoView  # noqa: PLC0415

            self.native_view = NativeVideoView(player.video_sink)
            self.native_view.display_area_changed.connect(player.set_display_area)
            self._area.add_view(self.native_view)
        self._area.show_view(self.native_view)
        self.sound_button.raise_()
        # The hidden web view's renderer would hold ~70 MiB for nothing while this plays.
        self._web_view.release_renderer()

    @Slot()
    def _unload_web(self) -> None:
        self._web_view.show_placeholder(WEB_VIEW_LET_GO)

    @Slot(str)
    def _on_player_changed(self, kind: str) -> None:
        if kind != PlayerKind.NATIVE.value:
            # No stream, or the web view's: the web view shows the stream or the placeholder.
            self._area.show_view(self._web_view)
        self.sound_button.setVisible(bool(kind))
        self.sound_button.raise_()

    @Slot(bool)
    def _on_web_muted(self, muted: bool) -> None:
        self._web_view.page().setAudioMuted(muted)
