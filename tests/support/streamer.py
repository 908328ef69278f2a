"""A real aiortc offerer standing in for Unreal's Pixel Streaming streamer, for tests and benches
of the native player's receive side (no signalling: the offer and answer are handed over in
process).

It offers what a UE streamer offers: video send-only (H.264 only, VP8 only, or both), audio
send-receive (Opus) and a data channel. The picture is two known colours (TEAL left, ORANGE
right) with a moving white bar, so a decoded frame can be checked for "not black and the right
colours"; the audio is silence until `voice_after_s`, then a 440 Hz tone at about -12 dBFS (an
"avatar starts speaking" onset).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender
from aiortc import RTCSessionDescription as Description
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

TEAL = (30, 160, 170)
ORANGE = (240, 130, 40)
AUDIO_RATE = 48000
AUDIO_FRAME = 960  # 20 ms
TONE_AMPLITUDE = 0.25  # -12 dBFS


class _Pacer:
    """Real-time pacing: sleeps until the next frame is due."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._start: float | None = None
        self.index = -1

    async def next(self) -> int:
        self.index += 1
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.index * self.period_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return self.index


class PatternVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, width: int, height: int, fps: float) -> None:
        super().__init__()
        self._pacer = _Pacer(1.0 / fps)
        self._base = np.zeros((height, width, 3), np.uint8)
        self._base[:, : width // 2] = TEAL
        self._base[:, width // 2:] = ORANGE
        self._fps = fps
        self.frames_sent = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        picture = self._base.copy()
        height = picture.shape[0]
        bar = (index * 4) % max(1, height - 8)
        picture[bar:bar + 8, :] = 255  # motion, so the encoder keeps sending real frames
        frame = VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = round(index * 90000 / self._fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self.frames_sent += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, voice_after_s: float | None) -> None:
        super().__init__()
        self._pacer = _Pacer(AUDIO_FRAME / AUDIO_RATE)
        self._voice_after = (None if voice_after_s is None
                             else round(voice_after_s * AUDIO_RATE))

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        start = index * AUDIO_FRAME
        samples = np.zeros(AUDIO_FRAME, np.int16)
        if self._voice_after is not None and start + AUDIO_FRAME > self._voice_after:
            t = (np.arange(start, start + AUDIO_FRAME) / AUDIO_RATE)
            tone = (TONE_AMPLITUDE * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            voiced = np.arange(start, start + AUDIO_FRAME) >= self._voice_after
            samples[voiced] = tone[voiced]
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class TestStreamer:
    """One streamer-side peer. `offer()`, hand the SDP to the player, `accept_answer()`."""

    __test__ = False  # not a pytest test class

    def __init__(self, codec: str = "H264", *, width: int = 640, height: int = 360,
                 fps: float = 30.0, voice_after_s: float | None = 0.5) -> None:
        if codec not in ("H264", "VP8", "both"):
            raise ValueError(f"codec must be H264, VP8 or both, not {codec!r}")
        self.codec = codec
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video = PatternVideoTrack(width, height, fps)
        self.audio = ToneAudioTrack(voice_after_s)
        self.answer_sdp: str | None = None
        self._video_transceiver: Any = None

    async def offer(self) -> str:
        video = self._video_transceiver = self.pc.addTransceiver(self.video,
                                                                  direction="sendonly")
        names = ("H264", "VP8") if self.codec == "both" else (self.codec,)
        capabilities = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences(
            [c for name in names for c in capabilities if c.mimeType == f"video/{name}"]
            + [c for c in capabilities if c.mimeType == "video/rtx"])
        self.pc.addTransceiver(self.audio, direction="sendrecv")
        self.pc.createDataChannel("datachannel")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        self.answer_sdp = sdp
        # Send with the codec the answer puts first, as libwebrtc does (aiortc would otherwise
        # keep the offer's own preference order).
        if self._video_transceiver is not None:
            self._video_transceiver.setCodecPreferences([])
        await self.pc.setRemoteDescription(Description(sdp, "answer"))

    @property
    def sending_codec(self) -> str | None:
        """The video codec the answer chose (what this streamer sends)."""
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video" and transceiver.sender.track is not None:
                codecs: list[Any] = transceiver._codecs  # aiortc's negotiated list (test only)
                return codecs[0].mimeType.partition("/")[2].upper() if codecs else None
        return None

    async def close(self) -> None:
        self.video.stop()
        self.audio.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()


def colour_close(pixel: tuple[int, int, int], want: tuple[int, int, int],
                 tolerance: int = 30) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, want, strict=True))
