"""A pytest plugin: tests that use the `qloop` fixture run INSIDE the qasync loop, as the app does.

The app runs everything through `loop.run_forever()` of one qasync loop (Qt's exec() with asyncio
on top); asyncio then knows its running loop by its own means. GUI tests do the same: each test
that uses the `qloop` fixture (tests/gui/conftest.py; `aloop` uses it) has its whole runtest
protocol (setup, call, teardown, and
pytest-qt's event processing between them) run from a callback of `run_forever()`, which is
stopped when the protocol is over. qtbot's waits spin Qt's event loop inside it, so every
asyncio callback and task step happens while the loop is running, and the async tests of other
layers (pytest-asyncio) never find a foreign loop marked as running.

One QApplication and one loop serve the session. Inside exec() a closed last window would quit
the application, which ends every later wait at once: the harness turns that off. As in the
app, Python's cycle collector runs on this (the GUI) thread only (ravatar_live/main_thread_gc.py):
while the loop runs, and after every test.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import qasync  # picks PySide6: tests/conftest.py sets QT_API before this plugin loads
from _pytest.runner import runtestprotocol  # pytest's own protocol, as pytest-rerunfailures uses
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from ravatar_live.main_thread_gc import MainThreadGc

_SESSION: dict[str, Any] = {}


def _application(config: pytest.Config) -> QApplication:
    """The session's QApplication, made as pytest-qt's `qapp` would make it (it reuses it)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
        app.setApplicationName(config.getini("qt_qapp_name"))
    _SESSION["app"] = app  # keep it alive for the whole session
    app.setQuitOnLastWindowClosed(False)
    return app


def session_loop(config: pytest.Config) -> qasync.QEventLoop:
    """The session's one qasync loop (made on first use)."""
    loop = _SESSION.get("loop")
    if loop is None:
        loop = qasync.QEventLoop(_application(config))
        # A plain thread pool (DNS lookups run there) that is shut down at the end.
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="gui-test-executor"))
        _SESSION["loop"] = loop
        _SESSION["gc"] = MainThreadGc(_SESSION["app"])
    return loop


def inside_loop[T](loop: qasync.QEventLoop, work: Callable[[], T]) -> T:
    """Call `work()` from within `loop.run_forever()`, stop the loop, and return its result
    (or raise what it raised, pytest's outcomes included)."""
    outcome: list[tuple[bool, Any]] = []

    def call() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed over to the caller below
            outcome.append((False, exc))
        finally:
            loop.stop()

    loop.call_soon(call)
    loop.run_forever()
    if not outcome:
        raise RuntimeError("the qasync loop stopped before the test ran")
    done, value = outcome[0]
    if not done:
        raise value
    return value


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if "qloop" not in getattr(item, "fixturenames", ()):
        return None  # not a GUI test: pytest's own protocol runs it
    loop = session_loop(item.config)
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    inside_loop(loop, lambda: runtestprotocol(item, nextitem=nextitem))
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    collector = _SESSION.get("gc")
    if collector is not None:  # between tests too, GUI or not, on the main thread
        collector.check()


@pytest.hookimpl(trylast=True)  # after the last session fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    loop = _SESSION.pop("loop", None)
    if loop is not None:
        # Delete windows and pages now, while the web profile they use still exists.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        loop.close()  # also shuts the thread pool down
    collector = _SESSION.pop("gc", None)
    if collector is not None:
        collector.stop()
