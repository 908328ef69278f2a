"""A busy Python thread must not cost microphone audio (both capture backends, PulseAudio).

Qt's PulseAudio source keeps only `bufferSize` bytes for its reader; our reader is a Python slot,
so whenever the GIL is held elsewhere (a long take being encoded, a loaded machine) the bytes
wait there. A tone is played into the virtual microphone while this thread holds the GIL three
times for 300 ms; every tone sample must come through. Samples, not time, are counted, so a slow
machine cannot fail it: PulseAudio playback underruns add silence, they never remove tone.
"""

from __future__ import annotations

import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ravatar_live.audio.capture import AudioCapture, RawBlock
from ravatar_live.audio.errors import CaptureError

pytestmark = pytest.mark.e2e

RATE = 16_000
TONE_S = 3.0
STALLS = 3
STALL_S = 0.3
FRAME = RATE // 100


class Listener:
    def __init__(self) -> None:
        self.errors: list[CaptureError] = []
        self.data = threading.Event()

    def audio_available(self) -> None:
        self.data.set()

    def capture_failed(self, error: CaptureError) -> None:
        self.errors.append(error)


def write_tone(path: Path) -> np.ndarray:
    t = np.arange(round(TONE_S * RATE)) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(tone.tobytes())
    return tone


def tone_frames(x: np.ndarray) -> int:
    """10 ms frames carrying the tone (RMS above a quarter of the loudest frame's), whatever gain
    and resampling phase the path applied."""
    frames = x[: x.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return int(np.count_nonzero(rms > 0.25 * rms.max(initial=0)))


def hold_the_gil(seconds: float) -> None:
    """As a long call into C that keeps the GIL would: Python hands the GIL over only every
    switch interval, so raising it keeps every other Python thread waiting for `seconds`."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(10 * seconds)
    try:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    finally:
        sys.setswitchinterval(interval)


def make_capture(backend: str) -> AudioCapture:
    if backend == "qt":
        from ravatar_live.audio.capture_qt import QtAudioCapture

        return QtAudioCapture(queue_s=30.0)
    from ravatar_live.audio.capture_pyaudio import PyAudioCapture

    return PyAudioCapture(queue_s=30.0)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("backend", ["qt", "pyaudio"])
def test_capture_loses_no_audio_while_python_is_busy(backend: str, virtual_mic: Any, qapp: Any,
                                                     tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "tone.wav")
    capture = make_capture(backend)
    listener = Listener()
    fmt = capture.start(None, listener)
    assert (fmt.sample_rate, fmt.channels) == (RATE, 1), fmt
    blocks: list[RawBlock] = []
    try:
        assert listener.data.wait(15), "the microphone delivered nothing"
        capture.read()  # what came before the tone
        player = threading.Thread(target=virtual_mic.play, args=(tmp_path / "tone.wav",))
        player.start()
        for _ in range(STALLS):
            hold_the_gil(STALL_S)
            time.sleep(0.2)  # lets the reader catch up between stalls, as real work would
        player.join()
        # Drain until half a second of silence follows the tone (counted in samples).
        silent_tail = 0
        deadline = time.monotonic() + 20
        while silent_tail < RATE // 2 and time.monotonic() < deadline:
            listener.data.wait(1.0)
            listener.data.clear()
            for block in capture.read():
                blocks.append(block)
                x = np.frombuffer(block.data, dtype=np.int16)
                silent_tail = silent_tail + x.size if np.abs(x).max(initial=0) < 300 else 0
    finally:
        capture.stop()
    assert listener.errors == []
    received = np.frombuffer(b"".join(b.data for b in blocks), dtype=np.int16)
    kept = tone_frames(received) / tone_frames(tone)
    print(f"{backend} capture kept {kept:.1%} of the tone through {STALLS} GIL stalls of "
          f"{STALL_S * 1000:.0f} ms")
    assert kept >= 0.98, f"only {kept:.1%} of the tone arrived: audio was dropped during stalls"
