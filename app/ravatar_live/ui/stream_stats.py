"""The stream statistics overlay (like Pixel Streaming's stats panel) and the stream problem
banner with its "Open in browser" offer.

`StreamStatsOverlay` is a small translucent panel that floats in the top-right corner of its
parent (the stream area), below the banner when one is shown (`keep_clear_of`), and is toggled
by `toggle_action()` (Ctrl+Shift+S); it shows what it is given: bind
`StreamHealth.stats_updated -> show_stats`, `first_frame -> show_first_frame`,
`TurnLatencyTracker.turn_updated -> show_turn`. `StreamProblemPresenter` puts StreamHealth's
problems on the window's Banner with an "Open in browser" action.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QWidget

from ravatar_live.live.player_choice import PlayerKind
from ravatar_live.live.stream_health import StreamHealth, StreamStats, codec_label
from ravatar_live.live.stream_players import StreamPlayers
from ravatar_live.live.turn_latency import Turn
from ravatar_live.ui.banner import Banner, BannerKind

ROWS = ("Player", "Video codec", "Frames", "Frame rate", "Resolution", "Bitrate",
        "Round trip", "Jitter", "Audio level", "First frame", "Last turn")
PLAYER_NAMES = {PlayerKind.WEB.value: "Built-in browser", PlayerKind.NATIVE.value: "App's own"}
DASH = "\u2014"
MARGIN = 12
PROBLEM_TITLES = {"codec": "The video cannot be played here",
                  "no-frames": "No video from the stream",
                  "access": "The stream refused the app",
                  "connection": "The stream could not connect"}


def _level_text(level: float | None) -> str:
    """'0.12 (-18 dB)': the stream's audio level (0..1, linear) and in decibels."""
    if level is None:
        return DASH
    if level < 0.001:
        return "silent"
    return f"{level:.2f} ({20 * math.log10(level):.0f} dB)"


def format_stats(stats: StreamStats) -> dict[str, str]:
    """The overlay's rows for one report (first frame and turns are shown separately)."""
    if stats.video_codec:
        codec = codec_label(stats.video_codec)
    elif stats.offered_video:
        offered = ", ".join(codec_label(c) for c in stats.offered_video)
        codec = f"{offered} offered, {'refused' if stats.video_rejected else 'none yet'}"
    else:
        codec = DASH
    frames = (f"{stats.frames_decoded} decoded / {stats.frames_received} received"
              + (f", {stats.frames_dropped} dropped" if stats.frames_dropped else ""))
    return {
        "Video codec": codec,
        "Frames": frames,
        "Frame rate": f"{stats.fps:.0f} fps" if stats.fps is not None else DASH,
        "Resolution": f"{stats.width}\u00d7{stats.height}" if stats.width and stats.height
        else DASH,
        "Bitrate": f"{stats.bitrate_kbps:.0f} kbit/s" if stats.bitrate_kbps is not None else DASH,
        "Round trip": (f"{stats.rtt_ms:.0f} ms"
                       + (" (signalling)" if stats.rtt_source == "signalling" else "")
                       if stats.rtt_ms is not None else DASH),
        "Jitter": f"{stats.jitter_ms:.0f} ms" if stats.jitter_ms is not None else DASH,
        "Audio level": _level_text(stats.audio_level),
    }


