"""PortAudio's callback times on the monotonic clock, without the callback's wait for the GIL.

Synthetic callbacks: PortAudio's clock runs a fixed offset from the monotonic one (a wall clock
here), and each callback's Python runs after a wait (0 for some, up to 0.6 s for others, as
measured on a busy machine). The clock must give the time PortAudio called, not the time the
Python ran.
"""

from __future__ import annotations

import random

import pytest

from ravatar_live.audio.portaudio_clock import PortAudioClock
from tests.support.clock import ManualClock

WALL_MINUS_MONOTONIC = 1_796_000_000.0  # PortAudio's stream clock here is the wall clock


def test_the_wait_for_the_gil_is_taken_out() -> None:
    rng = random.Random(7)
    now = ManualClock(100.0)
    clock = PortAudioClock(now)
    errors = []
    for block in range(2000):  # 40 s of 20 ms blocks
        called = 100.0 + 0.02 * block
        waited = 0.0 if rng.random() < 0.2 else rng.uniform(0.0, 0.6)
        now.now = called + waited
        stamped = clock.callback_time(called + WALL_MINUS_MONOTONIC)
        assert stamped <= now.now + 1e-6  # never in the future (1e-6: the wall clock's rounding)
        if block >= 10:  # a prompt callback has been seen by then (p = 1 - 0.8 ** 10)
            errors.append(abs(stamped - called))
    assert max(errors) < 1e-6
    # Stamping with monotonic() in the callback, as before, was late by the whole wait.


def test_a_wall_clock_step_back_is_followed_within_the_window() -> None:
    now = ManualClock(100.0)
    clock = PortAudioClock(now, window_s=10.0)
    offset = WALL_MINUS_MONOTONIC
    stamps = []
    for block in range(1500):  # 30 s; the wall clock steps back 2 s at 10 s
        called = 100.0 + 0.02 * block
        if block == 500:
            offset -= 2.0
        now.now = called
        stamps.append(clock.callback_time(called + offset) - called)
    assert stamps[499] == pytest.approx(0.0, abs=1e-6)
    assert stamps[600] == pytest.approx(-2.0, abs=1e-6)  # within the window: the old offset
    assert stamps[1100] == pytest.approx(0.0, abs=1e-6)  # after it: the new one
    assert stamps[-1] == pytest.approx(0.0, abs=1e-6)


def test_without_stream_times_it_is_now() -> None:
    now = ManualClock(100.0)
    now.now = 123.4
    assert PortAudioClock(now).callback_time(0.0) == 123.4
