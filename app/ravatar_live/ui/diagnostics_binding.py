""""Save diagnostics…" in the gear menu: asks where, gathers what the running app knows, and
lets live/diagnostics.py write the zip on a worker thread; the banner says where it went or why
it could not be written."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from ravatar_live.live.controller import AppController
from ravatar_live.live.diagnostics import DiagnosticsContent, gather_versions, write_diagnostics
from ravatar_live.live.turn_latency import TurnLatencyLog
from ravatar_live.logging_setup import log_files
from ravatar_live.stream.stats import StreamStats
from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.window_banners import Topic

logger = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[object, object, object]], object]


class DiagnosticsBinding(QObject):
    def __init__(self, controller: AppController, turns: TurnLatencyLog, banner: Banner, *,
                 spawn: Spawn, window: QWidget) -> None:
        super().__init__(window)
        self._c = controller
        self._turns = turns
        self._banner = banner
        self._spawn = spawn
        self._window = window
        # The stream's figures are cleared when a session ends; support wants the last ones.
        self._last_stats: StreamStats | None = None
        controller.health.stats_updated.connect(self._remember_stats)
        self.action = QAction("Save diagnostics…", window)
        self.action.setToolTip("Save a zip of logs, versions, settings (no passwords or "
                               "tokens), audio devices and stream figures for support")
        self.action.triggered.connect(self._on_save)
        #: Asks where to save (replaced in tests: no file dialog in CI).
        self.ask_save_path: Callable[[str], str] = self._ask_save_path

    @Slot(object)
    def _remember_stats(self, stats: StreamStats) -> None:
        self._last_stats = stats

    @Slot()
    def _on_save(self) -> None:
        path = self.ask_save_path(f"ravatar-live-diagnostics-{time.strftime('%Y%m%d-%H%M')}"
                                  ".zip")
        if path:
            self._spawn(self.save(Path(path)))

    async def save(self, path: Path) -> bool:
        """Write the bundle to `path`; False (and the banner says why) when it could not."""
        microphones = self._c.voice.devices()  # the capture backend lives on this thread
        settings, stats = self._c.settings, self._last_stats
        csv_text, logs = self._turns.to_csv(), log_files()

        def write() -> list[str]:
            # Imported here: PortAudio / Qt Multimedia load only when asked.
            from ravatar_live.stream.audio_output import list_output_devices  # noqa: PLC0415

            content = DiagnosticsContent(
                settings=settings, versions=gather_versions(), microphones=microphones,
                speakers=list_output_devices(), stream_stats=stats,
                turn_latencies_csv=csv_text, log_files=logs)
            return write_diagnostics(path, content)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            logger.warning("saving diagnostics failed: %s", reason)
            self._banner.post(Topic.EXPORT.value, BannerKind.ERROR, "Diagnostics not saved",
                              f"Could not write {path.name}: {reason}. Choose another folder "
                              "and try again.", actions=(("Try again", self._on_save),))
            return False
        self._banner.post(Topic.EXPORT.value, BannerKind.INFO, "Diagnostics saved",
                          f"Written to {path}. It holds no password or sign-in token.")
        return True

    def _ask_save_path(self, suggested: str) -> str:
        path, _filter = QFileDialog.getSaveFileName(
            self._window, "Save diagnostics", str(Path.home() / suggested),
            "Zip files (*.zip);;All files (*)")
        return path
