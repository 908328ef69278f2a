"""A stand-in player for the simulator's stream instances, written from the protocol (not the
app's native player): a raw aiohttp client for the page and the signalling socket, and an aiortc
peer that answers the streamer's offer like a browser would (optionally preferring a codec and
sending a microphone track)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

STREAMER_PREFIX = "ravatar-"


def signalling_url(origin: str, token: str | None = None) -> str:
    """ws(s)://host:port/ for an instance origin, with ?token= when given."""
    url = origin.replace("https://", "wss://").replace("http://", "ws://") + "/"
    return f"{url}?token={token}" if token else url


@dataclass
class Signalling:
    """One player's signalling socket; `expect()` skips (and keeps) what it was not asked for."""

    ws: aiohttp.ClientWebSocketResponse
    skipped: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def receive(self, within_s: float = 10.0) -> dict[str, Any]:
        frame = await self.ws.receive(timeout=within_s)
        assert frame.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {frame.type}"
        message: dict[str, Any] = frame.json()
        return message

    async def expect(self, kind: str, within_s: float = 10.0) -> dict[str, Any]:
        """The next message of type `kind`; pings, player counts and others are skipped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while True:
            message = await self.receive(max(0.01, deadline - loop.time()))
            if message.get("type") == kind:
                return message
            self.skipped.append(message)

    async def subscribe(self) -> dict[str, Any]:
        """listStreamers, subscribe to the one listed; returns the streamer's offer."""
        await self.send({"type": "listStreamers"})
        ids = (await self.expect("streamerList"))["ids"]
        assert len(ids) == 1 and ids[0].startswith(STREAMER_PREFIX), ids
        await self.send({"type": "subscribe", "streamerId": ids[0]})
        return await self.expect("offer")


@contextlib.asynccontextmanager
async def signalling(http: aiohttp.ClientSession, origin: str,
                     token: str | None = None) -> AsyncIterator[Signalling]:
    async with http.ws_connect(signalling_url(origin, token)) as ws:
        yield Signalling(ws)


class SpeechTrack(MediaStreamTrack):
    """A microphone stand-in: plays 16 kHz int16 samples in real time as 48 kHz 20 ms frames,
    then silence; `enabled=False` sends silence, as a muted browser track does."""

    kind = "audio"

    def __init__(self, samples_16k: np.ndarray | None = None) -> None:
        super().__init__()
        speech = np.zeros(0, dtype=np.int16) if samples_16k is None else samples_16k
        self._samples = np.repeat(speech.astype(np.int16), 3)  # 16 kHz -> 48 kHz (tests only)
        self._pos = 0
        self._start: float | None = None
        self._frames = 0
        self.enabled = True

    def play(self, samples_16k: np.ndarray) -> None:
        """Start saying `samples_16k` now."""
        self._samples = np.repeat(samples_16k.astype(np.int16), 3)
        self._pos = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            wait = self._start + self._frames * 0.02 - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        out = np.zeros(960, dtype=np.int16)
        chunk = self._samples[self._pos:self._pos + 960]
        self._pos += 960
        if self.enabled:
            out[:len(chunk)] = chunk
        frame = AudioFrame.from_ndarray(out.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._frames * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._frames += 1
        return frame


class AnsweringPlayer:
    """An aiortc peer that answers an offer: video first in `prefer` order (None: the offer's),
    receiving audio, sending `mic` on the audio track when given. Received frames land in
    `frames["video"]` / `frames["audio"]`."""

    def __init__(self, prefer: str | None = None, mic: MediaStreamTrack | None = None) -> None:
        self.pc = RTCPeerConnection()
        self.frames: dict[str, asyncio.Queue[Any]] = {"video": asyncio.Queue(),
                                                      "audio": asyncio.Queue()}
        self._readers: list[asyncio.Task[None]] = []
        self._prefer = prefer
        self._mic = mic
        self._answer_sdp = ""
        self.video_payload_types: set[int] = set()  # of the RTP packets that really arrived
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await self.frames[track.kind].put(await track.recv())

    async def answer(self, offer_sdp: str) -> str:
        video = self.pc.addTransceiver("video", direction="recvonly")
        if self._prefer:
            capabilities = RTCRtpReceiver.getCapabilities("video")
            assert capabilities is not None
            codecs = capabilities.codecs
            first = [c for c in codecs if c.mimeType == f"video/{self._prefer}"]
            video.setCodecPreferences(first + [c for c in codecs if c not in first])
        self._record_payload_types(video.receiver)
        if self._mic is not None:
            self.pc.addTransceiver(self._mic, direction="sendrecv")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._answer_sdp = str(self.pc.localDescription.sdp)
        return self._answer_sdp

    def _record_payload_types(self, receiver: RTCRtpReceiver) -> None:
        # Instrumentation, not a stand-in: every packet still goes to aiortc's own handler.
        handle = receiver._handle_rtp_packet

        async def recording(packet: Any, arrival_time_ms: int) -> None:
            self.video_payload_types.add(packet.payload_type)
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = recording  # type: ignore[method-assign]

    def received_video_codecs(self) -> set[str]:
        """Codec names (per this player's answer) of the video RTP packets that arrived."""
        names: dict[int, str] = {}
        in_video = False
        for line in self._answer_sdp.splitlines():
            if line.startswith("m="):
                in_video = line.startswith("m=video")
            elif in_video and line.startswith("a=rtpmap:"):
                payload, encoding = line[len("a=rtpmap:"):].split(" ", 1)
                names[int(payload)] = encoding.split("/")[0].upper()
        return {names.get(pt, f"pt{pt}") for pt in self.video_payload_types} - {"RTX"}

    async def next_frame(self, kind: str = "video", within_s: float = 20.0) -> Any:
        return await asyncio.wait_for(self.frames[kind].get(), timeout=within_s)

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.pc.close()


@contextlib.asynccontextmanager
async def answering_player(prefer: str | None = None,
                           mic: MediaStreamTrack | None = None) -> AsyncIterator[AnsweringPlayer]:
    player = AnsweringPlayer(prefer, mic)
    try:
        yield player
    finally:
        await player.close()
