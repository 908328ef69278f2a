"""The native player's microphone: the app's capture sent as the WebRTC audio track, like the
stream page's `UseMic` (PROTOCOL.md section 3).

`MicrophoneFeed` is the hand-off, safe from any thread: the app pushes 16 kHz mono int16 PCM as it
is captured (`push`) and opens or closes the microphone (`set_open`). It outlives reconnects: each
peer connection gets a new `MicrophoneTrack` reading the same feed.

`MicrophoneTrack` is an aiortc audio track paced like a sound card: every 20 ms a 320-sample
frame, on the peer's loop. While the feed is closed it sends silence (the streamer hears a
muted microphone, as from a browser's disabled track) and drops what was pushed, so audio from
before an unmute never goes out. A short gap in the capture is filled with silence; audio that
piles up beyond `MAX_BUFFER_S` (a stalled loop) is dropped oldest first, so the delay stays
bounded.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections import deque
from typing import Final

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

SAMPLE_RATE: Final = 16_000
FRAME_SAMPLES: Final = SAMPLE_RATE // 50  # 20 ms, as a browser's Opus track
MAX_BUFFER_S: Final = 0.5
#: Audio waits until this much is buffered before it is sent, at the start and after each
#: underrun: a capture that delivers in bursts (20-100 ms blocks, a busy machine) then plays out
#: without a gap every few frames. Every underrun doubles it, up to MAX_PREBUFFER_S (measured
#: here: 60 ms gave two underruns in a 6 s hold on a loaded 2-core machine).
PREBUFFER_S: Final = 0.06
MAX_PREBUFFER_S: Final = 0.24
_TIME_BASE: Final = fractions.Fraction(1, SAMPLE_RATE)
_SILENCE: Final = np.zeros(FRAME_SAMPLES, dtype=np.int16)


class MicrophoneFeed:
    """PCM waiting to be sent, and whether the microphone is open. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: deque[np.ndarray] = deque()
        self._buffered = 0
        self._open = False
        self._playing = False  # False after an underrun until the prebuffer is full again
        self._prebuffer = round(PREBUFFER_S * SAMPLE_RATE)
        #: Facts for tests and the statistics: frames sent, frames with pushed audio in them.
        self.frames_sent = 0
        self.audio_frames_sent = 0
        self.dropped_samples = 0
        self.drops = 0  # pushes that had to drop old audio (each leaves one gap)
        self.underruns = 0

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open

    def set_open(self, is_open: bool) -> None:
        """Open: pushed audio is sent from now on. Closed: silence, and the buffer is emptied."""
        with self._lock:
            self._open = is_open
            if not is_open:
                self._clear()

    def push(self, samples: np.ndarray) -> None:
        """Queue 16 kHz mono int16 samples (dropped at once while closed)."""
        if not len(samples):
            return
        with self._lock:
            if not self._open:
                return
            self._chunks.append(np.asarray(samples, dtype=np.int16).reshape(-1))
            self._buffered += len(samples)
            excess = self._buffered - round(MAX_BUFFER_S * SAMPLE_RATE)
            self.drops += excess > 0
            while excess > 0 and self._chunks:
                first = self._chunks[0]
                cut = min(excess, len(first))
                self._chunks[0] = first[cut:]
                if not len(self._chunks[0]):
                    self._chunks.popleft()
                self._buffered -= cut
                self.dropped_samples += cut
                excess -= cut

    def next_frame(self) -> np.ndarray:
        """The next 20 ms to send: pushed audio while open and enough is buffered, else
        silence."""
        with self._lock:
            self.frames_sent += 1
            if not self._open:
                return _SILENCE
            if not self._playing:
                if self._buffered < self._prebuffer:
                    return _SILENCE
                self._playing = True
            if self._buffered < FRAME_SAMPLES:
                # An underrun: buffer up again (more than last time) before the next frame.
                self._playing = False
                self.underruns += 1
                self._prebuffer = min(2 * self._prebuffer, round(MAX_PREBUFFER_S * SAMPLE_RATE))
                return _SILENCE
            frame = self._take(FRAME_SAMPLES)
            self.audio_frames_sent += 1
            return frame

    def _take(self, count: int) -> np.ndarray:
        parts: list[np.ndarray] = []
        needed = count
        while needed:
            first = self._chunks[0]
            part, rest = first[:needed], first[needed:]
            parts.append(part)
            needed -= len(part)
            if len(rest):
                self._chunks[0] = rest
            else:
                self._chunks.popleft()
        self._buffered -= count
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _clear(self) -> None:
        self._chunks.clear()
        self._buffered = 0
        self._playing = False


class MicrophoneTrack(MediaStreamTrack):
    """20 ms frames of 16 kHz mono s16 from a MicrophoneFeed, paced in real time (aiortc's
    Opus encoder resamples to 48 kHz)."""

    kind = "audio"

    def __init__(self, feed: MicrophoneFeed) -> None:
        super().__init__()
        self._feed = feed
        self._start: float | None = None
        self._timestamp = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._timestamp += FRAME_SAMPLES
            wait = self._start + self._timestamp / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        samples = self._feed.next_frame()
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._timestamp
        frame.time_base = _TIME_BASE
        return frame
