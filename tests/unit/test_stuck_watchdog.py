"""The suite's last line of defence against a hang (tests/support/stuck_watchdog.py), run on a
real pytest process: a test stuck where pytest-timeout's signal cannot reach it (SIGALRM blocked,
as in a C call that never returns to Python, or a callback of the qasync loop, which swallows
the exception) ends the run with every stack and its own name last (CI shows the tail), and a
quick test is not disturbed. Were the watchdog broken, the stuck test would sleep past this
test's own subprocess timeout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STUCK = """
import pathlib, signal, time
import pytest

def test_quick():
    pathlib.Path(__file__).with_name("quick.done").touch()

@pytest.mark.timeout(1)
def test_slow_but_allowed_longer():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(4)  # past hard_timeout (3 s), within its own marker's 2 x 1 + 60 s
    pathlib.Path(__file__).with_name("slow.done").touch()

def test_stuck_in_c():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(120)
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.stuck_watchdog"]\n')
    (tmp_path / "test_hang.py").write_text(STUCK)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "timeout=1",
         "--rootdir", str(tmp_path), "-c", "/dev/null", *args, str(tmp_path)],
        check=False, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=100)


def test_a_test_stuck_beyond_pytest_timeout_ends_the_run_with_its_stack(tmp_path: Path) -> None:
    done = _run(tmp_path, "-o", "hard_timeout=3")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "in test_stuck_in_c" in output, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("STUCK TEST: test_hang.py::test_stuck_in_c ran past 3 s"), output
    # The quick test ran as usual, and the one whose own timeout allows longer was not cut.
    assert (tmp_path / "quick.done").exists() and (tmp_path / "slow.done").exists(), output
    assert "passed" not in output  # pytest never got to its summary: the process ended
