"""The receiving WebRTC peer (aiortc): answers a Pixel Streaming streamer's offer.

The streamer offers video (H.264 and/or VP8, send-only), audio (Opus, send-receive: it can take
the player's microphone) and a data channel. We answer video receive-only with our codec order
(H.264 first by default: Unreal's own default; VP8 when that is all there is), audio
receive-only, and accept the data channel without sending on it.

With a `microphone` feed (the stream page's voice route) the audio is answered send-receive
instead, and the feed goes out as the answer's audio track (`stream.microphone_track`): silence
while it is closed, the user's voice while it is open, like the page's `UseMic`.

aiortc decodes each track on its own decoder thread (libavcodec for H.264, libvpx for VP8, libopus);
`recv()` hands us finished `av.VideoFrame`/`av.AudioFrame`s on this peer's event loop, and the
callbacks given to the constructor get them there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import SessionDescription, candidate_from_sdp, candidate_to_sdp

from ravatar_live.api.pixel_streaming import IceCandidate, IceServer
from ravatar_live.stream.microphone_track import MicrophoneFeed, MicrophoneTrack
from ravatar_live.tasks import TaskSet

logger = logging.getLogger(__name__)

DECODABLE_VIDEO = ("H264", "VP8")  # what aiortc + PyAV decode
DEFAULT_VIDEO_PREFERENCE = ("H264", "VP8")
_NOT_PICTURE_CODECS = {"RTX", "RED", "ULPFEC", "FLEXFEC-03"}

VideoCallback = Callable[[av.VideoFrame], None]
AudioCallback = Callable[[av.AudioFrame], None]


class OfferError(Exception):
    """The offer cannot be answered; `user_message` says why in plain words."""

    def __init__(self, user_message: str, *, codec_problem: bool = False) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.codec_problem = codec_problem


def offered_video_codecs(sdp: str) -> tuple[str, ...]:
    """The picture codecs of the offer's video sections, in the offer's order ("H264", "VP8")."""
    found: list[str] = []
    try:
        description = SessionDescription.parse(sdp)
    except Exception:  # a malformed SDP offers nothing we can name
        return ()
    for media in description.media:
        if media.kind != "video":
            continue
        for codec in media.rtp.codecs:
            name = codec.mimeType.partition("/")[2].upper()
            if name and name not in _NOT_PICTURE_CODECS and name not in found:
                found.append(name)
    return tuple(found)


def _first_codec(answer_sdp: str, kind: str) -> str | None:
    """The codec our answer puts first for `kind` (the one the streamer sends), or None."""
    for media in SessionDescription.parse(answer_sdp).media:
        if media.kind == kind and media.port != 0:
            for codec in media.rtp.codecs:
                name = codec.mimeType.partition("/")[2].upper()
                if name not in _NOT_PICTURE_CODECS:
                    return name
    return None


def _configuration(ice_servers: Iterable[IceServer]) -> RTCConfiguration:
    # An explicit empty list: with None aiortc falls back to a public STUN server, which an
    # offline stream (the simulator) must not wait for.
    return RTCConfiguration(iceServers=[
        RTCIceServer(urls=list(server.urls), username=server.username,
                     credential=server.credential) for server in ice_servers])


def _video_preferences(order: Iterable[str]) -> list[Any]:
    """aiortc's video codec capabilities in our order, retransmission (rtx) kept."""
    known = RTCRtpReceiver.getCapabilities("video")
    capabilities = known.codecs if known is not None else []
    wanted = [name.upper() for name in order]
    chosen = [c for name in wanted for c in capabilities
              if c.mimeType.partition("/")[2].upper() == name]
    return chosen + [c for c in capabilities if c.mimeType.lower() == "video/rtx"]


def _candidate_from_wire(candidate: IceCandidate) -> RTCIceCandidate | None:
    """aiortc's candidate from the browser form "candidate:<foundation> ..."; None when the text
    is not a usable candidate (or is the end-of-candidates marker)."""
    text = candidate.candidate.strip()
    text = text.removeprefix("a=").removeprefix("candidate:")
    if not text:
        return None
    try:
        parsed = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError):
        return None
    parsed.sdpMid = candidate.sdp_mid
    parsed.sdpMLineIndex = candidate.sdp_mline_index
    return parsed


