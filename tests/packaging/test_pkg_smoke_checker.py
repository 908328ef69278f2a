"""The smoke checker (packaging/smoke_frozen.py) against scripted app processes.

The frozen build takes minutes, so the checker's own logic is proven here against fake_app.py,
a real process that misbehaves on demand (see its docstring). The checker against the real app
is in test_pkg_smoke_app.py.
"""

from __future__ import annotations

import os
import select
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FAKE_APP = Path(__file__).with_name("fake_app.py")


def run(smoke: ModuleType, scenario: str, **kwargs: Any) -> Any:
    kwargs.setdefault("timeout_s", 30.0)
    return smoke.run_smoke([sys.executable, str(FAKE_APP), scenario], **kwargs)


def test_good_run_passes_with_timings(smoke: ModuleType) -> None:
    result = run(smoke, "good")
    assert result.passed, result.failures
    assert result.exit_code == 0
    assert list(result.seconds) == list(smoke.REQUIRED)
    assert 0 < result.seconds[smoke.STARTUP] <= result.seconds[smoke.SESSION_ENDED] < 30


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("missing_module", "No module named"),
        ("missing_library", "cannot open shared object file"),
        ("traceback", "Traceback"),
        ("log_traceback", "ravatar-live.log:2"),
        ("exit_1", "exit status 1"),
        ("segfault", "killed by SIGSEGV"),
        ("no_stream", "never logged 'stream event: ravatar-session-start'"),
        ("out_of_order", "out of order"),
    ],
)
def test_each_fault_fails_the_run(smoke: ModuleType, scenario: str, expected: str) -> None:
    result = run(smoke, scenario)
    assert not result.passed
    assert any(expected in failure for failure in result.failures), result.failures


def test_hang_is_killed_at_the_timeout(smoke: ModuleType) -> None:
    started = time.monotonic()
    result = run(smoke, "hang", timeout_s=2.0)
    assert time.monotonic() - started < 15
    assert result.timed_out and not result.passed
    assert any("still running" in failure for failure in result.failures)


def test_helper_processes_do_not_outlive_the_check(smoke: ModuleType, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    started = time.monotonic()
    result = run(smoke, "orphan_helper", keep_home=home)
    assert result.passed, result.failures
    assert time.monotonic() - started < 15, "waited for the helper's stdout to close"
    pid = int((home / "helper.pid").read_text())
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone and reaped
    try:
        # A pidfd turns readable when the process has exited (zombie or reaped).
        readable, _, _ = select.select([pidfd], [], [], 10)
        assert readable, f"helper {pid} still running after the smoke check returned"
    finally:
        os.close(pidfd)


def test_missing_executable_is_reported(smoke: ModuleType, tmp_path: Path) -> None:
    result = smoke.run_smoke([str(tmp_path / "nope")], timeout_s=5)
    assert not result.passed
    assert "could not start" in result.failures[0]


def test_cli_refuses_a_missing_build(smoke: ModuleType, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--app", str(tmp_path / "dist" / "ravatar-live")]) == 2
    assert "make package" in capsys.readouterr().err
