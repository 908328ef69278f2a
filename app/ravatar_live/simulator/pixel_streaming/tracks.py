"""The streamer's outgoing media as aiortc tracks: rendered avatar frames and its spoken voice,
both paced in real time and driven by one AvatarPerformance."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from ravatar_live.simulator.avatar_media import AvatarPerformance
from ravatar_live.simulator.avatar_render import AvatarRenderer, blink_at
from ravatar_live.simulator.avatar_voice import RATE

VIDEO_CLOCK = 90000
AUDIO_FRAME_S = 0.020


class _Pacer:
    """Real-time pacing for a track: sleeps until the next frame is due, returns its pts."""

    def __init__(self, period_s: float, clock_rate: int) -> None:
        self.period_s = period_s
        self.clock_rate = clock_rate
        self._start: float | None = None
        self._index = 0

    async def next_pts(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._index += 1
            wait = self._start + self._index * self.period_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        return round(self._index * self.period_s * self.clock_rate)


class AvatarVideoTrack(MediaStreamTrack):
    """Frames of the avatar at the configured rate."""

    kind = "video"

    def __init__(self, renderer: AvatarRenderer, performance: AvatarPerformance,
                 fps: float, on_frame: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._on_frame = on_frame
        self._renderer = renderer
        self._performance = performance
        self._pacer = _Pacer(1.0 / fps, VIDEO_CLOCK)
        self._t0 = time.monotonic()
        self.frames_sent = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pacer.next_pts()
        t = time.monotonic() - self._t0
        mode = self._performance.current_mode()
        rgb = self._renderer.render(t, mode, self._performance.mouth_open(t), blink_at(t))
        frame = VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames_sent += 1
        if self._on_frame is not None:
            self._on_frame()
        return frame


class AvatarAudioTrack(MediaStreamTrack):
    """The avatar's voice in 20 ms frames (silence between replies)."""

    kind = "audio"

    def __init__(self, performance: AvatarPerformance) -> None:
        super().__init__()
        self._performance = performance
        self._pacer = _Pacer(AUDIO_FRAME_S, RATE)
        self._samples = round(RATE * AUDIO_FRAME_S)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pacer.next_pts()
        samples = self._performance.next_audio(self._samples)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame
