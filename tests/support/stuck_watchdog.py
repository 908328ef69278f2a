"""A pytest plugin: a test stuck where pytest-timeout cannot reach it ends the run, loudly, and
names itself.

pytest-timeout's signal method raises in the main thread's Python code. Two kinds of stuck test
never feel it: one blocked in C (a Qt call waiting on a lock, or exit() run by a library thread
while others hold locks), and a GUI test running inside the qasync loop, whose loop swallows the
exception like any error in a callback (tests/support/qt_loop.py). CI would then wait out its
whole budget, and CI shows only the tail of the output.

So past `hard_timeout` (ini, seconds; well beyond pytest-timeout's `timeout`, which fails the test
first whenever it can; a test given a longer `@pytest.mark.timeout(s)` gets 2 s + 60 s) a Python
watchdog thread prints every thread's stack and then, last, the stuck test's id, and ends the
process with status 1. A main thread that holds the GIL in C would starve that thread, so
faulthandler's C watchdog (needs no interpreter) does the same a minute later, without the name.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Iterator

import pytest

_STATE: dict[str, int | float] = {}
_C_BACKSTOP_S = 60.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hard_timeout", "seconds after which a stuck test ends the whole run "
                  "(0: never)", default="0")


def pytest_configure(config: pytest.Config) -> None:
    limit = float(config.getini("hard_timeout"))
    if limit > 0:
        # The terminal's own descriptor: output capture will point fd 2 at a temporary file.
        _STATE["fd"] = os.dup(sys.__stderr__.fileno() if sys.__stderr__ else 2)
        _STATE["limit"] = limit


def pytest_unconfigure(config: pytest.Config) -> None:
    if "fd" in _STATE:
        os.close(int(_STATE.pop("fd")))


def _watch(finished: threading.Event, fd: int, nodeid: str, limit: float) -> None:
    """Unless the test finishes within `limit`: every thread's stack, then the test's name (the
    last line CI shows), then exit."""
    # Signals stay with the main thread: pytest-timeout's SIGALRM must interrupt its calls.
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    if finished.wait(limit):
        return
    faulthandler.dump_traceback(file=fd, all_threads=True)
    os.write(fd, f"\nSTUCK TEST: {nodeid} ran past {limit:.0f} s; every thread's stack is "
                 "above. Ending the run.\n".encode())
    os._exit(1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    if "limit" not in _STATE:
        yield
        return
    limit = float(_STATE["limit"])
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        limit = max(limit, 2 * float(marker.args[0]) + 60)
    fd = int(_STATE["fd"])
    finished = threading.Event()
    threading.Thread(target=_watch, args=(finished, fd, item.nodeid, limit), daemon=True,
                     name="stuck-test-watchdog").start()
    faulthandler.dump_traceback_later(limit + _C_BACKSTOP_S, exit=True, file=fd)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        finished.set()
