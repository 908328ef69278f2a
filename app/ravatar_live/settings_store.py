"""The settings file: `Settings` in one INI file (QSettings), keyed by field name, versioned.

`SettingsStore` coerces the strings QSettings hands back to the declared types and falls back to
the default (with a warning and a notice for the user) for a value it cannot read or accept, so a
hand-edited file never crashes the app. The file carries `settings_version`: a file written by
an older version is upgraded when it is loaded, one step per version (`_UPGRADES`), and saved
back at the current version; a file from a newer version is read as far as this one understands
it and keeps its higher version number.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Final

from platformdirs import user_config_dir
from PySide6.QtCore import QSettings

from ravatar_live.settings import (
    FIELD_LABELS,
    SETTINGS_VERSION,
    VERSION_KEY,
    Settings,
    new_user_id,
)

logger = logging.getLogger(__name__)


def settings_notice(reset_fields: list[str]) -> str:
    """Plain words telling the user which settings were unreadable and reset."""
    names = ", ".join(FIELD_LABELS.get(name, name.replace("_", " ")) for name in reset_fields)
    return (f"Some saved settings could not be used and were reset to their defaults: {names}. "
            "Check them in Settings.")



def default_settings_path() -> Path:
    return Path(user_config_dir("ravatar-live", appauthor=False)) / "settings.ini"


def _coerce(raw: object, default: object) -> object:
    """Turn what QSettings returned (often a string from INI) into the default's type."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"not a boolean: {raw!r}")
    if isinstance(default, int):
        return int(str(raw).strip())
    if isinstance(default, float):
        return float(str(raw).strip())
    return "" if raw is None else str(raw)


def _upgrade_1_to_2(qs: QSettings) -> None:
    # Version 1 had one look, dark; people who had it keep it (new installs follow the system).
    # Push-to-talk was always Space then, which stays the default.
    if not qs.contains("theme"):
        qs.setValue("theme", "dark")


#: version -> the step that upgrades a file of that version to the next one.
_UPGRADES: Final[dict[int, Callable[[QSettings], None]]] = {1: _upgrade_1_to_2}


class SettingsStore:
    """Loads and saves `Settings` in one INI file (QSettings), keyed by field name."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_settings_path()
        self._qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)
        #: Plain-words notices from the last load() (a value reset, an unreadable file); the
        #: app shows them so a reset never goes unnoticed.
        self.notices: list[str] = []
        #: The version the file had when it was last loaded (0: no file or no settings yet).
        self.loaded_version = 0

    def load(self) -> Settings:
        defaults = Settings()
        values: dict[str, object] = {}
        unreadable: list[str] = []
        qs = self._qsettings
        qs.sync()
        self.notices = []
        if qs.status() is not QSettings.Status.NoError:
            logger.warning("settings: %s could not be read (%s); using defaults", self.path,
                           qs.status().name)
            self.notices.append("The settings file could not be read, so the defaults are used "
                                "for this run.")
        self._upgrade(qs)
        for field in fields(Settings):
            if not qs.contains(field.name):
                continue
            default = getattr(defaults, field.name)
            try:
                values[field.name] = _coerce(qs.value(field.name), default)
            except (TypeError, ValueError, OverflowError):
                logger.warning("settings: unreadable value for %s, using the default", field.name)
                unreadable.append(field.name)
        settings = dataclasses.replace(defaults, **values)  # type: ignore[arg-type]
        reset = list(settings.problems())
        if reset:
            # A bad value in the file must not stop the app; drop back to defaults per field.
            logger.warning("settings: falling back to defaults for %s", ", ".join(reset))
            settings = dataclasses.replace(settings, **{
                name: getattr(defaults, name) for name in reset})
        if unreadable or reset:
            self.notices.append(settings_notice(unreadable + reset))
        return settings.validate()

    def _upgrade(self, qs: QSettings) -> None:
        """Bring an older file up to SETTINGS_VERSION, one step at a time, and save it."""
        known = {f.name for f in fields(Settings)}
        has_settings = any(key in known for key in qs.allKeys())
        try:
            version = int(str(qs.value(VERSION_KEY, 0)).strip())
        except ValueError:
            version = 0
        if version < 1:
            # No (readable) version: a file with settings in it predates nothing older than 1.
            version = 1 if has_settings else 0
        self.loaded_version = version
        if version == 0 or version >= SETTINGS_VERSION:
            if version > SETTINGS_VERSION:
                logger.info("settings: %s was written by a newer version (%d); reading what "
                            "this version knows", self.path, version)
            return
        start = version
        while version < SETTINGS_VERSION:
            _UPGRADES[version](qs)
            version += 1
        qs.setValue(VERSION_KEY, version)
        qs.sync()
        logger.info("settings: upgraded %s from version %d to %d", self.path, start, version)

    def save(self, settings: Settings) -> None:
        settings.validate()
        qs = self._qsettings
        self._write_version(qs)
        for field in fields(Settings):
            qs.setValue(field.name, getattr(settings, field.name))
        qs.sync()

    def save_fields(self, settings: Settings, names: tuple[str, ...]) -> None:
        """Save only `names` (e.g. the window's geometry on close), leaving every other value
        in the file as it is: the running settings may carry command-line overrides."""
        settings.validate()
        qs = self._qsettings
        self._write_version(qs)
        for name in names:
            qs.setValue(name, getattr(settings, name))
        qs.sync()

    def _write_version(self, qs: QSettings) -> None:
        # A newer app's file keeps its version, so that app does not upgrade it a second time.
        qs.setValue(VERSION_KEY, max(SETTINGS_VERSION, self.loaded_version))

    def reset(self) -> Settings:
        """Forget everything except the user id (a new id would orphan the user's history)."""
        user_id = self.load().user_id
        self._qsettings.clear()
        fresh = Settings(user_id=user_id)
        self.save(fresh)
        return fresh

    def ensure_user_id(self, settings: Settings) -> Settings:
        """Generate and persist the user id the first time; keep it afterwards."""
        if settings.user_id:
            return settings
        updated = settings.replace(user_id=new_user_id())
        self._qsettings.setValue("user_id", updated.user_id)
        self._write_version(self._qsettings)
        self._qsettings.sync()
        return updated
