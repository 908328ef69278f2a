"""The Linux launcher entry, and `make install-desktop` / `make uninstall-desktop`.

The make targets run for real, against a temporary XDG_DATA_HOME, through
`make -f packaging/packaging.mk` (the same recipes the top-level Makefile includes).
"""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP_ID = "ai.rvtr.RavatarLive"
ENTRY = REPO / "packaging" / "linux" / f"{APP_ID}.desktop"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# Main categories from the Desktop Menu spec; an entry needs at least one to be listed.
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics",
                   "Network", "Office", "Science", "Settings", "System", "Utility"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed (Debian: desktop-file-utils / make); "
                    "run ./scripts/system-deps.sh test")
    return path


def _read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def _validate(path: Path) -> None:
    proc = subprocess.run([_tool("desktop-file-validate"), str(path)],
                          capture_output=True, text=True, check=False)
    # desktop-file-validate exits 0 even for some errors on old versions; any output is a finding.
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def _make(target: str, data_home: Path, env_extra: dict[str, str] | None = None,
          **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DESKTOP_EXEC"}
    env.update(XDG_DATA_HOME=str(data_home), **(env_extra or {}))
    args = [_tool("make"), "--no-print-directory", "-f", "packaging/packaging.mk", target,
            *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=60)


@pytest.fixture
def fake_launcher(tmp_path: Path) -> Path:
    """An executable standing in for the app: the targets only check it is there and runnable.
    Its folder name has a space and a `$` to exercise the Exec quoting rules."""
    folder = tmp_path / "Apps $HOME" / "RAVATAR Live"
    folder.mkdir(parents=True)
    exe = folder / "ravatar-live"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_entry_passes_desktop_file_validate() -> None:
    _validate(ENTRY)


def test_entry_identity_and_menu_placement() -> None:
    entry = _read_entry(ENTRY)
    assert entry["Type"] == "Application"
    assert entry["Icon"] == APP_ID, "icon name must be the app id (hicolor lookup)"
    assert entry["StartupWMClass"], "StartupWMClass lets the dock match the running window"
    assert entry["Terminal"] == "false"
    categories = set(filter(None, entry["Categories"].split(";")))
    assert categories & MAIN_CATEGORIES, categories
    keywords = set(filter(None, entry["Keywords"].split(";")))
    assert {"avatar", "voice", "RAVATAR"} <= keywords


def test_install_then_uninstall(tmp_path: Path, fake_launcher: Path) -> None:
    data_home = tmp_path / "share"
    # Someone else's files in the same folders must survive both targets.
    other_entry = data_home / "applications" / "org.example.Other.desktop"
    other_icon = data_home / "icons" / "hicolor" / "48x48" / "apps" / "org.example.Other.png"
    for path in (other_entry, other_icon):
        path.parent.mkdir(parents=True)
        path.write_text("not ours")

    for _ in range(2):  # installing twice must be harmless
        # From the environment: make would expand a `$` given on its command line.
        proc = _make("install-desktop", data_home, {"DESKTOP_EXEC": str(fake_launcher)})
        assert proc.returncode == 0, proc.stdout + proc.stderr

    installed = data_home / "applications" / f"{APP_ID}.desktop"
    _validate(installed)
    entry = _read_entry(installed)
    # Spec quoting: whole path in double quotes, `$` backslash-escaped, backslash doubled.
    expected = '"' + str(fake_launcher).replace("$", "\\\\$") + '"'
    assert entry["Exec"] == expected
    assert entry["TryExec"] == expected
    assert entry["StartupWMClass"] == _read_entry(ENTRY)["StartupWMClass"]
    hicolor = data_home / "icons" / "hicolor"
    for size in SIZES:
        png = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png.read_bytes() == (REPO / "resources/icons/app" / f"ravatar-live-{size}.png"
                                    ).read_bytes()
    assert (hicolor / "scalable" / "apps" / f"{APP_ID}.svg").is_file()

    proc = _make("uninstall-desktop", data_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    leftovers = [p for p in data_home.rglob(f"{APP_ID}*")]
    assert leftovers == []
    assert other_entry.read_text() == "not ours" and other_icon.read_text() == "not ours"


def test_install_from_make_command_line_and_relative_path(tmp_path: Path) -> None:
    exe = tmp_path / "dist dir" / "ravatar-live"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    data_home = tmp_path / "share"
    proc = _make("install-desktop", data_home, DESKTOP_EXEC=str(exe))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _read_entry(data_home / "applications" / f"{APP_ID}.desktop")["Exec"] == f'"{exe}"'

    # The script itself resolves a relative path against the current directory.
    script = REPO / "packaging" / "linux" / "desktop-integration.sh"
    proc = subprocess.run(["sh", str(script), "install", "--exec", "dist dir/ravatar-live"],
                          cwd=tmp_path, env={**os.environ, "XDG_DATA_HOME": str(data_home)},
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _read_entry(data_home / "applications" / f"{APP_ID}.desktop")["Exec"] == f'"{exe}"'


def test_install_refuses_a_missing_executable(tmp_path: Path) -> None:
    data_home = tmp_path / "share"
    proc = _make("install-desktop", data_home, DESKTOP_EXEC=str(tmp_path / "nope"))
    assert proc.returncode != 0
    assert "is not an executable file" in proc.stderr
    assert not (data_home / "applications" / f"{APP_ID}.desktop").exists()


def test_install_needs_an_absolute_data_home(tmp_path: Path, fake_launcher: Path) -> None:
    proc = _make("install-desktop", Path("relative/share"), DESKTOP_EXEC=str(fake_launcher))
    assert proc.returncode != 0
    assert "XDG_DATA_HOME must be an absolute path" in proc.stderr
