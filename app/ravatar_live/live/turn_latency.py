"""Per-turn latency, measured in the client, kept as a CSV the user can export.

A turn starts when the user's speech ends (the voice take was sent) or a typed message was sent.
Two figures follow it: the reply text received, and the avatar starting to speak (its voice rising
on the stream, from StreamHealth.avatar_audio_started). `TurnLatencyLog` is plain Python;
`TurnLatencyTracker` is its Qt face with slots to bind and signals for the conversation pane and
the stats overlay.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

logger = logging.getLogger(__name__)

CSV_HEADER = ("turn", "started_at", "via", "reply_s", "avatar_speaking_s")
DEFAULT_SPEAKING_WAIT_S = 15.0


@dataclass
class Turn:
    """One user turn and how long the avatar took (None = not (yet) seen)."""

    number: int
    via: str  # "voice" | "typed"
    started_at: datetime  # wall clock, for the CSV
    ended_at: float  # monotonic time the user's turn ended
    reply_s: float | None = None
    speaking_s: float | None = None

    def summary(self) -> str:
        """A short line for the conversation pane."""
        reply = f"reply {self.reply_s:.2f} s" if self.reply_s is not None else "no reply yet"
        voice = (f"avatar spoke after {self.speaking_s:.2f} s" if self.speaking_s is not None
                 else "avatar voice not heard")
        return f"Turn {self.number} latency: {reply} · {voice}"


class TurnLatencyLog:
    """The turns of one app run, oldest first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = datetime.now) -> None:
        self._clock = clock
        self._wall = wall_clock
        self.turns: list[Turn] = []

    @property
    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def user_turn_ended(self, via: str) -> Turn:
        turn = Turn(number=len(self.turns) + 1, via=via, started_at=self._wall(),
                    ended_at=self._clock())
        self.turns.append(turn)
        return turn

    def reply_received(self) -> Turn | None:
        """The first reply after a turn counts; later ones (or none pending) give None."""
        turn = self.current
        if turn is None or turn.reply_s is not None:
            return None
        turn.reply_s = max(0.0, self._clock() - turn.ended_at)
        return turn

    def avatar_started_speaking(self) -> Turn | None:
        """The first rise of the avatar's voice after a turn counts."""
        turn = self.current
        if turn is None or turn.speaking_s is not None:
            return None
        turn.speaking_s = max(0.0, self._clock() - turn.ended_at)
        return turn

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for t in self.turns:
            writer.writerow((t.number, t.started_at.isoformat(timespec="seconds"), t.via,
                             "" if t.reply_s is None else f"{t.reply_s:.3f}",
                             "" if t.speaking_s is None else f"{t.speaking_s:.3f}"))
        return out.getvalue()

    def write_csv(self, path: Path) -> None:
        """Write every turn to `path` (OSError when it cannot be written)."""
        path.write_text(self.to_csv(), encoding="utf-8")


class TurnLatencyTracker(QObject):
    """Binds the conversation's events to a TurnLatencyLog."""

    turn_updated = Signal(object)  # Turn, whenever one of its figures arrives
    turn_measured = Signal(str)  # one line per turn for the conversation pane

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 speaking_wait_s: float = DEFAULT_SPEAKING_WAIT_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log = TurnLatencyLog(clock)
        self._reported: set[int] = set()
        # A reply whose voice never comes (no stream, or a silent avatar) is still reported.
        self._wait = QTimer(self)
        self._wait.setSingleShot(True)
        self._wait.setInterval(round(speaking_wait_s * 1000))
        self._wait.timeout.connect(self._report_current)

    @Slot(str, str)
    def on_user_turn(self, _text: str, via: str) -> None:
        """ChatService.user_turn: only typed turns start here (a "voice" turn is the transcript
        the server echoes with its reply, long after the speech ended)."""
        if via == "typed":
            self._start("typed")

    @Slot(bool)
    def on_take_sent(self, _streamed: bool) -> None:
        """VoiceService.take_sent: the user's speech ended and went out."""
        self._start("voice")

    @Slot(str)
    def on_avatar_turn(self, _text: str) -> None:
        turn = self.log.reply_received()
        if turn is not None:
            logger.info("turn %d: reply after %.2f s", turn.number, turn.reply_s or 0.0)
            self.turn_updated.emit(turn)
            self._maybe_report(turn)

    @Slot()
    def on_avatar_audio_started(self) -> None:
        turn = self.log.avatar_started_speaking()
        if turn is not None:
            logger.info("turn %d: avatar spoke after %.2f s", turn.number, turn.speaking_s or 0.0)
            self.turn_updated.emit(turn)
            self._maybe_report(turn)

    def export_csv(self, path: Path) -> None:
        """Write the turns so far to `path` (OSError when it cannot be written)."""
        self.log.write_csv(path)
        logger.info("exported %d turn latencies", len(self.log.turns))

    def _start(self, via: str) -> None:
        self._report_current()  # the previous turn is over, measured or not
        self.log.user_turn_ended(via)

    def _maybe_report(self, turn: Turn) -> None:
        if turn.reply_s is not None and turn.speaking_s is not None:
            self._report_current()
        elif turn.reply_s is not None:
            self._wait.start()

    @Slot()
    def _report_current(self) -> None:
        self._wait.stop()
        turn = self.log.current
        if turn is None or turn.number in self._reported or turn.reply_s is None:
            return
        self._reported.add(turn.number)
        self.turn_measured.emit(turn.summary())
