"""Stream figures and per-turn latency: the stats overlay (fed by the controller's StreamHealth,
whichever player shows the stream), a stream problem no player switch could solve on the banner
with its "Open in browser" offer, the latency beside each reply and its CSV export."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from ravatar_live.live.controller import AppController
from ravatar_live.live.stream_health import StreamHealth
from ravatar_live.live.turn_latency import TurnLatencyTracker
from ravatar_live.ui.banner import GENERAL, Banner
from ravatar_live.ui.conversation import ConversationView
from ravatar_live.ui.stream_area import StreamArea
from ravatar_live.ui.stream_stats import StreamProblemPresenter, StreamStatsOverlay
from ravatar_live.ui.stream_view import StreamView, install_stats_probe
from ravatar_live.ui.window_banners import WindowBanners

logger = logging.getLogger(__name__)


class StreamHealthBinding(QObject):
    def __init__(self, controller: AppController, view: StreamView, area: StreamArea,
                 conversation: ConversationView, banners: WindowBanners, *,
                 open_in_browser: Callable[[], object], window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._banners = banners
        banner: Banner = banners.banner
        self._banner = banner
        c = controller
        install_stats_probe(view.stream_page.profile())
        self.health: StreamHealth = c.health
        self.turns = TurnLatencyTracker(parent=self)
        self.overlay = StreamStatsOverlay(area)
        self.overlay.keep_clear_of(banner)
        self.stats_action: QAction = self.overlay.toggle_action()
        self.problems = StreamProblemPresenter(c.players, banner, open_in_browser,
                                               parent=self)
        self.export_action = QAction("Export turn latencies…", window)
        self.export_action.setToolTip(
            "Save how long the avatar took to answer each turn, as a CSV file")
        self.export_action.triggered.connect(self._on_export)
        #: Asks where to save the export (replaced in tests: no file dialog in CI).
        self.ask_save_path: Callable[[str], str] = self._ask_save_path
        c.players.player_changed.connect(self.overlay.show_player)
        self.health.stats_updated.connect(self.overlay.show_stats)
        self.health.first_frame.connect(self.overlay.show_first_frame)
        self.health.avatar_audio_started.connect(self.turns.on_avatar_audio_started)
        # After the conversation's own slots (bound first): a reply's figure needs its bubble.
        c.chat.user_turn.connect(self.turns.on_user_turn)
        c.chat.avatar_turn.connect(self.turns.on_avatar_turn)
        c.voice.take_sent.connect(self.turns.on_take_sent)
        self.turns.turn_updated.connect(self.overlay.show_turn)
        self.turns.turn_updated.connect(conversation.show_turn_latency)
        c.session.stream_ready.connect(self.begin)
        c.session.ended.connect(self.over)
        c.session.failed.connect(self.over)
        c.stream.session_closed.connect(self.over)

    @Slot()
    def begin(self) -> None:
        self.overlay.clear()

    @Slot()
    def over(self) -> None:
        self.overlay.clear()
        # The problem presenter posts under the banner's general topic and may have been
        # covered by a more important message meanwhile: its problem ends with the stream.
        self._banner.withdraw(GENERAL)

    # ------------------------------------------------------------------ the export
    @Slot()
    def _on_export(self) -> None:
        path = self.ask_save_path("turn-latencies.csv")
        if path:
            self.export(path)

    def export(self, path: str | Path) -> bool:
        """Save the turn latencies as CSV to `path`; a failure is shown, not raised."""
        target = Path(path)
        try:
            self.turns.export_csv(target)
        except OSError as exc:
            logger.warning("exporting turn latencies failed: %s", exc.strerror or exc)
            self._banners.show_export_failed(target, str(exc.strerror or exc),
                                             retry=self._on_export)
            return False
        self._banners.show_export_saved(target, len(self.turns.log.turns))
        return True

    def _ask_save_path(self, suggested: str) -> str:
        path, _filter = QFileDialog.getSaveFileName(
            self._window, "Export turn latencies", str(Path.home() / suggested),
            "CSV files (*.csv);;All files (*)")
        return path