class StreamStatsOverlay(QFrame):
    """A toggleable panel of stream figures over the stream's top-right corner."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("StreamStatsOverlay")
        self.setAccessibleName("Stream statistics")
        self.setToolTip("Stream statistics (Ctrl+Shift+S to hide)")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(
            "#StreamStatsOverlay { background: rgba(8, 10, 14, 200); border-radius: 8px; }"
            "#StreamStatsOverlay QLabel { color: #d8dde8; background: transparent;"
            " font-family: monospace; font-size: 11px; }"
            "#StreamStatsOverlay QLabel[role=\"name\"] { color: #8b93a7; }"
            "#StreamStatsOverlay QLabel[role=\"state\"] { color: #f5c56b; font-weight: bold; }")
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self._state = QLabel("No stream", self)
        self._state.setProperty("role", "state")
        grid.addWidget(self._state, 0, 0, 1, 2)
        self._values: dict[str, QLabel] = {}
        for row, name in enumerate(ROWS, start=1):
            label = QLabel(name, self)
            label.setProperty("role", "name")
            value = QLabel(DASH, self)
            value.setAccessibleName(name)
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            self._values[name] = value
        self._action: QAction | None = None
        self._clear_of: QWidget | None = None
        parent.installEventFilter(self)
        self.hide()

    def keep_clear_of(self, widget: QWidget) -> None:
        """Stay below `widget` (the banner over the stream's top edge) while it is shown."""
        self._clear_of = widget
        widget.installEventFilter(self)

    # --- for the window and for tests --------------------------------------------------------
    def values(self) -> dict[str, str]:
        """Row name -> shown text (and "State")."""
        return {"State": self._state.text(), **{k: v.text() for k, v in self._values.items()}}

    def toggle_action(self) -> QAction:
        """A checkable action (Ctrl+Shift+S) that shows and hides the overlay; add it to a menu
        or to the window (`window.addAction`) so its shortcut works."""
        if self._action is None:
            action = QAction("Stream statistics", self.parentWidget())
            action.setCheckable(True)
            action.setShortcut(QKeySequence("Ctrl+Shift+S"))
            action.setToolTip("Show the stream's codec, frame rate, bitrate and latency")
            action.toggled.connect(self.set_shown)
            self._action = action
        return self._action

    @Slot(bool)
    def set_shown(self, shown: bool) -> None:
        self.setVisible(shown)
        if shown:
            self._place()
            self.raise_()
        if self._action is not None and self._action.isChecked() != shown:
            self._action.setChecked(shown)

    @Slot()
    def toggle(self) -> None:
        self.set_shown(not self.isVisible())

    # --- inputs ------------------------------------------------------------------------------
    @Slot(object)
    def show_stats(self, stats: StreamStats) -> None:
        self._state.setText(f"WebRTC {stats.state}")
        for name, text in format_stats(stats).items():
            self._values[name].setText(text)
        self._fit()

    @Slot(float)
    def show_first_frame(self, seconds: float) -> None:
        self._values["First frame"].setText(f"{seconds:.2f} s")
        self._fit()

    @Slot(object)
    def show_turn(self, turn: Turn) -> None:
        reply = f"{turn.reply_s:.2f} s" if turn.reply_s is not None else DASH
        voice = f"{turn.speaking_s:.2f} s" if turn.speaking_s is not None else DASH
        self._values["Last turn"].setText(f"reply {reply}, voice {voice}")
        self._fit()

    @Slot(str)
    def show_player(self, kind: str) -> None:
        """Which player shows the stream (a PlayerKind value; "" for none)."""
        self._values["Player"].setText(PLAYER_NAMES.get(kind, DASH))
        self._fit()

    @Slot()
    def clear(self) -> None:
        """Forget the stream's figures (the player row follows `show_player`)."""
        self._state.setText("No stream")
        for name, value in self._values.items():
            if name != "Player":
                value.setText(DASH)
        self._fit()

    # --- placement ---------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        parent_resized = watched is self.parentWidget() and event.type() == QEvent.Type.Resize
        banner_moved = watched is self._clear_of and self.isVisible() and event.type() in (
            QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.Move, QEvent.Type.Resize)
        if parent_resized or banner_moved:
            self._place()
        return False

    def _fit(self) -> None:
        if self.isVisible():
            self.adjustSize()
            self._place()

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        self.adjustSize()
        # Top-right: the top-left belongs to the avatar's name, the bottom to its captions and
        # body; the banner (top centre) pushes the panel down while it is shown.
        x = max(0, parent.width() - self.width() - MARGIN)
        y = MARGIN
        clear_of = self._clear_of
        if clear_of is not None and clear_of.isVisible() and \
                clear_of.geometry().intersects(QRect(x, y, self.width(), self.height())):
            y = clear_of.geometry().bottom() + 1 + MARGIN // 2
        self.move(x, max(0, min(y, parent.height() - self.height() - MARGIN)))
        self.raise_()


class StreamProblemPresenter(QObject):
    """Shows stream problems on a Banner, offering to open the stream in the browser. The source
    is the players service (the problems no player switch can solve) or, alone, a StreamHealth.

    A codec problem is known before the page reports "ravatar-session-start", so the window's
    short-lived "Live" (success) banner would cover it: the problem comes back over a success
    banner, and gives way to anything else (errors, "Session ended"...)."""

    def __init__(self, health: StreamHealth | StreamPlayers, banner: Banner,
                 open_in_browser: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent or health)
        self._banner = banner
        self._open_in_browser = open_in_browser
        self._showing = False
        self._active: tuple[str, str] | None = None
        health.problem.connect(self.show_problem)
        health.problem_cleared.connect(self.clear_problem)
        banner.shown_message.connect(self._on_banner_replaced)

    @Slot(str, str)
    def show_problem(self, kind: str, message: str) -> None:
        self._active = (kind, message)
        self._banner.show_message(
            BannerKind.ERROR if kind == "codec" else BannerKind.WARNING,
            PROBLEM_TITLES.get(kind, "The stream has a problem"), message,
            actions=(("Open in browser", self._open),))
        self._showing = True

    @Slot()
    def clear_problem(self) -> None:
        self._active = None
        if self._showing and self._banner.isVisible():
            self._banner.clear()
        self._showing = False

    @Slot()
    def _open(self) -> None:
        self._open_in_browser()

    @Slot()
    def _on_banner_replaced(self) -> None:
        if self._showing and self._active is not None:
            # Look once the new message is in place (and after a reset in the same emission).
            QTimer.singleShot(0, self, self._reassert)
        self._showing = False

    @Slot()
    def _reassert(self) -> None:
        if self._active is not None and not self._showing and \
                self._banner.kind is BannerKind.SUCCESS:
            self.show_problem(*self._active)
