"""A pytest plugin: a test stuck where pytest-timeout cannot reach it ends the run, loudly.

pytest-timeout's signal method raises in the main thread's Python code; a process blocked in C
(a Qt call waiting on a lock, or exit() run by a library thread while others hold locks) never
returns there, and CI would wait out its whole budget with no word of where. faulthandler's
watchdog is a C thread that needs no interpreter: past `hard_timeout` (ini, seconds; well beyond
pytest-timeout's `timeout`, which fails the test first whenever it can; a test given a longer
`@pytest.mark.timeout(s)` gets 2 s + 60 s) it prints every thread's Python stack to the terminal
and ends the process with status 1.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator

import pytest

_STATE: dict[str, int | float] = {}


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    if "limit" not in _STATE:
        yield
        return
    limit = float(_STATE["limit"])
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        limit = max(limit, 2 * float(marker.args[0]) + 60)
    faulthandler.dump_traceback_later(limit, exit=True, file=int(_STATE["fd"]))
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
