"""`make run` waits for another package manager instead of failing on dpkg's lock.

A temp file stands in for /var/lib/dpkg/lock-frontend (PACKAGE_LOCKS); it is locked the two
ways programs do: flock(1), and an fcntl lock as dpkg and apt take it. The holder lets go when
the test says so (it waits on its stdin), so nothing here is timed by sleeps.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCKS = REPO / "scripts" / "package-locks.sh"
SYSTEM_DEPS = REPO / "scripts" / "system-deps.sh"
FCNTL_HOLDER = ("import fcntl, sys\n"
                "f = open(sys.argv[1], 'w')\n"
                "fcntl.lockf(f, fcntl.LOCK_EX)\n"
                "print('held', flush=True)\n"
                "sys.stdin.read()\n")


class Holder:
    """Holds a lock on `path` until `release()`."""

    def __init__(self, path: Path, kind: str) -> None:
        if kind == "flock":
            cmd = ["flock", "-x", str(path), "-c", "echo held; cat >/dev/null"]
        else:
            cmd = [sys.executable, "-c", FCNTL_HOLDER, str(path)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(params=["flock", "fcntl"])
def held(request, tmp_path) -> Iterator[tuple[Path, Holder]]:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = Holder(lock, request.param)
    try:
        yield lock, holder
    finally:
        if holder.proc.poll() is None:
            holder.release()


def env_for(lock: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PACKAGE_LOCKS": f"{lock.parent / 'absent'} {lock}",
            "PACKAGE_LOCK_POLL_S": "0.1", **extra}


def test_it_waits_saying_so_and_goes_on_once_the_lock_is_free(held) -> None:
    lock, holder = held
    waiter = subprocess.Popen([str(LOCKS)], env=env_for(lock), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert waiter.stdout is not None
    said = waiter.stdout.readline()
    assert "Waiting for another package manager to finish" in said
    assert f"process {holder.proc.pid}" in said and str(lock) in said
    assert waiter.poll() is None, "still waiting while the lock is held"
    holder.release()
    assert waiter.wait(timeout=30) == 0


def test_it_gives_up_with_words_after_the_limit(held) -> None:
    lock, _holder = held
    done = subprocess.run([str(LOCKS)], env=env_for(lock, PACKAGE_LOCK_WAIT_S="1"),
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert "Gave up after" in done.stderr and "run this again" in done.stderr


def test_free_locks_cost_nothing(tmp_path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    done = subprocess.run([str(LOCKS)], env=env_for(lock), capture_output=True, text=True,
                          timeout=30, check=False)
    assert (done.returncode, done.stdout) == (0, "")


@pytest.mark.skipif(os.geteuid() != 0, reason="system-deps.sh installs only as root")
def test_system_deps_runs_apt_only_after_the_lock_is_free(tmp_path) -> None:
    # Stand-ins for dpkg-query and apt-get: the real ones would install packages on this
    # machine. They record what system-deps.sh asked for; the lock wait is the real one.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for name, body in (("dpkg-query", "exit 1"),  # every package looks missing
                       ("apt-get", f'echo "apt-get $*" >> {calls}')):
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = Holder(lock, "fcntl")
    env = env_for(lock, PATH=f"{bin_dir}:{os.environ['PATH']}")
    deps = subprocess.Popen([str(SYSTEM_DEPS), "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert deps.stdout is not None
    assert deps.stdout.readline().startswith("Installing system packages:")
    assert "Waiting for another package manager" in deps.stdout.readline()
    assert not calls.exists(), "apt-get must not run while the lock is held"
    holder.release()
    assert deps.wait(timeout=30) == 0
    recorded = calls.read_text().splitlines()
    assert [line.split()[3] for line in recorded] == ["update", "install"]
    assert all("DPkg::Lock::Timeout=600" in line for line in recorded)
    assert "libxcb-cursor0" in recorded[1]
