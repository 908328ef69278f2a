"""The avatar as a real WebRTC stream (aiortc): rendered video frames and the spoken voice.

Import this module only after `webrtc_support.webrtc_available()` said yes: it needs aiortc and
PyAV. The simulator is the offerer, like a Pixel Streaming streamer: it offers video (VP8, or H.264
only when configured) and Opus audio, send-only; the page answers. ICE uses host candidates only
(no STUN server: the simulator must work offline); the browser's mDNS-hidden candidates are fine
because the simulator learns the browser's address from its connectivity checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from ravatar_live.simulator.avatar_media import AvatarPerformance
from ravatar_live.simulator.avatar_render import AvatarRenderer, blink_at, fit_size
from ravatar_live.simulator.avatar_voice import RATE, synthesize
from ravatar_live.simulator.sdp_rejects import accept_rejected_sections, rejected_kinds

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
AUDIO_FRAME_S = 0.020


@dataclass(frozen=True)
class StreamSettings:
    """How one peer streams."""

    width: int
    height: int
    colour: str
    fps: float = 15.0
    max_height: int = 720
    video_codec: str = "VP8"  # "VP8" or "H264" (H.264 only)
    voice: bool = True


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
                 fps: float) -> None:
        super().__init__()
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


class AvatarStreamPeer:
    """One stream page's WebRTC connection. Use: `offer()`, send it, `accept_answer()`;
    `on_event()` for every stream event; `close()`."""

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.encoded_size = fit_size(settings.width, settings.height, settings.max_height)
        self.performance = AvatarPerformance()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._video = AvatarVideoTrack(AvatarRenderer(*self.encoded_size, settings.colour),
                                       self.performance, settings.fps)
        self._audio = AvatarAudioTrack(self.performance)
        self._offer_sdp = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.rejected: list[str] = []
        self._pc.on("connectionstatechange", self._on_state)

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    @property
    def frames_sent(self) -> int:
        return self._video.frames_sent

    @property
    def samples_spoken(self) -> int:
        return self.performance.samples_spoken

    def _on_state(self) -> None:
        log.info("stream WebRTC connection %s (%dx%d %s)", self._pc.connectionState,
                 *self.encoded_size, self.settings.video_codec)

    async def offer(self) -> str:
        """Create the send-only offer (ICE candidates included) and return its SDP."""
        video = self._pc.addTransceiver(self._video, direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        wanted = "video/" + self.settings.video_codec
        # Keep the retransmission codec (rtx) with the chosen one, as a real streamer would.
        video.setCodecPreferences([c for c in codecs if c.mimeType in (wanted, "video/rtx")])
        self._pc.addTransceiver(self._audio, direction="sendonly")
        await self._pc.setLocalDescription(await self._pc.createOffer())
        self._offer_sdp = self._pc.localDescription.sdp
        return self._offer_sdp

    async def accept_answer(self, sdp: str) -> None:
        """Apply the page's answer. Sections it rejected (a codec it cannot decode) stay silent
        instead of failing the whole connection."""
        self.rejected = rejected_kinds(sdp)
        if self.rejected:
            log.warning("the stream page rejected the %s offered (%s); it connects without it",
                        " and ".join(self.rejected), self.settings.video_codec)
            sdp = accept_rejected_sections(sdp, self._offer_sdp)
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    def on_event(self, event: dict[str, object]) -> None:
        """Follow a stream event; a "speaking" event makes the avatar say the reply."""
        if self._closed:
            return
        self.performance.on_event(event)
        if event.get("event") == "speaking":
            text = event.get("text")
            duration = event.get("duration_s")
            self._spawn(self._speak(text if isinstance(text, str) else "",
                                    float(duration) if isinstance(duration, int | float) else 2.0))

    async def _speak(self, text: str, duration_s: float) -> None:
        samples = await synthesize(text) if self.settings.voice else None
        self.performance.speak(samples, duration_s)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop the tracks and the connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._video.stop()
        self._audio.stop()
        with contextlib.suppress(Exception):  # closing a half-negotiated peer may complain
            await self._pc.close()


def speech_level(samples: np.ndarray) -> float:
    """RMS (0..1) of int16 samples; used by tests to tell speech from silence."""
    if not len(samples):
        return 0.0
    return float(np.sqrt(np.mean((samples.astype(np.float32) / 32768.0) ** 2)))
