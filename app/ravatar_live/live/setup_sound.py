"""The sound half of "Test your setup": record the microphone for a few seconds (with its
level as it goes), play that recording back, and play a test tone. No Qt.

The capture backend's thread only pokes the loop (`call_soon_threadsafe`); blocks are read and
measured on the loop. Playback goes through the same output backends as the avatar's voice
(stream/audio_output.py), whose device thread pulls from a small cursor over the samples; the
loop learns that the last sample went out the same way. Opening and closing devices block
(PortAudio initialises), so they run in worker threads.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soxr

from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.errors import CaptureError
from ravatar_live.audio.resample import decode_frames
from ravatar_live.qt_libraries import load_qt_multimedia
from ravatar_live.stream.audio_output import (
    CHANNELS,
    DEFAULT_BACKENDS,
    RATE,
    AudioOutput,
    open_output,
)

#: The first block of a PulseAudio source can take 0.5-2.4 s (DESIGN.md): allow for it.
FIRST_AUDIO_GRACE_S = 4.0
#: A device that pulls audio slower than this many times real time (after an allowance for a
#: slow start; PulseAudio's first second can stall) is not playing.
PLAYOUT_SLOWDOWN = 2.0
PLAYOUT_GRACE_S = 5.0


def dbfs(value: float) -> float:
    """An amplitude (0..1) in dB below full scale (-120 for silence)."""
    return 20 * math.log10(value) if value > 1e-6 else -120.0


@dataclass(frozen=True)
class Recording:
    samples: np.ndarray  # float32 mono, -1..1
    sample_rate: int
    device_name: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0

    @property
    def peak_dbfs(self) -> float:
        return dbfs(float(np.max(np.abs(self.samples)))) if len(self.samples) else -120.0

    @property
    def rms_dbfs(self) -> float:
        if not len(self.samples):
            return -120.0
        return dbfs(float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64)))))


class _Wake:
    """The capture listener: wakes the loop from the audio thread, keeps a failure."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.event = asyncio.Event()
        self.error: CaptureError | None = None

    def audio_available(self) -> None:
        self._loop.call_soon_threadsafe(self.event.set)

    def capture_failed(self, error: CaptureError) -> None:
        self.error = error
        self._loop.call_soon_threadsafe(self.event.set)


async def record(capture: AudioCapture, device_id: str | None, seconds: float,
                 on_level: Callable[[float], None] | None = None) -> Recording:
    """`seconds` of the microphone. Raises CaptureError (NoMicrophoneError when there is
    none); a microphone that sends nothing gives a short (possibly empty) recording."""
    loop = asyncio.get_running_loop()
    wake = _Wake(loop)
    # Opening and closing block; one worker thread runs both in order, so a test cancelled
    # while the device opens still closes it once open.
    device_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="setup-microphone")
    parts: list[np.ndarray] = []
    got = 0
    try:
        fmt = await loop.run_in_executor(device_thread, capture.start, device_id, wake)
        wanted = round(seconds * fmt.sample_rate)
        deadline = loop.time() + seconds + FIRST_AUDIO_GRACE_S
        while got < wanted:
            left = deadline - loop.time()
            if left <= 0:
                break
            wake.event.clear()
            for block in capture.read():
                mono = decode_frames(block.data, fmt).mean(axis=1)
                parts.append(mono)
                got += len(mono)
                if on_level is not None and len(mono):
                    on_level(float(np.max(np.abs(mono))))
            if wake.error is not None:
                raise wake.error
            if got < wanted:
                try:
                    async with asyncio.timeout(min(left, 0.5)):
                        await wake.event.wait()
                except TimeoutError:
                    pass  # look at the queue and the deadline again
    finally:
        await asyncio.shield(loop.run_in_executor(device_thread, capture.stop))
        device_thread.shutdown(wait=False)
    samples = np.concatenate(parts)[:wanted] if parts else np.zeros(0, np.float32)
    device = capture.device
    return Recording(samples.astype(np.float32), fmt.sample_rate,
                     device.name if device else "the default microphone")


def to_output(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float -1..1 at any rate -> the output backends' 48 kHz stereo int16."""
    resampled = soxr.resample(samples.astype(np.float32), sample_rate, RATE) \
        if sample_rate != RATE else samples
    pcm = np.round(np.clip(resampled, -1.0, 1.0) * 32767).astype(np.int16)
    return np.repeat(pcm[:, None], CHANNELS, axis=1)


def tone(seconds: float = 1.0, hz: float = 440.0, level_dbfs: float = -12.0) -> np.ndarray:
    """A sine at `level_dbfs` with 20 ms fades (no clicks), mono float at 48 kHz."""
    t = np.arange(round(seconds * RATE)) / RATE
    wave = np.sin(2 * np.pi * hz * t) * 10 ** (level_dbfs / 20)
    fade = min(len(t) // 2, RATE // 50)
    ramp = np.linspace(0.0, 1.0, fade)
    wave[:fade] *= ramp
    wave[len(wave) - fade:] *= ramp[::-1]
    return wave.astype(np.float32)


async def play(frames: np.ndarray, device_id: str | None,
               backends: Sequence[str] = DEFAULT_BACKENDS) -> str:
    """Play int16 (frames, channels) to the end; the device's name. Raises PlaybackError
    (NoOutputDeviceError when there is no output at all) or TimeoutError."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    lock = threading.Lock()
    cursor = 0
    # A little silence after the sound: the device is closed once it has played.
    frames = np.concatenate([frames, np.zeros((RATE // 4, frames.shape[1]), np.int16)])

    def render(count: int, _played_at: float) -> bytes:  # the device's thread
        nonlocal cursor
        with lock:
            block = frames[cursor:cursor + count]
            cursor += len(block)
            finished = cursor >= len(frames)
        data = block.tobytes()
        if len(block) < count:
            data += bytes((count - len(block)) * CHANNELS * 2)
        if finished:
            loop.call_soon_threadsafe(done.set)
        return data

    output: AudioOutput
    load_qt_multimedia()  # its Qt backend may load it: never on the worker (qt_libraries)
    output, device = await asyncio.to_thread(open_output, device_id, render, backends)
    try:
        async with asyncio.timeout(len(frames) / RATE * PLAYOUT_SLOWDOWN + PLAYOUT_GRACE_S):
            await done.wait()
    finally:
        await asyncio.to_thread(output.close)
    return device.name
