"""CPU and memory of a whole process tree (an app and its QtWebEngine children, a browser and
its renderers), read from /proc: what a person's task manager would add up.

CPU is utime + stime over a window, as a percentage of one core; a process that starts inside
the window counts from zero, one that ends counts up to its last sample. Memory is PSS
(proportional set size: shared pages split between the processes that share them), so summing
it over a tree does not count the shared libraries twice the way RSS does. PSS also moves when
other processes on the machine start or stop mapping the same libraries (another Qt app, a
test run next door); private memory (pages no other process maps) does not, so a growth check
that must hold on a busy machine reads that.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields after the last ')' are fixed.
    return text.rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """`root` and every process below it (children of any of its threads)."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parent_of[int(entry.name)] = int(fields[1])
    tree = [root] if root in parent_of else []
    for pid in tree:  # grows while it is walked: breadth first
        tree.extend(child for child, parent in parent_of.items() if parent == pid)
    return tree


def cpu_seconds(pid: int) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _rollup_kib(pid: int, *keys: str) -> int:
    """The sum of these smaps_rollup fields in KiB (0 once the process is gone)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in keys:
                total += int(rest.split()[0])
    except OSError:
        pass
    return total


def pss_kib(pid: int) -> int:
    """The process's PSS in KiB (0 once it is gone)."""
    return _rollup_kib(pid, "Pss")


def private_kib(pid: int) -> int:
    """The process's private memory in KiB: pages no other process maps (0 once it is gone)."""
    return _rollup_kib(pid, "Private_Clean", "Private_Dirty")


def process_name(pid: int) -> str:
    """A short name: the command (python's `-m` module), and Chromium's or QtWebEngine's
    --type= when it has one (Chromium rewrites its argv, so the type is searched in all of it)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").split()
    except OSError:
        return "?"
    if comm.startswith("python") and "-m" in args[:-1]:
        comm = args[args.index("-m") + 1]
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "")
    return f"{comm}:{kind}" if kind else comm


def tree_pss_kib(root: int) -> dict[int, int]:
    """PSS of every process in the tree, by pid."""
    return {pid: pss_kib(pid) for pid in descendants(root)}


def tree_private_kib(root: int) -> int:
    """Private memory of the whole tree."""
    return sum(private_kib(pid) for pid in descendants(root))


@dataclass
class TreeCpu:
    """CPU of a process tree over a window: `start()`, `sample()` now and then (so short-lived
    children are seen), `percent()` at the end."""

    root: int
    _first: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _started_at: float = 0.0
    _sampled_at: float = 0.0

    def start(self) -> None:
        self._first.clear()
        self._last.clear()
        self._started_at = time.monotonic()
        self._read(first=True)

    def sample(self) -> None:
        self._read(first=False)

    def _read(self, *, first: bool) -> None:
        for pid in descendants(self.root):
            seconds = cpu_seconds(pid)
            if seconds is None:
                continue
            if pid not in self._first:
                self._first[pid] = seconds if first else 0.0
            self._last[pid] = seconds
        self._sampled_at = time.monotonic()

    def percent(self) -> float:
        """% of one core used by the tree between `start()` and the last sample."""
        return sum(self.by_process().values())

    def by_process(self) -> dict[int, float]:
        """% of one core used by each process of the tree (taking a last sample)."""
        self.sample()
        elapsed = self._sampled_at - self._started_at
        if elapsed <= 0:
            return dict.fromkeys(self._last, 0.0)
        return {pid: 100.0 * (self._last[pid] - self._first[pid]) / elapsed
                for pid in self._last}
