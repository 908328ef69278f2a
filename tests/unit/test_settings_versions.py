"""Settings across versions, every bad field at once, the new fields (look, push-to-talk key,
window state), and the settings service that saves for the window.

The real SettingsStore (QSettings INI) reads files written here as an older app left them.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from ravatar_live.settings import (
    SETTINGS_VERSION,
    Settings,
    SettingsError,
    encode_geometry,
    validate_push_to_talk_key,
)
from ravatar_live.settings_service import SettingsChange, SettingsService, WindowState
from ravatar_live.settings_store import SettingsStore

USER_ID = "0123456789abcdef01234567"


def ini_values(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return dict(parser["General"]) if parser.has_section("General") else {}


# --- versions --------------------------------------------------------------------------------
def test_a_version_1_file_is_upgraded_and_keeps_its_look(tmp_path) -> None:
    path = tmp_path / "s.ini"
    # What version 1 wrote: every field it knew, and its version.
    path.write_text("[General]\nsettings_version=1\napi_url=https://chat.rvtr.ai\nws_url=\n"
                    f"project_id=p-1\nuser_id={USER_ID}\nlanguage=de\nstream_width=640\n"
                    "stream_height=360\nvoice_mode=vad\nvad_hangover_ms=500\n",
                    encoding="utf-8")
    store = SettingsStore(path)
    loaded = store.load()
    assert (loaded.project_id, loaded.language, loaded.stream_width, loaded.voice_mode,
            loaded.vad_hangover_ms) == ("p-1", "de", 640, "vad", 500), "nothing was lost"
    assert loaded.theme == "dark", "version 1 was always dark: its users keep that look"
    assert loaded.push_to_talk_key == "Space"
    assert (loaded.window_geometry, loaded.window_maximized, loaded.conversation_width) == (
        "", False, 0)
    assert store.notices == []
    on_disk = ini_values(path)
    assert on_disk["settings_version"] == str(SETTINGS_VERSION) == "2"
    assert on_disk["theme"] == "dark"
    # Loading again is not another upgrade: the user's later choice stands.
    store.save(loaded.replace(theme="light"))
    assert SettingsStore(path).load().theme == "light"


def test_a_file_without_a_version_is_read_as_version_1(tmp_path) -> None:
    path = tmp_path / "s.ini"
    path.write_text(f"[General]\nuser_id={USER_ID}\nproject_id=p-2\n", encoding="utf-8")
    loaded = SettingsStore(path).load()
    assert (loaded.project_id, loaded.theme) == ("p-2", "dark")


def test_a_new_install_follows_the_system_look(tmp_path) -> None:
    store = SettingsStore(tmp_path / "new.ini")
    fresh = store.ensure_user_id(store.load())
    assert fresh.theme == "system"
    assert ini_values(tmp_path / "new.ini")["settings_version"] == str(SETTINGS_VERSION)
    assert SettingsStore(tmp_path / "new.ini").load().theme == "system"


def test_a_file_from_a_newer_version_is_read_and_keeps_its_version(tmp_path) -> None:
    path = tmp_path / "s.ini"
    path.write_text(f"[General]\nsettings_version=99\nuser_id={USER_ID}\ntheme=light\n"
                    "future_option=on\n", encoding="utf-8")
    store = SettingsStore(path)
    loaded = store.load()
    assert loaded.theme == "light" and loaded.user_id == USER_ID
    store.save(loaded.replace(language="fr"))
    on_disk = ini_values(path)
    assert on_disk["settings_version"] == "99", "the newer app must not upgrade it again"
    assert on_disk["future_option"] == "on", "what this version does not know is kept"


# --- every bad field at once -------------------------------------------------------------------
def test_problems_names_every_bad_field() -> None:
    bad = Settings(stream_width=0, stream_height=5000, api_url="ftp://x", project_id="a b",
                   push_to_talk_key="Tab", conversation_width=5).replace(theme="purple")
    problems = bad.problems()
    assert set(problems) == {"stream_width", "stream_height", "api_url", "project_id", "theme",
                             "push_to_talk_key", "conversation_width"}
    assert problems["stream_width"].startswith("Width")
    assert "Tab" in problems["push_to_talk_key"]
    with pytest.raises(SettingsError) as first:
        bad.validate()
    assert first.value.user_message == problems["stream_width"], "validate() stops at the first"
    assert Settings().problems() == {}


@pytest.mark.parametrize(("key", "canonical"), [
    ("Space", "Space"), ("space", "Space"), ("F2", "F2"), ("Ctrl+Space", "Ctrl+Space"),
    ("a", "A"), ("Ctrl+Shift+F9", "Ctrl+Shift+F9"),
])
def test_push_to_talk_keys_that_work(key, canonical) -> None:
    assert validate_push_to_talk_key(key) == canonical


@pytest.mark.parametrize(("key", "why"), [
    ("", "single key"), ("Space, F2", "single key"), ("Blah", "single key"),
    ("Shift", "single key"), ("Tab", "move around"), ("Return", "move around"),
    ("Esc", "move around"), ("F1", "move around"),
])
def test_push_to_talk_keys_that_are_refused(key, why) -> None:
    with pytest.raises(SettingsError) as refused:
        validate_push_to_talk_key(key)
    assert why in refused.value.user_message


def test_a_hand_edited_window_geometry_falls_back_with_a_notice(tmp_path) -> None:
    path = tmp_path / "s.ini"
    path.write_text(f"[General]\nsettings_version=2\nuser_id={USER_ID}\n"
                    "window_geometry=not*base64!\nconversation_width=-3\n", encoding="utf-8")
    store = SettingsStore(path)
    loaded = store.load()
    assert (loaded.window_geometry, loaded.conversation_width) == ("", 0)
    [notice] = store.notices
    assert "window position" in notice and "conversation pane width" in notice


# --- the settings service ----------------------------------------------------------------------
class Running:
    """Stands in for the AppController's two settings calls (a real controller needs a loop,
    a simulator and a microphone; the service only needs these two)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.used: list[Settings] = []

    def use(self, settings: Settings) -> None:
        self.settings = settings
        self.used.append(settings)


