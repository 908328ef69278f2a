"""Settings: the typed model on QSettings, the command line, and the settings dialog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from keyring.backends import fail

from ravatar_live.api.models import AvatarInfo, ConnectionInfo, LanguageInfo
from ravatar_live.app_runtime import show_where_tokens_are_kept
from ravatar_live.cli import CliOptions, apply_overrides, parse_args
from ravatar_live.live.connection import Endpoint
from ravatar_live.live.states import SessionState
from ravatar_live.settings import Settings, SettingsError
from ravatar_live.settings_store import SettingsStore
from ravatar_live.token_store import TokenStore
from ravatar_live.ui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.gui

USER_ID = "0123456789abcdef01234567"


# --- the model and its store -----------------------------------------------------------------
def test_store_round_trip_and_types(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "s.ini")
    saved = Settings(user_id=USER_ID, project_id="abc-123", stream_width=640, stream_height=360,
                     voice_mode="vad", vad_sensitivity=0.7, vad_hangover_ms=500,
                     stream_takes_as_pcm=False, voice_route="page",
                     allow_plain_http_token=True)
    store.save(saved)
    assert SettingsStore(tmp_path / "s.ini").load() == saved


def test_user_id_is_generated_once_and_kept(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "s.ini")
    first = store.ensure_user_id(store.load())
    assert re.fullmatch(r"[0-9a-f]{24}", first.user_id)
    again = SettingsStore(tmp_path / "s.ini")
    assert again.ensure_user_id(again.load()).user_id == first.user_id


def test_a_hand_edited_bad_value_falls_back_to_its_default_only(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    path.write_text("[General]\nstream_width=99999\nstream_height=abc\nproject_id=good-one\n"
                    "voice_mode=shouting\nstream_takes_as_pcm=maybe\n")
    loaded = SettingsStore(path).load()
    defaults = Settings()
    assert (loaded.stream_width, loaded.stream_height) == (defaults.stream_width,
                                                           defaults.stream_height)
    assert loaded.voice_mode == defaults.voice_mode
    assert loaded.stream_takes_as_pcm is defaults.stream_takes_as_pcm
    assert loaded.project_id == "good-one"


def test_reset_keeps_the_user_id(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "s.ini")
    store.save(Settings(user_id=USER_ID, project_id="p1", stream_width=640, stream_height=360))
    fresh = store.reset()
    assert fresh == Settings(user_id=USER_ID)
    assert store.load() == fresh


def test_demo_and_derived_websocket_url() -> None:
    assert Settings().is_demo
    real = Settings(project_id="p1", user_id=USER_ID, api_url="https://chat.rvtr.ai")
    assert not real.is_demo
    assert Endpoint.from_settings(real).ws_url == "wss://chat.rvtr.ai/ws/chat"
    local = real.replace(api_url="http://127.0.0.1:8765")
    assert Endpoint.from_settings(local).ws_url == "ws://127.0.0.1:8765/ws/chat"
    explicit = real.replace(ws_url="wss://other.example/ws/chat")
    assert Endpoint.from_settings(explicit).ws_url == "wss://other.example/ws/chat"


# --- the command line ----------------------------------------------------------------------
def test_command_line_overrides_settings_for_the_run() -> None:
    options = parse_args(["--api-url", "http://127.0.0.1:8765", "--project-id", "proj-1",
                          "--user-id", "someone", "--avatar", "a-1", "--language", "de",
                          "--width", "640", "--height", "360", "--voice-mode", "vad",
                          "--start"], environ={})
    run = apply_overrides(Settings(user_id=USER_ID), options)
    assert (run.api_url, run.project_id, run.user_id, run.avatar_id, run.language) == (
        "http://127.0.0.1:8765", "proj-1", "someone", "a-1", "de")
    assert (run.stream_width, run.stream_height, run.voice_mode) == (640, 360, "vad")
    assert options.start and not options.demo
    assert apply_overrides(run, CliOptions()) == run


def test_demo_flag_is_per_run_and_keeps_the_project() -> None:
    options = parse_args(["--demo"], environ={"RAVATAR_LIVE_EXIT_AFTER_S": "2.5"})
    assert options.demo and options.exit_after_s == 2.5
    assert apply_overrides(Settings(project_id="p1"), options).project_id == "p1"


@pytest.mark.parametrize(("argv", "message"), [
    (["--width", "1921"], "between 1 and 1920"),
    (["--height", "0"], "between 1 and 1080"),
    (["--width", "12.5"], "whole number"),
    (["--voice-mode", "loud"], "invalid choice"),
    (["--api-url", "ftp://x"], "http:// or https://"),
    (["--project-id", "no spaces"], "Project id"),
])
def test_bad_command_line_values_exit_with_a_message(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, environ={})
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_exit_after_value_is_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        parse_args([], environ={"RAVATAR_LIVE_EXIT_AFTER_S": "soon"})
    assert "RAVATAR_LIVE_EXIT_AFTER_S" in capsys.readouterr().err


# --- the dialog ----------------------------------------------------------------------------
CONNECTION = ConnectionInfo(
    session="s", chat_types=("text", "voice"), vad_enabled=True,
    avatars=(AvatarInfo("a-1", "Rebecca", True), AvatarInfo("a-2", "Max", False)),
    languages=(LanguageInfo("English", "en"), LanguageInfo("Deutsch", "de")))


def make_dialog(qtbot, settings: Settings | None = None) -> SettingsDialog:
    dialog = SettingsDialog(settings or Settings(user_id=USER_ID),
                            avatars=CONNECTION.avatars, languages=CONNECTION.languages)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def choose_custom(dialog: SettingsDialog, width: str, height: str) -> None:
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("custom"))
    dialog.width_edit.setText(width)
    dialog.height_edit.setText(height)


@pytest.mark.parametrize(("width", "height"), [
    ("1", "1"), ("800", "600"), ("1920", "1080"), (" 1024 ", "576"), ("640", "1080"),
])
def test_valid_custom_sizes_are_accepted(qtbot, width, height) -> None:
    dialog = make_dialog(qtbot)
    choose_custom(dialog, width, height)
    dialog.save_button.click()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    result = dialog.result_settings()
    assert (result.stream_width, result.stream_height) == (int(width), int(height))


@pytest.mark.parametrize(("width", "height", "message"), [
    ("0", "720", "Width must be between 1 and 1920"),
    ("1921", "720", "Width must be between 1 and 1920"),
    ("1280", "1081", "Height must be between 1 and 1080"),
    ("1280", "-5", "Height must be a whole number"),
    ("12.5", "720", "Width must be a whole number"),
    ("", "720", "Width must be a whole number"),
    ("wide", "720", "Width must be a whole number"),
    ("1280", "7e2", "Height must be a whole number"),
])
def test_invalid_sizes_are_refused_with_a_message(qtbot, width, height, message) -> None:
    dialog = make_dialog(qtbot)
    choose_custom(dialog, width, height)
    dialog.save_button.click()
    assert dialog.isVisible(), "the dialog stays open"
    assert dialog.error_label.isVisible()
    assert message in dialog.error_label.text()
    bad = dialog.width_edit if message.startswith("Width") else dialog.height_edit
    assert bad.property("invalid") == "true"
    assert dialog.result_settings() == Settings(user_id=USER_ID), "nothing was accepted"


def test_presets_fill_the_size(qtbot) -> None:
    dialog = make_dialog(qtbot)
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("1920x1080"))
    assert (dialog.width_edit.text(), dialog.height_edit.text()) == ("1920", "1080")
    assert dialog.width_edit.isReadOnly()
    dialog.save_button.click()
    assert dialog.result_settings().stream_width == 1920


def test_avatar_language_voice_and_connection_fields(qtbot) -> None:
    dialog = make_dialog(qtbot)
    avatars = [dialog.avatar_combo.itemText(i) for i in range(dialog.avatar_combo.count())]
    assert avatars == ["First available", "Rebecca", "Max (no live mode)"]
    dialog.avatar_combo.setCurrentIndex(dialog.avatar_combo.findData("a-1"))
    dialog.language_combo.setCurrentIndex(dialog.language_combo.findData("de"))
    dialog.voice_mode_combo.setCurrentIndex(dialog.voice_mode_combo.findData("record"))
    dialog.sensitivity_slider.setValue(80)
    dialog.hangover_spin.setValue(650)
    dialog.pcm_check.setChecked(False)
    dialog.voice_route_combo.setCurrentIndex(dialog.voice_route_combo.findData("page"))
    dialog.plain_http_check.setChecked(True)
    dialog.project_edit.setText("proj-9")
    dialog.api_edit.setText("http://127.0.0.1:9999")
    dialog.save_button.click()
    result = dialog.result_settings()
    assert (result.avatar_id, result.language, result.voice_mode) == ("a-1", "de", "record")
    assert (result.vad_sensitivity, result.vad_hangover_ms) == (0.8, 650)
    assert not result.stream_takes_as_pcm and result.voice_route == "page"
    assert result.allow_plain_http_token
    assert (result.project_id, result.api_url) == ("proj-9", "http://127.0.0.1:9999")
    assert result.user_id == USER_ID


@pytest.mark.parametrize(("field", "value", "message"), [
    ("project_edit", "has space", "Project id"),
    ("api_edit", "chat.rvtr.ai", "API URL"),
    ("ws_edit", "http://x/ws", "WebSocket URL"),
])
def test_bad_connection_fields_are_refused(qtbot, field, value, message) -> None:
    dialog = make_dialog(qtbot)
    getattr(dialog, field).setText(value)
    dialog.save_button.click()
    assert dialog.isVisible()
    assert message in dialog.error_label.text()


def test_reset_to_defaults_fills_defaults(qtbot) -> None:
    dialog = make_dialog(qtbot, Settings(user_id=USER_ID, stream_width=640, stream_height=360,
                                         project_id="p1"))
    dialog.reset_button.click()
    dialog.save_button.click()
    assert dialog.result_settings() == Settings(user_id=USER_ID)


def test_settings_error_has_a_user_message() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(stream_width=0).validate()
    assert caught.value.user_message.startswith("Width")


# --- applying settings in the window -------------------------------------------------------
def test_new_size_while_live_asks_and_restarts_the_session(make_app) -> None:
    app = make_app()
    first = app.go_live()
    new = app.controller.settings.replace(stream_width=640, stream_height=360)
    app.window.apply_settings(new)
    # The question is the app's own banner (no stock message box), and waits for an answer.
    banner = app.window.banner
    assert banner.title() == "Restart the session?"
    assert [b.text() for b in banner.action_buttons()] == ["Restart now", "Later"]
    assert app.controller.session.license_id == first
    banner.action("Restart now").click()
    app.qtbot.waitUntil(lambda: app.controller.session.license_id not in (None, first),
                        timeout=30_000)
    app.wait_session(SessionState.LIVE)
    stream = app.controller.session.stream
    assert stream is not None and (stream.size.width, stream.size.height) == (640, 360)
    assert app.sim.stats()["ended"] == 1 and app.sim.stats()["live"] == 1
    assert app.store.load().stream_width == 640, "saved for the next run too"


def test_new_size_while_live_can_wait_for_the_next_session(make_app) -> None:
    app = make_app()
    first = app.go_live()
    app.window.apply_settings(app.controller.settings.replace(stream_width=800,
                                                              stream_height=600))
    app.window.banner.action("Later").click()
    assert app.window.banner.message("restart") is None, "the question went away"
    assert app.controller.session.license_id == first
    assert app.controller.stream_size().width == 800


def test_the_dialog_says_where_the_sign_in_is_kept(qtbot) -> None:
    note = ("Sign-in tokens are kept in memory only, because no system keychain is available. "
            "You will be signed in again on the next start.")
    dialog = SettingsDialog(Settings(user_id=USER_ID), sign_in_note=note)
    qtbot.addWidget(dialog)
    assert dialog.sign_in_label.text() == note
    assert dialog.sign_in_label.accessibleName() == "Where sign-in is kept"


def test_wait_for_me_to_finish_is_a_choice_of_three(qtbot) -> None:
    dialog = SettingsDialog(Settings(user_id=USER_ID))
    qtbot.addWidget(dialog)
    combo = dialog.turn_combo
    assert combo.accessibleName() == "Wait for me to finish" and combo.toolTip()
    assert [combo.itemData(i) for i in range(combo.count())] == ["quick", "balanced", "patient"]
    assert combo.currentData() == "balanced"
    assert dialog.turn_note_label.isHidden()  # the model is fine: nothing to say
    combo.setCurrentIndex(combo.findData("patient"))
    dialog.save_button.click()
    assert dialog.result_settings().turn_patience == "patient"
    again = SettingsDialog(dialog.result_settings())
    qtbot.addWidget(again)
    assert again.turn_combo.currentData() == "patient"
    again.reset_button.click()
    assert again.turn_combo.currentData() == "balanced"


def test_the_dialog_says_when_the_end_of_turn_model_is_missing(qtbot) -> None:
    note = "The end-of-turn model is not installed. Hands-free ends your turn after the pause."
    dialog = SettingsDialog(Settings(user_id=USER_ID), turn_note=note)
    qtbot.addWidget(dialog)
    assert dialog.turn_note_label.text() == note and not dialog.turn_note_label.isHidden()


def test_the_status_bar_says_where_sign_in_is_kept_once_the_keychain_is_looked_for(
        make_app) -> None:
    app = make_app(connect=False)
    assert app.window.token_label.text() == ""  # the window shows before keyring loads
    show_where_tokens_are_kept(app.window, TokenStore(backend=fail.Keyring()))
    assert app.window.token_label.text() == "Sign-in kept in memory only"
    assert "memory only" in app.window.token_label.toolTip()
    assert app.window.sign_in_note == app.window.token_label.toolTip()


def test_the_window_hands_its_sign_in_note_and_connection_to_the_dialog(make_app) -> None:
    app = make_app()
    app.window.sign_in_note = "Sign-in tokens are kept in memory only, because test."
    dialog = app.window.make_settings_dialog()
    app.qtbot.addWidget(dialog)
    assert dialog.sign_in_label.text() == app.window.sign_in_note
    assert dialog.turn_note_label.text() == app.controller.voice.turn_note
    info = app.controller.connection.info
    assert info is not None
    assert dialog.avatar_combo.count() == 1 + len(info.avatars), "First available, then each"
