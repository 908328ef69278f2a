"""The real app (unfrozen) against what the launcher and the smoke check expect of it.

- The smoke check passes on `python -m ravatar_live` (VAD mode, private PulseAudio microphone):
  proves the check and the app's log contract agree, in every CI run, without paying for a
  frozen build.
- Under a real X server (Xvfb), the main window's WM_CLASS matches the .desktop entry's
  StartupWMClass (how X11 docks group a window with its launcher) and carries an icon.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import ravatar_live

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "packaging" / "linux" / f"{ravatar_live.APP_ID}.desktop"
# xwininfo -tree lines look like: 0x400005 "RAVATAR Live": ("ravatar-live" "RAVATAR Live")  ...
WM_CLASS_LINE = re.compile(
    r'^\s*(0x[0-9a-f]+) "(?P<name>[^"]*)": \("(?P<inst>[^"]*)" "(?P<cls>[^"]*)"\)')


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed (Debian: xvfb, x11-utils); it is needed to check "
                    "the window identity the launcher relies on")
    return path


def _entry_value(key: str) -> str:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(ENTRY, encoding="utf-8")
    return parser["Desktop Entry"][key]


@pytest.mark.timeout(150)
def test_unfrozen_app_passes_the_smoke_check(smoke: ModuleType) -> None:
    result = smoke.run_smoke(
        [sys.executable, "-m", "ravatar_live", *smoke.DEFAULT_APP_ARGS, "--voice-mode", "vad"],
        timeout_s=120, virtual_mic=True)
    timings = {k: f"{v:.1f}s" for k, v in result.seconds.items()}
    print(f"\nunfrozen smoke: exit={result.exit_code} wall={result.wall_s:.1f}s {timings}")
    assert result.passed, result.explain()


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A private Xvfb; -displayfd reports the display it picked (no fixed number, no race)."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [_tool("Xvfb"), "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
         "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # blocks until the server is ready
        assert number.isdigit(), f"Xvfb did not start (exit {server.poll()})"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.timeout(120)
def test_window_class_and_icon_match_the_launcher(xvfb_display: str) -> None:
    xwininfo, xprop = _tool("xwininfo"), _tool("xprop")
    home = Path(tempfile.mkdtemp(prefix="ravatar-wmclass-home-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_QPA", "WAYLAND"))}
    env.update(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", HOME=str(home),
               XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               RAVATAR_LIVE_EXIT_AFTER_S="60")  # closed by us below; 60 s is only a safety net
    app = subprocess.Popen([sys.executable, "-m", "ravatar_live", "--demo"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    started = threading.Event()
    output: list[str] = []

    def pump() -> None:
        assert app.stdout is not None
        for line in app.stdout:
            output.append(line)
            if "startup complete" in line:
                started.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert started.wait(90), "app never logged 'startup complete':\n" + "".join(output[-30:])
        tree = subprocess.run([xwininfo, "-root", "-tree"], env=env, capture_output=True,
                              text=True, check=True).stdout
        windows = [m for line in tree.splitlines() if (m := WM_CLASS_LINE.match(line))]
        # Only real top-level windows carry WM_CLASS; the title may add a mode ("... — demo").
        ours = [m for m in windows if m["name"].startswith(ravatar_live.APP_NAME)]
        assert ours, f"no top-level window titled {ravatar_live.APP_NAME!r}...:\n{tree}"
        wm_class = _entry_value("StartupWMClass")
        assert wm_class in (ours[0]["cls"], ours[0]["inst"]), (
            f"StartupWMClass={wm_class!r} but the window's WM_CLASS is "
            f"({ours[0]['inst']!r}, {ours[0]['cls']!r})")
        icon = subprocess.run([xprop, "-id", ours[0].group(1), "_NET_WM_ICON"], env=env,
                              capture_output=True, text=True, check=True).stdout
        assert "Icon (" in icon, f"main window has no icon: {icon[:200]}"
    finally:
        os.killpg(app.pid, 9)  # our own session: the app and its web engine helpers
        app.wait(timeout=30)
        reader.join(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
