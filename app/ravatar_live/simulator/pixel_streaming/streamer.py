"""One player's WebRTC peer on the streamer side (aiortc), shaped like Unreal's: the streamer
offers; video is send-only (H.264 only by default, VP8 only, or both when negotiating), audio is
Opus send-and-receive (the avatar's voice out, the player's microphone in), plus a data channel
for Pixel Streaming's input messages (nothing is sent on it: an avatar needs no input).

ICE uses host candidates only (no STUN: the simulator works offline), carried in the offer; the
player's trickled candidates are added as they come (a browser's mDNS-hidden ones are fine: the
streamer learns the real address from the connectivity checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from ravatar_live.simulator.avatar_media import AvatarPerformance
from ravatar_live.simulator.avatar_render import AvatarRenderer, fit_size
from ravatar_live.simulator.avatar_voice import synthesize
from ravatar_live.simulator.pixel_streaming.microphone import MicListener
from ravatar_live.simulator.pixel_streaming.players import PeerFacts
from ravatar_live.simulator.pixel_streaming.sdp import (
    accept_rejected_sections,
    rejected_kinds,
    video_codecs,
)
from ravatar_live.simulator.pixel_streaming.spec import StreamSettings
from ravatar_live.simulator.pixel_streaming.tracks import AvatarAudioTrack, AvatarVideoTrack

log = logging.getLogger(__name__)

# What each `stream_video_codec` setting offers, in the offer's order.
OFFERED_CODECS = {"H264": ("H264",), "VP8": ("VP8",), "negotiate": ("H264", "VP8")}
DATA_CHANNEL_LABEL = "datachannel"


class BadCandidateError(ValueError):
    """An ICE candidate the player sent that cannot be used; str() says why."""


@dataclass(frozen=True)
class StreamerHooks:
    """Where the peer reports to (all called on the instance's loop)."""

    changed: Callable[[], None]  # something a test may wait for changed (state, a frame, ...)
    progressed: Callable[[], None]  # a frame went out or came in (frequent)
    mic_speech_started: Callable[[], None]
    mic_utterance: Callable[[bytes], None]


class StreamerPeer:
    """Use: `offer()`, send it, `accept_answer()`, `add_ice_candidate()` as they come;
    `on_event()` for every activity event; `close()`."""

    def __init__(self, settings: StreamSettings, hooks: StreamerHooks) -> None:
        self.settings = settings
        self._hooks = hooks
        self.encoded_size = fit_size(settings.width, settings.height, settings.max_height)
        self.performance = AvatarPerformance()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._video = AvatarVideoTrack(AvatarRenderer(*self.encoded_size, settings.colour),
                                       self.performance, settings.fps,
                                       on_frame=hooks.progressed)
        self._audio = AvatarAudioTrack(self.performance)
        self._video_transceiver: RTCRtpTransceiver | None = None
        self._offer_sdp = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._speaking: asyncio.Task[None] | None = None
        self._closed = False
        self.mic: MicListener | None = None
        self.offered: list[str] = []
        self.codec: str | None = None  # the video codec the answer chose; None when rejected
        self.rejected: list[str] = []
        self.answered_at: float | None = None  # time.monotonic() of the player's answer
        self._pc.on("connectionstatechange", self._on_state)
        self._pc.on("track", self._on_track)

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    def describe(self) -> PeerFacts:
        """The peer's facts for tests and the admin page (plain values; safe to read from
        another thread)."""
        mic = self.mic
        return {"state": self.connection_state, "offered": list(self.offered),
                "codec": self.codec, "rejected": list(self.rejected),
                "answered_at": self.answered_at,
                "frames_sent": self._video.frames_sent,
                "samples_spoken": self.performance.samples_spoken,
                "replies_spoken": self.performance.replies_spoken,
                "replies_interrupted": self.performance.replies_interrupted,
                "size": self.encoded_size,
                "mic": {"frames": mic.frames if mic else 0,
                        "speech": mic.heard_speech if mic else False,
                        "utterances": mic.utterances if mic else 0}}

    def _on_state(self) -> None:
        log.info("stream WebRTC connection %s (%dx%d %s)", self._pc.connectionState,
                 *self.encoded_size, self.codec or "no video")
        self._hooks.changed()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "audio" or self.mic is not None:
            return
        self.mic = MicListener(track, self.settings.mic_gap_s, self._hooks.mic_speech_started,
                               self._hooks.mic_utterance, on_frame=self._hooks.progressed)
        self._spawn(self.mic.run())
        self._hooks.changed()

    async def offer(self) -> str:
        """Create the offer (ICE candidates included) and return its SDP."""
        video = self._pc.addTransceiver(self._video, direction="sendonly")
        capabilities = RTCRtpSender.getCapabilities("video").codecs
        wanted = [c for name in OFFERED_CODECS[self.settings.video_codec]
                  for c in capabilities if c.mimeType == f"video/{name}"]
        # Keep the retransmission codec with the chosen ones, as a real streamer would.
        video.setCodecPreferences(wanted + [c for c in capabilities
                                            if c.mimeType == "video/rtx"])
        self._video_transceiver = video
        self._pc.addTransceiver(self._audio, direction="sendrecv")
        self._pc.createDataChannel(DATA_CHANNEL_LABEL)
        await self._pc.setLocalDescription(await self._pc.createOffer())
        self._offer_sdp = self._pc.localDescription.sdp
        self.offered = video_codecs(self._offer_sdp)
        return self._offer_sdp

    async def accept_answer(self, sdp: str) -> None:
        """Apply the player's answer. A rejected video section (a codec the player cannot
        decode) leaves audio-only instead of failing the connection, as Unreal's does. With
        negotiation the answer's first video codec is the one streamed."""
        if self._video_transceiver is None:
            raise RuntimeError("an answer before any offer")
        self.answered_at = time.monotonic()
        self.rejected = rejected_kinds(sdp)
        if self.rejected:
            log.warning("the player rejected the %s offered (%s); it connects without it",
                        " and ".join(self.rejected), "/".join(self.offered))
            sdp = accept_rejected_sections(sdp, self._offer_sdp)
        if self.settings.video_codec == "negotiate":
            # aiortc would otherwise keep the offer's own order: the player's choice must win.
            self._video_transceiver.setCodecPreferences([])
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        answered = video_codecs(sdp)
        self.codec = answered[0] if answered and "video" not in self.rejected else None
        self._hooks.changed()

    async def add_ice_candidate(self, candidate: str, sdp_mid: object,
                                sdp_mline_index: object) -> None:
        """Add one trickled remote candidate (the `candidate:...` line of an iceCandidate)."""
        text = candidate.removeprefix("a=").removeprefix("candidate:")
        try:
            parsed = candidate_from_sdp(text)
        except (AssertionError, ValueError, IndexError) as exc:
            raise BadCandidateError(f"unreadable candidate {candidate[:80]!r}") from exc
        parsed.sdpMid = sdp_mid if isinstance(sdp_mid, str) else None
        parsed.sdpMLineIndex = (sdp_mline_index if isinstance(sdp_mline_index, int)
                                and not isinstance(sdp_mline_index, bool) else None)
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            raise BadCandidateError("a candidate needs sdpMid or sdpMLineIndex")
        await self._pc.addIceCandidate(parsed)

    def on_event(self, event: dict[str, object]) -> None:
        """Follow an activity event; "speaking" makes the avatar say the reply. Any event cuts
        off a reply still being synthesised: a newer turn supersedes it (barge-in)."""
        if self._closed:
            return
        if self._speaking is not None:
            self._speaking.cancel()
            self._speaking = None
        self.performance.on_event(event)
        if event.get("event") == "speaking":
            text = event.get("text")
            duration = event.get("duration_s")
            self._speaking = self._spawn(self._speak(
                text if isinstance(text, str) else "",
                float(duration) if isinstance(duration, int | float) else 2.0))

    async def _speak(self, text: str, duration_s: float) -> None:
        samples = await synthesize(text) if self.settings.voice else None
        self.performance.speak(samples, duration_s)
        self._hooks.changed()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a streamer task failed", exc_info=task.exception())

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
        self._hooks.changed()
