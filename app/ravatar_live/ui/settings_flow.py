"""Opening Settings and living with the answer: the settings service saves and applies, the window
follows (look, push-to-talk key, demo badge, microphones), and a change that needs a new session
is offered as a restart on the banner.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.live.controller import AppController
from ravatar_live.live.states import SessionState
from ravatar_live.settings import Settings
from ravatar_live.settings_service import SettingsChange, SettingsService
from ravatar_live.ui.settings_dialog import SettingsDialog
from ravatar_live.ui.window_banners import WindowBanners

Spawn = Callable[[Coroutine[object, object, object]], object]


@dataclass
class SettingsHooks:
    """What the window does when settings change."""

    spawn: Spawn  # run a coroutine on the window's loop, keeping its task
    follow: Callable[[SettingsChange], None]  # update the window's own parts


class SettingsFlow(QObject):
    def __init__(self, controller: AppController, service: SettingsService,
                 banners: WindowBanners, window: QWidget, *, hooks: SettingsHooks,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = controller
        self._service = service
        self._banners = banners
        self._window = window
        self._hooks = hooks
        #: Where the sign-in token is kept, for the dialog to repeat (set by the app).
        self.sign_in_note = ""
        self.dialog: SettingsDialog | None = None

    def make_settings_dialog(self) -> SettingsDialog:
        """The settings dialog, filled from the current settings and `/connection`."""
        info = self._c.connection.info
        return SettingsDialog(
            self._c.settings, avatars=info.avatars if info else (),
            languages=info.languages if info else (), devices=self._c.voice.devices(),
            speakers=_speakers(),
            demo=self._c.force_demo, sign_in_note=self.sign_in_note,
            turn_note=self._c.voice.turn_note, global_key_note=self._c.global_talk.note(),
            parent=self._window)

    @Slot()
    def open_settings(self) -> SettingsDialog:
        """Open the dialog window-modally (the loop keeps running); Save applies."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        dialog = self.make_settings_dialog()
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings()))
        dialog.finished.connect(self._on_dialog_finished)
        dialog.open()
        self.dialog = dialog
        return dialog

    @Slot()
    def _on_dialog_finished(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def apply_settings(self, new: Settings) -> SettingsChange:
        """Save and apply; reconnect for new service settings, offer a restart for a new size
        or avatar while live."""
        change = self._service.apply(new)
        self._hooks.follow(change)
        if change.service_changed:
            self._hooks.spawn(self._c.reconnect())
            return change
        if change.avatar_changed:
            self._c.choose_avatar(new.avatar_id)
        if change.session_changed and self._c.session.state is SessionState.LIVE:
            self._banners.ask_restart(self.restart_session)
        return change

    @Slot()
    def restart_session(self) -> None:
        self._hooks.spawn(self._c.restart_session())


def _speakers() -> list[AudioDevice]:
    # Imported when Settings opens: PortAudio / Qt Multimedia are not loaded at start-up.
    from ravatar_live.stream.audio_output import list_output_devices  # noqa: PLC0415

    return list_output_devices()