def test_the_service_saves_applies_and_says_what_changed(tmp_path) -> None:
    store = SettingsStore(tmp_path / "s.ini")
    running = Running(Settings(user_id=USER_ID))
    service = SettingsService(store, lambda: running.settings, running.use)
    seen: list[SettingsChange] = []
    service.applied.connect(seen.append)
    change = service.apply(running.settings.replace(stream_width=640, stream_height=360,
                                                    theme="light", push_to_talk_key="F2"))
    assert change.session_changed and change.look_changed and change.keys_changed
    assert not change.service_changed and not change.avatar_changed
    assert running.used == [change.new] and seen == [change]
    assert store.load() == change.new
    assert service.apply(change.new.replace(project_id="other")).service_changed


def test_remembering_the_window_saves_only_the_window(tmp_path) -> None:
    store = SettingsStore(tmp_path / "s.ini")
    store.save(Settings(user_id=USER_ID, project_id="saved-project"))
    # This run's settings carry a command-line override that must never reach the file.
    running = Running(store.load().replace(project_id="from-the-command-line"))
    service = SettingsService(store, lambda: running.settings, running.use)
    state = WindowState(encode_geometry(b"\x01\xd9\xd0\xcb geometry"), True, 333)
    assert service.remember_window(state)
    assert service.window_state() == state
    again = SettingsStore(tmp_path / "s.ini").load()
    assert again.project_id == "saved-project"
    assert (again.window_geometry, again.window_maximized, again.conversation_width) == (
        state.geometry, True, 333)
    assert running.used == [], "the running services are not disturbed by a window move"


def test_a_bad_window_state_is_not_saved(tmp_path) -> None:
    store = SettingsStore(tmp_path / "s.ini")
    running = Running(Settings(user_id=USER_ID))
    service = SettingsService(store, lambda: running.settings, running.use)
    assert not service.remember_window(WindowState("", False, 99_999))
    assert store.load().conversation_width == 0
