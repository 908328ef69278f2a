"""One run of the app inside the qasync loop: build the services and the window, wait for close.

Every way out goes through the window's close path, which ends the live session first: the close
button, Ctrl+Q, SIGINT/SIGTERM, RAVATAR_LIVE_EXIT_AFTER_S. An OS log-out
(`commitDataRequest`) or a quit from outside (`aboutToQuit`) may not give the loop another turn,
so those end the license synchronously.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QSessionManager
from PySide6.QtWidgets import QApplication

from ravatar_live.audio.capture_default import default_capture
from ravatar_live.audio.voice import VoiceController
from ravatar_live.cli import CliOptions, apply_overrides
from ravatar_live.live.controller import AppController
from ravatar_live.live.license_journal import LicenseJournal
from ravatar_live.live.voice_service import voice_settings_from
from ravatar_live.settings import SettingsError
from ravatar_live.settings_service import SettingsService
from ravatar_live.settings_store import SettingsStore
from ravatar_live.token_store import TokenStore
from ravatar_live.ui.main_window import MainWindow
from ravatar_live.ui.theme import apply_theme

logger = logging.getLogger(__name__)


class _ExitHooks:
    """Connects the process-level exits to the window's close path."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        self._window = window
        app.commitDataRequest.connect(self._on_commit_data)
        app.aboutToQuit.connect(self._on_about_to_quit)

    @Slot(QSessionManager)
    def _on_commit_data(self, _manager: QSessionManager) -> None:
        logger.info("the desktop session is ending: ending the live session now")
        self._window.end_session_now()

    @Slot()
    def _on_about_to_quit(self) -> None:
        self._window.end_session_now()

    @Slot()
    def close_window(self) -> None:
        self._window.close()


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, hooks: _ExitHooks) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, hooks.close_window)
        except (NotImplementedError, RuntimeError, ValueError):
            # Windows has no loop signal handlers; Python's own still runs between Qt events.
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(hooks.close_window))


def show_where_tokens_are_kept(window: MainWindow, tokens: TokenStore) -> None:
    """The status bar's sign-in note: asking it looks for the keychain (~0.1 s of imports)."""
    window.token_label.setText("Sign-in kept in the system keychain" if tokens.persistent
                               else "Sign-in kept in memory only")
    window.sign_in_note = tokens.explanation
    if not tokens.persistent:
        window.token_label.setToolTip(tokens.explanation)


async def run_app(app: QApplication, options: CliOptions) -> int:
    loop = asyncio.get_running_loop()
    store = SettingsStore(options.settings_path)
    saved = store.ensure_user_id(store.load())
    notices = list(store.notices)
    try:
        settings = apply_overrides(saved, options)
    except SettingsError as exc:  # a command-line value the model refuses: say so, run anyway
        logger.warning("command-line settings ignored: %s", exc.user_message)
        notices.append(f"A command-line option was ignored: {exc.user_message}")
        settings = saved
    apply_theme(app, settings.theme)  # the saved look, before the window first paints
    tokens = TokenStore()
    voice = VoiceController(default_capture(), voice_settings_from(settings), loop=loop)
    controller = AppController(settings, voice, force_demo=options.demo,
                               journal=LicenseJournal(), token_store=tokens)
    window = MainWindow(controller, SettingsService(store, lambda: controller.settings,
                                                    controller.update_settings))

    closed: asyncio.Future[None] = loop.create_future()

    @Slot()
    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(on_closed)
    hooks = _ExitHooks(app, window)
    _install_signal_handlers(loop, hooks)
    window.show()
    for notice in notices:
        controller.chat.tell(notice)
    if store.loaded_version == 0:  # no settings file before this run: the first start
        window.setup_check.offer()
    logger.info("startup complete")

    loop.call_soon(show_where_tokens_are_kept, window, tokens)  # after the first paint
    if options.exit_after_s is not None:
        QTimer.singleShot(round(options.exit_after_s * 1000), window.close)
    startup = loop.create_task(controller.startup(start_session=options.start))
    try:
        await closed
    finally:
        startup.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await startup
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    window.deleteLater()
    return 0