class ReceivingPeer:
    """One answered offer: `accept_offer()`, then `add_remote_candidate()` for each trickled
    candidate; `failed` is set when the connection fails or closes; `close()` at the end."""

    def __init__(self, ice_servers: Iterable[IceServer], on_video: VideoCallback,
                 on_audio: AudioCallback,
                 video_preference: Iterable[str] = DEFAULT_VIDEO_PREFERENCE, *,
                 microphone: MicrophoneFeed | None = None) -> None:
        self._pc = RTCPeerConnection(_configuration(ice_servers))
        self._on_video = on_video
        self._on_audio = on_audio
        self._video_preference = tuple(video_preference)
        self._tasks = TaskSet("stream peer")
        self._microphone_track = MicrophoneTrack(microphone) if microphone is not None else None
        self._closed = False
        self.failed = asyncio.Event()
        self.connected = asyncio.Event()
        self.offered_video: tuple[str, ...] = ()
        self.video_codec: str | None = None
        self.audio_codec: str | None = None
        self.video_transceiver: RTCRtpTransceiver | None = None
        self.audio_transceiver: RTCRtpTransceiver | None = None
        self._pc.on("connectionstatechange", self._on_state)
        self._pc.on("datachannel", self._on_data_channel)

    @property
    def state(self) -> str:
        return str(self._pc.connectionState)

    def _on_state(self) -> None:
        state = self._pc.connectionState
        logger.info("stream peer connection %s", state)
        if state == "connected":
            self.connected.set()
        elif state in ("failed", "closed"):
            self.failed.set()

    def _on_data_channel(self, channel: Any) -> None:
        # Pixel Streaming input messages: an avatar client sends none and needs none it receives.
        logger.debug("stream data channel %r opened (ignored)", channel.label)

    async def accept_offer(self, offer_sdp: str) -> str:
        """Apply the streamer's offer and return our answer's SDP (ICE candidates included).
        Raises OfferError when no offered video codec can be decoded here or the offer is
        malformed."""
        self.offered_video = offered_video_codecs(offer_sdp)
        if self.offered_video and not set(self.offered_video) & set(DECODABLE_VIDEO):
            names = ", ".join(self.offered_video)
            raise OfferError(f"The stream's video is {names}, which this app cannot decode "
                             "(it plays H.264 and VP8).", codec_problem=True)
        # Our transceivers exist before the offer is applied, so aiortc binds the offer's
        # sections to them and answers with our codec order and directions.
        self.video_transceiver = self._pc.addTransceiver("video", direction="recvonly")
        self.video_transceiver.setCodecPreferences(_video_preferences(self._video_preference))
        if self._microphone_track is not None:
            self.audio_transceiver = self._pc.addTransceiver(self._microphone_track,
                                                             direction="sendrecv")
        else:
            self.audio_transceiver = self._pc.addTransceiver("audio", direction="recvonly")
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self._pc.setLocalDescription(await self._pc.createAnswer())
        except (ValueError, OperationError, InternalError, InvalidStateError) as exc:
            raise OfferError(f"The stream's offer could not be answered: {exc}") from exc
        answer_sdp = str(self._pc.localDescription.sdp)
        self.video_codec = _first_codec(answer_sdp, "video")
        self.audio_codec = _first_codec(answer_sdp, "audio")
        logger.info("answered the stream's offer: video %s (offered %s), audio %s%s",
                    self.video_codec, ", ".join(self.offered_video) or "none",
                    self.audio_codec, " with our microphone" if self.sends_microphone else "")
        for transceiver, deliver in ((self.video_transceiver, self._on_video),
                                     (self.audio_transceiver, self._on_audio)):
            track = transceiver.receiver.track
            if track is not None and transceiver.mid is not None:
                self._tasks.spawn(self._consume(track, deliver))
        return answer_sdp

    @property
    def sends_microphone(self) -> bool:
        """True when the answer sends our microphone on the audio section."""
        transceiver = self.audio_transceiver
        return (self._microphone_track is not None and transceiver is not None
                and transceiver.currentDirection in ("sendrecv", "sendonly"))

    def local_candidates(self) -> list[IceCandidate]:
        """Our candidates, for trickling: those of the first (bundled) media section."""
        description = self._pc.localDescription
        if description is None:
            return []
        media = SessionDescription.parse(description.sdp).media
        if not media:
            return []
        first = media[0]
        return [IceCandidate("candidate:" + candidate_to_sdp(c), first.rtp.muxId, 0)
                for c in first.ice_candidates]

    async def add_remote_candidate(self, candidate: IceCandidate) -> None:
        """Use a trickled candidate of the streamer; an unusable one is logged and skipped."""
        parsed = _candidate_from_wire(candidate)
        if parsed is None:
            if candidate.candidate.strip():
                logger.debug("ignored an unreadable ICE candidate from the streamer")
            return
        try:
            await self._pc.addIceCandidate(parsed)
        except (ValueError, InvalidStateError) as exc:
            logger.debug("ignored an ICE candidate from the streamer: %s", exc)

    async def _consume(self, track: MediaStreamTrack, deliver: Callable[[Any], None]) -> None:
        failed = False
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            try:
                deliver(frame)
            except Exception:  # one bad frame must not end the stream; say so once
                if not failed:
                    logger.exception("a received %s frame could not be used", track.kind)
                    failed = True

    async def stats(self) -> list[Any]:
        """aiortc's statistics objects for this connection (empty once closed)."""
        if self._closed:
            return []
        try:
            report = await self._pc.getStats()
        except Exception:  # statistics are best effort: a closing transport may refuse
            return []
        return list(report.values())

    async def close(self) -> None:
        """Close the connection and stop consuming; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._tasks.cancel_and_wait()
        with contextlib.suppress(Exception):  # a half-negotiated peer may complain on close
            await self._pc.close()
        if self._microphone_track is not None:
            self._microphone_track.stop()
        self.failed.set()
