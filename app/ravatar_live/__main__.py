"""`python -m ravatar_live` / `ravatar-live`: logging, crash reporting, Qt identity, qasync loop."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

# PySide6 before qasync, so qasync binds to it (never PyQt).
os.environ.setdefault("QT_API", "pyside6")
from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    Qt,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: F401  (before QApplication)
from PySide6.QtWidgets import QApplication

from ravatar_live import APP_ID, APP_NAME, __version__
from ravatar_live.cli import parse_args
from ravatar_live.display_check import display_problem
from ravatar_live.logging_setup import configure_logging
from ravatar_live.rendering import RenderingMemory, configure_rendering, rendering_before_qt
from ravatar_live.ui.host_scheme import register_host_scheme

logger = logging.getLogger("ravatar_live")
EXIT_NO_DISPLAY = 3
_qt_logger = logging.getLogger("ravatar_live.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings go to our log (and through its redaction filter)."""
    _qt_logger.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def _excepthook(exc_type: type[BaseException], exc: BaseException,
                tb: TracebackType | None) -> None:
    """An exception escaping a slot: log it with its traceback; the app keeps running."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logger.error("unhandled exception:\n%s",
                 "".join(traceback.format_exception(exc_type, exc, tb)).rstrip())


def _default_log_dir() -> Path:
    from platformdirs import user_log_dir  # noqa: PLC0415 - only needed without --log-dir

    return Path(user_log_dir("ravatar-live", appauthor=False))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    problem = display_problem(os.environ)
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_NO_DISPLAY
    log_path = configure_logging(options.log_dir or _default_log_dir(), options.log_level)
    sys.excepthook = _excepthook
    qInstallMessageHandler(_qt_message)
    logger.info("%s %s starting (log file: %s)", APP_NAME, __version__, log_path)

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    register_host_scheme()  # the stream's host page; QtWebEngine wants it before the app exists
    QApplication.setApplicationName(APP_NAME)
    QApplication.setOrganizationName("RAVATAR")
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName(APP_ID)
    rendering_memory = RenderingMemory()
    known = rendering_before_qt(os.environ, rendering_memory)
    app = QApplication([sys.argv[0] if sys.argv else "ravatar-live"])
    if known is None:  # before the first window: no software OpenGL on every repaint
        configure_rendering(memory=rendering_memory)

    import qasync  # noqa: PLC0415 - after PySide6 and the QApplication

    from ravatar_live.app_runtime import run_app  # noqa: PLC0415
    from ravatar_live.main_thread_gc import MainThreadGc  # noqa: PLC0415
    from ravatar_live.ui.theme import app_icon  # noqa: PLC0415

    app.setWindowIcon(app_icon())
    MainThreadGc(app)  # no Qt object is ever collected on another thread (a deadlock)
    loop = qasync.QEventLoop(app)

    def on_loop_error(_loop: object, context: dict[str, object]) -> None:
        error = context.get("exception")
        logger.error("unhandled error in the event loop: %s", context.get("message"),
                     exc_info=error if isinstance(error, BaseException) else None)

    loop.set_exception_handler(on_loop_error)
    try:
        with loop:
            code: int = loop.run_until_complete(run_app(app, options))
    except RuntimeError as exc:  # the loop was stopped from outside (e.g. a session log-out)
        logger.warning("event loop stopped early: %s", exc)
        code = 0
    logger.info("exiting with status %d", code)
    logging.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
