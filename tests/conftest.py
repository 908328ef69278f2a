"""Session-wide test environment: headless Qt, isolated settings, state and keychain."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Headless Qt everywhere; QtWebEngine refuses to run as root without this (tests and CI only).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Offscreen Qt makes its GL contexts through GLX on $DISPLAY when one is set; a test that points
# DISPLAY at its own Xvfb (the global-key tests) would tie this process to that server, and libX11
# ends the process (exit from a Chromium thread, which can hang) once the server stops.
os.environ.setdefault("QT_QPA_OFFSCREEN_NO_GLX", "1")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-first-run")
os.environ.setdefault("QT_API", "pyside6")

# Keep the developer's real config, state and keychain out of reach of every test.
_ISOLATED_HOME = Path(tempfile.mkdtemp(prefix="ravatar-test-home-"))
for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                 ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
    os.environ[var] = str(_ISOLATED_HOME / sub)
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

# QtWebEngine must be imported, and GL contexts shared, before any QApplication exists; whichever
# test directory creates the application first.
from PySide6.QtCore import QCoreApplication, Qt  # noqa: E402
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: E402, F401

from ravatar_live.ui.host_scheme import register_host_scheme  # noqa: E402

QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

# GUI tests run inside the session's qasync loop (tests/support/qt_loop.py); a test stuck in C
# ends the run with its stacks (tests/support/stuck_watchdog.py).
pytest_plugins = ["tests.support.qt_loop", "tests.support.stuck_watchdog"]
register_host_scheme()  # the app's web view serves its host page on this scheme
