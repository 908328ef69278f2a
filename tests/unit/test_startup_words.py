"""What a newcomer reads before the window: `--help` states every limit, a missing display gets
one plain sentence instead of Qt's abort, and the README agrees with the app's defaults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ravatar_live.cli import build_parser, parse_args
from ravatar_live.display_check import display_problem
from ravatar_live.settings import Settings
from ravatar_live.ui.shortcuts import SHORTCUTS

REPO = Path(__file__).resolve().parents[2]


def option_help() -> dict[str, str]:
    parser = build_parser()
    return {opt: " ".join((action.help or "").split())
            for action in parser._actions for opt in action.option_strings}


@pytest.mark.parametrize(("option", "limits"), [
    ("--api-url", ["http:// or https://"]),
    ("--ws-url", ["ws:// or wss://"]),
    ("--project-id", ["1-64", "letters, digits or '-'"]),
    ("--user-id", ["1-128", "'_' or '-'"]),
    ("--avatar", ["1-128"]),
    ("--language", ["1-35", "en-US"]),
    ("--width", ["1-1920", "1280"]),
    ("--height", ["1-1080", "720"]),
    ("--voice-mode", ["push-to-talk", "vad", "record"]),
    ("--stream-player", ["auto", "web", "native", "H.264"]),
    ("--log-level", ["INFO"]),
])
def test_help_states_each_options_limits(option, limits) -> None:
    text = option_help()[option]
    for limit in limits:
        assert limit in text, f"{option}: {text!r} does not say {limit!r}"


def test_every_option_has_help() -> None:
    assert all(text for text in option_help().values())


@pytest.mark.parametrize(("argv", "message"), [
    (["--avatar", "<script>"], "Avatar id must be 1-128"),
    (["--language", "en us"], "Language code must be 1-35"),
])
def test_bad_ids_are_refused_at_once(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, environ={})
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def no_library(_name: str) -> None:
    return None


@pytest.mark.parametrize(("env", "library", "expected"), [
    ({}, "libxcb-cursor.so.0", "needs a desktop"),
    ({"DISPLAY": ":0"}, "libxcb-cursor.so.0", None),
    ({"DISPLAY": ":0"}, None, "libxcb-cursor0"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, None, None),
    ({"QT_QPA_PLATFORM": "offscreen"}, None, None),
    ({"QT_QPA_PLATFORM": "xcb"}, "libxcb-cursor.so.0", "needs a desktop"),
    ({"QT_QPA_PLATFORM": "xcb:dpi=96", "DISPLAY": ":1"}, None, "apt-get install"),
])
def test_display_problems_in_plain_words(env, library, expected) -> None:
    problem = display_problem(env, platform="linux", find_library=lambda _n: library)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem
        assert problem.count(". ") <= 2 and "\n" not in problem, "a sentence, not a report"


def test_other_systems_are_left_to_qt() -> None:
    assert display_problem({}, platform="win32", find_library=no_library) is None


def test_the_app_without_a_display_says_so_and_exits(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update({"XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)})
    done = subprocess.run([sys.executable, "-m", "ravatar_live"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 3
    assert "needs a desktop" in done.stderr and "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert "xcb" not in done.stderr.replace("xvfb-run", ""), "no Qt plugin abort"
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_readme_agrees_with_the_defaults() -> None:
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    pause = re.search(r"after a pause of (\d+) ms", readme)
    assert pause, "the README says when hands-free sends"
    assert int(pause.group(1)) == Settings().vad_hangover_ms
    assert f"{Settings().stream_width}x{Settings().stream_height}" in readme.replace(" ", "")
    for entry in SHORTCUTS:
        assert entry.keys[0] in readme, f"the README lists {entry.keys[0]} ({entry.label})"
    assert "asr" in (REPO / "Makefile").read_text(encoding="utf-8"), \
        "make run installs the simulator's recogniser"


@pytest.mark.parametrize("choice", ["auto", "web", "native"])
def test_the_stream_player_option_overrides_the_saved_one_for_this_run(choice) -> None:
    from ravatar_live.cli import apply_overrides

    options = parse_args(["--stream-player", choice], environ={})
    saved = Settings(stream_player="web" if choice != "web" else "native")
    assert apply_overrides(saved, options).stream_player == choice


def test_an_unknown_stream_player_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--stream-player", "flash"], environ={})
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
