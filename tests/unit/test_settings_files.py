"""Settings files with garbage or out-of-range values load as defaults, with a notice.

The real SettingsStore (QSettings INI) reads files written here by hand, as a user, a crash mid-
write or another program might leave them. Each bad value falls back to its own default, the
good values around it are kept, nothing raises, and `store.notices` holds words for the user.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ravatar_live.settings import FIELD_LABELS, Settings
from ravatar_live.settings_store import SettingsStore

USER_ID = "0123456789abcdef01234567"
DEFAULTS = Settings()


def load(path: Path, text: str | bytes) -> tuple[Settings, list[str]]:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    store = SettingsStore(path)
    return store.load(), store.notices


def ini(**values: str) -> str:
    lines = [f"{key}={value}" for key, value in values.items()]
    return "[General]\n" + "\n".join([f"user_id={USER_ID}", "project_id=kept-project", *lines])


@pytest.mark.parametrize(("field", "raw"), [
    ("stream_width", "0"), ("stream_width", "99999"), ("stream_width", "-1280"),
    ("stream_width", "1280.5"), ("stream_width", "wide"), ("stream_width", "1e400"),
    ("stream_height", "1081"), ("stream_height", ""), ("stream_height", "720px"),
    ("vad_sensitivity", "nan"), ("vad_sensitivity", "inf"), ("vad_sensitivity", "-0.1"),
    ("vad_sensitivity", "1.5"), ("vad_sensitivity", "loud"),
    ("vad_hangover_ms", "5"), ("vad_hangover_ms", "999999999999999999999"),
    ("vad_hangover_ms", "0x10"),
    ("voice_mode", "shouting"), ("voice_mode", ""),
    ("turn_patience", "hasty"), ("turn_patience", ""),
    ("stream_takes_as_pcm", "maybe"), ("voice_route", "both"), ("voice_route", ""),
    ("allow_plain_http_token", "2"),
    ("echo_cancellation", "maybe"), ("noise_suppression", "0.5"),
    ("api_url", "ftp://chat.rvtr.ai"), ("api_url", "not a url"), ("api_url", "https://"),
    ("ws_url", "http://chat.rvtr.ai/ws/chat"),
    ("language", "en us"), ("language", "x" * 200),
    ("avatar_id", "<script>alert(1)</script>"),
    ("microphone_id", "m" * 5000),
    ("stream_player", "flash"), ("stream_player", ""),
    ("speaker_id", "s" * 5000), ("avatar_volume", "101"), ("avatar_volume", "-1"),
    ("avatar_volume", "loud"), ("avatar_muted", "sometimes"),
])
def test_a_bad_value_falls_back_to_its_default_with_a_notice(tmp_path, field, raw) -> None:
    loaded, notices = load(tmp_path / "s.ini", ini(**{field: raw}))
    assert getattr(loaded, field) == getattr(DEFAULTS, field)
    assert loaded.project_id == "kept-project" and loaded.user_id == USER_ID, "good values kept"
    assert loaded.validate() is loaded
    [notice] = notices
    assert FIELD_LABELS[field] in notice and "reset to their defaults" in notice


def test_several_bad_values_are_named_in_one_notice(tmp_path) -> None:
    loaded, notices = load(tmp_path / "s.ini", ini(stream_width="0", voice_mode="x",
                                                   vad_sensitivity="nan", language="en-GB"))
    assert (loaded.stream_width, loaded.voice_mode, loaded.vad_sensitivity) == (
        DEFAULTS.stream_width, DEFAULTS.voice_mode, DEFAULTS.vad_sensitivity)
    assert loaded.language == "en-GB"
    [notice] = notices
    for label in ("stream width", "voice mode", "hands-free sensitivity"):
        assert label in notice
    assert "language" not in notice


@pytest.mark.parametrize("content", [
    b"\x00\xff\xfe garbage \x89PNG\r\n\x1a\n" * 50,
    b"[General\nstream_width=640\n",
    b"\xef\xbb\xbf[General]\nstream_width=640\nstream_height=360\n",  # a BOM is fine
    b"stream_width=640",  # no section header
    b"[General]\n" + b"a" * 100_000 + b"=1\n",
    "[General]\nvoice_mode=\u202evad\nlanguage=\u0000en\n".encode(),
])
def test_a_garbage_file_never_stops_the_app(tmp_path, content) -> None:
    loaded, notices = load(tmp_path / "s.ini", content)
    assert loaded.validate() is loaded
    assert isinstance(notices, list) and all(isinstance(n, str) and n for n in notices)


def test_garbage_values_in_a_readable_file_are_reported(tmp_path) -> None:
    loaded, notices = load(tmp_path / "s.ini",
                           "[General]\nvoice_mode=\u202evad\nlanguage=\u0000en\n".encode())
    assert loaded.voice_mode == DEFAULTS.voice_mode and loaded.language == DEFAULTS.language
    assert notices and "voice mode" in notices[0] and "language" in notices[0]


def test_a_good_file_and_no_file_give_no_notice(tmp_path) -> None:
    store = SettingsStore(tmp_path / "absent.ini")
    assert store.load() == DEFAULTS and store.notices == []
    good = Settings(user_id=USER_ID, project_id="p-1", stream_width=640, stream_height=360,
                    language="de", vad_hangover_ms=500)
    SettingsStore(tmp_path / "good.ini").save(good)
    again = SettingsStore(tmp_path / "good.ini")
    assert again.load() == good and again.notices == []


def test_a_directory_where_the_file_should_be_loads_defaults(tmp_path) -> None:
    path = tmp_path / "s.ini"
    path.mkdir()
    store = SettingsStore(path)
    assert store.load() == DEFAULTS


def test_notices_are_recomputed_on_each_load(tmp_path) -> None:
    path = tmp_path / "s.ini"
    path.write_text(ini(stream_width="0"), encoding="utf-8")
    store = SettingsStore(path)
    store.load()
    assert store.notices
    store.save(dataclasses.replace(store.load(), stream_width=640))
    assert store.load().stream_width == 640 and store.notices == []


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(Settings)]),
                              st.text(max_size=60), max_size=8))
def test_any_values_load_as_valid_settings(tmp_path, values) -> None:
    lines = [f"{key}={value}" for key, value in values.items()
             if "\n" not in value and "\r" not in value]
    path = tmp_path / "h.ini"
    path.write_text("[General]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    store = SettingsStore(path)
    loaded = store.load()
    assert loaded.validate() is loaded


def test_a_file_from_before_wait_for_me_to_finish_loads_the_balanced_default(tmp_path) -> None:
    loaded, notices = load(tmp_path / "old.ini", ini(voice_mode="vad", vad_hangover_ms="500"))
    assert loaded.turn_patience == "balanced" and notices == []
    assert (loaded.voice_mode, loaded.vad_hangover_ms) == ("vad", 500)


@pytest.mark.parametrize("patience", ["quick", "balanced", "patient"])
def test_wait_for_me_to_finish_round_trips_and_picks_its_preset(tmp_path, patience) -> None:
    from ravatar_live.audio.settings import TURN_PRESETS
    from ravatar_live.live.voice_service import voice_settings_from

    SettingsStore(tmp_path / "s.ini").save(Settings(turn_patience=patience, vad_hangover_ms=450))
    loaded = SettingsStore(tmp_path / "s.ini").load()
    assert loaded.turn_patience == patience
    takes = voice_settings_from(loaded).takes
    assert takes.turn == TURN_PRESETS[patience] and takes.hangover_ms == 450
