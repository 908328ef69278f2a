"""The real app process, driven by its log lines, and the scan for secrets it must never write."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class AppProcess:
    """`python -m ravatar_live ARGS` with its own XDG dirs and log dir under `home`.

    stderr lines are collected on a thread, so tests wait on log lines (a condition variable),
    never on sleeps.
    """

    def __init__(self, args: list[str], *, home: Path, env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, **(env or {}),
                    "XDG_CONFIG_HOME": str(home / "config"),
                    "XDG_STATE_HOME": str(home / "state"),
                    "XDG_DATA_HOME": str(home / "data"),
                    "XDG_CACHE_HOME": str(home / "cache")}
        self.lines: list[str] = []
        self.line_times: dict[str, float] = {}
        self._cond = threading.Condition()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ravatar_live", "--log-dir", str(home / "logs"), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full_env, text=True,
            errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _ended(self) -> bool:
        return self.proc.poll() is not None and not self._reader.is_alive()

    def poll_for(self, pattern: str, timeout_s: float = 60.0) -> re.Match[str] | None:
        """The first log line matching `pattern`, or None once the process ended or time ran out."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        self.line_times.setdefault(pattern, time.monotonic() - self.started_at)
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or self._ended():
                    return None
                self._cond.wait(timeout=min(left, 1.0))

    def wait_for_count(self, pattern: str, count: int, stall_s: float = 60.0) -> int:
        """Wait until `count` log lines match `pattern` and return how many do. It fails only
        when no new line matched for `stall_s` (or the process ended): bounded by progress,
        not by a total time, for work whose length the machine's speed decides."""
        regex = re.compile(pattern)
        seen = checked = 0
        deadline = time.monotonic() + stall_s
        with self._cond:
            while True:
                found = sum(1 for line in self.lines[checked:] if regex.search(line))
                checked = len(self.lines)
                if found:
                    seen += found
                    deadline = time.monotonic() + stall_s
                if seen >= count:
                    return seen
                left = deadline - time.monotonic()
                if left <= 0 or self._ended():
                    raise AssertionError(
                        f"{seen} of {count} log lines matching {pattern!r}, then none for "
                        f"{stall_s:g} s (exit code {self.proc.poll()}); log tail:\n"
                        f"{self.tail(40)}")
                self._cond.wait(timeout=min(left, 1.0))

    def wait_for(self, pattern: str, timeout_s: float = 60.0) -> re.Match[str]:
        """Like poll_for, but a missing line fails the test with the log's tail."""
        match = self.poll_for(pattern, timeout_s)
        if match is None:
            raise AssertionError(f"no log line matching {pattern!r} (exit code "
                                 f"{self.proc.poll()}); log tail:\n{self.tail(40)}")
        return match

    def seen(self, pattern: str, before: int | None = None) -> bool:
        """Whether a line matches, among the first `before` lines (all when None)."""
        regex = re.compile(pattern)
        with self._cond:
            return any(regex.search(line) for line in self.lines[:before])

    def index_of(self, pattern: str) -> int | None:
        regex = re.compile(pattern)
        with self._cond:
            return next((i for i, line in enumerate(self.lines) if regex.search(line)), None)

    def line_count(self) -> int:
        with self._cond:
            return len(self.lines)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def terminate(self) -> None:
        self.signal(signal.SIGTERM)

    def wait_exit(self, timeout_s: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def tail(self, count: int) -> str:
        with self._cond:
            return "\n".join(self.lines[-count:])


def secrets_in(text: str, tokens: list[str]) -> list[str]:
    """What in `text` would give a token away: an issued JWT, a `token=` URL value, an
    Authorization header or a bare bearer JWT that the redaction filter let through."""
    found = [f"the JWT {t[:16]}…" for t in tokens if t and t in text]
    found += [f"a token= URL ({m.group(0)[:24]}…)"
              for m in re.finditer(r"token=(?!\[REDACTED\])[^\s&\"']+", text)]
    found += [f"an Authorization header ({m.group(0)[:30]})"
              for m in re.finditer(r"(?i)authorization['\"]?\s*[:=]\s*['\"]?\s*bearer\s+"
                                   r"(?!\[REDACTED\])\S+", text)]
    found += [f"a bare bearer token ({m.group(0)[:20]}…)"
              for m in re.finditer(r"(?i)bearer\s+eyJ", text)]
    return found
