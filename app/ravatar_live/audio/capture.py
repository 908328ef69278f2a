"""The ``AudioCapture`` protocol and the bounded hand-off queue every backend shares.

Threading contract: a backend's audio thread (PortAudio callback, Qt worker thread, file-replay
thread) does nothing but copy bytes into a ``BlockQueue`` and poke the listener. Decoding,
resampling, VAD and encoding happen on the consumer's side (the VoiceController, on the asyncio
loop). The queue is bounded by duration: when the consumer falls behind, the OLDEST audio is
dropped and counted, so latency never silently grows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from ravatar_live.audio.errors import CaptureError
from ravatar_live.audio.resample import CaptureFormat


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """An input device: ``id`` is stable across runs (a name, not an index)."""

    id: str
    name: str
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class RawBlock:
    """Bytes exactly as the device delivered them, with the monotonic time they arrived."""

    data: bytes
    arrived_at: float


class CaptureListener(Protocol):
    """Implemented by the consumer. Both methods may be called from ANY thread, so they must only
    schedule work (e.g. ``loop.call_soon_threadsafe``) and return at once."""

    def audio_available(self) -> None: ...

    def capture_failed(self, error: CaptureError) -> None: ...


class AudioCapture(Protocol):
    """A microphone (or stand-in) that delivers raw blocks into a bounded queue."""

    backend_name: str

    def list_devices(self) -> list[AudioDevice]:
        """Devices with the system default first; raises CaptureError when listing fails."""
        ...

    def start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        """Open ``device_id`` (None = default) and start; returns the raw format it delivers.
        Raises NoMicrophoneError / DeviceNotFoundError / DeviceBusyError."""
        ...

    def stop(self) -> None:
        """Stop and release the device; safe to call twice; the capture can start again."""
        ...

    def read(self) -> list[RawBlock]:
        """Drain the queue (thread-safe, never blocks)."""
        ...

    @property
    def running(self) -> bool: ...

    @property
    def finished(self) -> bool:
        """True when a finite source (a file) ended normally: no audio is not a lost device."""
        ...

    @property
    def overflow_count(self) -> int:
        """Blocks dropped because the consumer fell behind (plus device-reported overruns)."""
        ...

    @property
    def device(self) -> AudioDevice | None: ...


class BlockQueue:
    """Thread-safe FIFO of RawBlocks bounded by audio duration; drops the oldest on overflow.

    ``push`` tells the caller whether the consumer needs a wake-up: only on the empty -> non-empty
    edge, so an audio thread does not flood the event loop with one callback per block.
    """

    def __init__(self, bytes_per_second: int, capacity_s: float = 2.0) -> None:
        self._limit = max(1, int(bytes_per_second * capacity_s))
        self._blocks: deque[RawBlock] = deque()
        self._size = 0
        self._lock = threading.Lock()
        self._wake_pending = False
        self.dropped = 0

    def push(self, data: bytes, arrived_at: float | None = None) -> bool:
        block = RawBlock(data, time.monotonic() if arrived_at is None else arrived_at)
        with self._lock:
            self._blocks.append(block)
            self._size += len(data)
            while self._size > self._limit and len(self._blocks) > 1:
                self._size -= len(self._blocks.popleft().data)
                self.dropped += 1
            wake = not self._wake_pending
            self._wake_pending = True
        return wake

    def drain(self) -> list[RawBlock]:
        with self._lock:
            out = list(self._blocks)
            self._blocks.clear()
            self._size = 0
            self._wake_pending = False
        return out

    def clear(self) -> None:
        self.drain()

    @property
    def queued_bytes(self) -> int:
        with self._lock:
            return self._size
