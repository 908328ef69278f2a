"""Whether the stream page gets WebRTC, and the signalling for it over the page's event socket.

aiortc is optional. Without it (or with `SimulatorConfig.stream_webrtc=False`) the page draws the
avatar on a canvas itself, as before. Signalling rides on /stream/<LicenseId>/events:

    page -> {"type": "webrtc-request"}              the page can do WebRTC and wants the stream
    sim  -> {"event": "webrtc-offer", "sdp": "..."}  send-only offer, ICE candidates included
    page -> {"type": "webrtc-answer", "sdp": "..."}
    sim  -> {"event": "webrtc-error", "reason": "..."}   the page falls back to its canvas
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

from ravatar_live.simulator.config import SimulatorConfig

if TYPE_CHECKING:
    from ravatar_live.simulator.webrtc_stream import AvatarStreamPeer

log = logging.getLogger(__name__)


@cache
def aiortc_missing_reason() -> str | None:
    """None when aiortc and PyAV import; otherwise why not (for logs and the admin API)."""
    for module in ("aiortc", "av"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install aiortc)"
    try:
        importlib.import_module("ravatar_live.simulator.webrtc_stream")
    except ImportError as exc:  # e.g. a broken native library
        return f"aiortc could not be loaded: {exc}"
    return None


def webrtc_enabled(config: SimulatorConfig) -> bool:
    """True when the stream page should receive the avatar over WebRTC."""
    return config.stream_webrtc and aiortc_missing_reason() is None


class PageStream:
    """The WebRTC side of one connected stream page. Not used at all in canvas mode."""

    def __init__(self, config: SimulatorConfig, width: int, height: int, colour: str) -> None:
        self._config = config
        self._size = (width, height)
        self._colour = colour
        self.peer: AvatarStreamPeer | None = None

    async def handle(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Act on a page message; returns the reply to send, if any."""
        kind = message.get("type")
        if kind == "webrtc-request":
            return await self._offer()
        if kind == "webrtc-answer":
            sdp = message.get("sdp")
            if self.peer is None or not isinstance(sdp, str):
                return {"event": "webrtc-error", "reason": "unexpected answer"}
            try:
                await self.peer.accept_answer(sdp)
            except Exception as exc:  # a bad answer costs this page its video, nothing more
                log.warning("could not use the stream page's WebRTC answer: %s", exc)
                await self.close()
                return {"event": "webrtc-error", "reason": f"bad answer: {exc}"}
        return None

    async def _offer(self) -> dict[str, Any]:
        if not webrtc_enabled(self._config):
            return {"event": "webrtc-error", "reason": "WebRTC is off in this simulator"}
        # Imported here: this module must load without aiortc.
        rtc = importlib.import_module("ravatar_live.simulator.webrtc_stream")
        await self.close()
        cfg = self._config
        self.peer = rtc.AvatarStreamPeer(rtc.StreamSettings(
            width=self._size[0], height=self._size[1], colour=self._colour, fps=cfg.stream_fps,
            max_height=cfg.stream_max_height, video_codec=cfg.stream_video_codec,
            voice=cfg.stream_voice))
        try:
            sdp = await self.peer.offer()
        except Exception as exc:
            log.exception("could not create a WebRTC offer")
            await self.close()
            return {"event": "webrtc-error", "reason": f"no offer: {exc}"}
        return {"event": "webrtc-offer", "sdp": sdp, "codec": cfg.stream_video_codec}

    def describe(self) -> dict[str, object] | None:
        """The peer's state for tests and benchmarks, or None before WebRTC was asked for."""
        peer = self.peer
        if peer is None:
            return None
        return {"state": peer.connection_state, "frames_sent": peer.frames_sent,
                "samples_spoken": peer.samples_spoken, "size": peer.encoded_size,
                "codec": peer.settings.video_codec, "rejected": list(peer.rejected)}

    def on_event(self, event: dict[str, object]) -> None:
        """Forward a stream event (listening / thinking / speaking / session-end)."""
        if self.peer is not None:
            self.peer.on_event(event)

    async def close(self) -> None:
        peer, self.peer = self.peer, None
        if peer is not None:
            await peer.close()
