"""The one place the running app's settings change and are saved; the window only asks.

`apply()` saves new settings, hands them to whoever runs with them (the AppController) and says
what changed, so the window can reconnect, restart the session or switch the look.
`remember_window()` saves the window's geometry, maximised state and pane width, and nothing else:
the running settings may carry command-line overrides that are never saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import QObject, Signal

from ravatar_live.settings import Settings
from ravatar_live.settings_store import SettingsStore

logger = logging.getLogger(__name__)

WINDOW_FIELDS: Final = ("window_geometry", "window_maximized", "conversation_width")
SOUND_FIELDS: Final = ("avatar_muted", "avatar_volume")


@dataclass(frozen=True)
class SettingsChange:
    """What a new set of settings means for the running app."""

    old: Settings
    new: Settings

    @property
    def service_changed(self) -> bool:
        """Another service or project, or another rule for unencrypted sign-in: the app must
        connect afresh."""
        return (self.old.api_url, self.old.ws_url, self.old.project_id,
                self.old.allow_plain_http_token) != (
            self.new.api_url, self.new.ws_url, self.new.project_id,
            self.new.allow_plain_http_token)

    @property
    def avatar_changed(self) -> bool:
        return bool(self.new.avatar_id) and self.new.avatar_id != self.old.avatar_id

    @property
    def session_changed(self) -> bool:
        """A running session would look different if it started now (size, avatar)."""
        return (self.old.stream_width, self.old.stream_height, self.old.avatar_id) != (
            self.new.stream_width, self.new.stream_height, self.new.avatar_id)

    @property
    def look_changed(self) -> bool:
        return self.old.theme != self.new.theme

    @property
    def keys_changed(self) -> bool:
        return self.old.push_to_talk_key != self.new.push_to_talk_key


@dataclass(frozen=True)
class WindowState:
    """The window as the user left it: geometry bytes (Qt's own format), maximised, pane."""

    geometry: str = ""  # base64 of QWidget.saveGeometry()
    maximized: bool = False
    conversation_width: int = 0


class SettingsService(QObject):
    applied = Signal(object)  # SettingsChange

    def __init__(self, store: SettingsStore | None, current: Callable[[], Settings],
                 use: Callable[[Settings], None], parent: QObject | None = None) -> None:
        """`current` gives the settings the app runs with, `use` makes it run with new ones
        (AppController.settings / update_settings). Without a store nothing is saved."""
        super().__init__(parent)
        self._store = store
        self._current = current
        self._use = use
        self._window: WindowState | None = None  # remembered during this run

    @property
    def settings(self) -> Settings:
        return self._current()

    def apply(self, new: Settings) -> SettingsChange:
        """Save `new` (it must be valid) and run with it; what changed."""
        change = SettingsChange(self._current(), new.validate())
        if self._store is not None:
            self._store.save(new)
        self._use(new)
        self.applied.emit(change)
        return change

    def window_state(self) -> WindowState:
        if self._window is not None:
            return self._window
        s = self._current()
        return WindowState(s.window_geometry, s.window_maximized, s.conversation_width)

    def remember_window(self, state: WindowState) -> bool:
        """Save the window's state (only those fields; the services never need it, so they are
        not disturbed). False when it was not saved."""
        updated = self._current().replace(window_geometry=state.geometry,
                                          window_maximized=state.maximized,
                                          conversation_width=state.conversation_width)
        problems = {name: why for name, why in updated.problems().items()
                    if name in WINDOW_FIELDS}
        if problems:
            logger.warning("window state not saved: %s", "; ".join(problems.values()))
            return False
        self._window = state
        if self._store is None:
            return True
        try:
            self._store.save_fields(updated, WINDOW_FIELDS)
        except Exception:  # the window closes whatever happens to the file
            logger.exception("saving the window's state failed")
            return False
        return True

    def remember_sound(self, muted: bool, volume: int) -> bool:
        """Save the avatar's mute and volume (only those fields: the sound control changes them
        live, the services take them directly). False when they were not saved."""
        updated = self._current().replace(avatar_muted=muted, avatar_volume=volume)
        problems = {name: why for name, why in updated.problems().items()
                    if name in SOUND_FIELDS}
        if problems:
            logger.warning("avatar sound not saved: %s", "; ".join(problems.values()))
            return False
        if self._store is None:
            return True
        try:
            self._store.save_fields(updated, SOUND_FIELDS)
        except Exception:  # the sound already changed; only remembering it failed
            logger.exception("saving the avatar's sound failed")
            return False
        return True
