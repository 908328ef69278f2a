"""Per-turn latency: what starts a turn, which events count, the pane's line and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest

from ravatar_live.live.turn_latency import CSV_HEADER, TurnLatencyLog, TurnLatencyTracker
from tests.support.clock import ManualClock


def test_log_measures_reply_and_voice_from_the_end_of_the_turn() -> None:
    clock = ManualClock(50.0)
    log = TurnLatencyLog(clock, wall_clock=lambda: datetime(2025, 1, 2, 3, 4, 5))
    assert log.reply_received() is None  # nothing asked yet
    log.user_turn_ended("voice")
    clock.now += 0.8
    turn = log.reply_received()
    assert turn is not None and turn.reply_s == pytest.approx(0.8)
    clock.now += 0.5
    assert log.reply_received() is None  # only the first reply of a turn counts
    turn = log.avatar_started_speaking()
    assert turn is not None and turn.speaking_s == pytest.approx(1.3)
    assert log.avatar_started_speaking() is None
    rows = list(csv.reader(io.StringIO(log.to_csv())))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1] == ["1", "2025-01-02T03:04:05", "voice", "0.800", "1.300"]


def test_voice_before_text_is_measured_too() -> None:
    clock = ManualClock(50.0)
    log = TurnLatencyLog(clock)
    log.user_turn_ended("typed")
    clock.now += 0.4
    log.avatar_started_speaking()
    clock.now += 0.2
    log.reply_received()
    turn = log.current
    assert turn is not None
    assert (turn.speaking_s, turn.reply_s) == (pytest.approx(0.4), pytest.approx(0.6))


def test_tracker_reports_each_turn_once(qtbot, tmp_path: Path) -> None:
    clock = ManualClock(50.0)
    tracker = TurnLatencyTracker(clock, speaking_wait_s=0.2)
    lines: list[str] = []
    tracker.turn_measured.connect(lines.append)

    tracker.on_user_turn("hello", "typed")
    tracker.on_user_turn("hello (echoed transcript)", "voice")  # not a new turn
    clock.now += 0.3
    tracker.on_avatar_turn("Hi!")
    clock.now += 0.4
    with qtbot.waitSignal(tracker.turn_measured):
        tracker.on_avatar_audio_started()
    assert lines == ["Turn 1 latency: reply 0.30 s · avatar spoke after 0.70 s"]

    # A reply whose voice never comes is reported after the wait.
    tracker.on_take_sent(True)
    clock.now += 1.0
    tracker.on_avatar_turn("Second answer")
    with qtbot.waitSignal(tracker.turn_measured, timeout=2000):
        pass
    assert lines[-1] == "Turn 2 latency: reply 1.00 s · avatar voice not heard"
    tracker.on_avatar_audio_started()  # late voice: recorded, not announced again
    assert len(lines) == 2

    path = tmp_path / "turns.csv"
    tracker.export_csv(path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert [r[2] for r in rows[1:]] == ["typed", "voice"]
    assert rows[2][3] == "1.000"


def test_export_to_an_unwritable_place_raises_oserror(qtbot, tmp_path: Path) -> None:
    tracker = TurnLatencyTracker()
    with pytest.raises(OSError):
        tracker.export_csv(tmp_path / "missing-dir" / "turns.csv")
