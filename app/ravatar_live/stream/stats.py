"""Stream health figures in one shape for both players (the web view's probe and the native
player), and the Qt-free verdicts about them. No Qt here.

`StreamStats` is one report; `codec_label` writes codec names the way people do;
`undecodable_codecs`, `codec_message` and `no_frames_message` judge a stream shown in the app's
web view (its engine decodes VP8, VP9 and AV1, not H.264: PROTOCOL.md section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# What the PyPI QtWebEngine decodes over WebRTC (the web view's verdicts only).
DECODABLE_VIDEO_CODECS = frozenset({"VP8", "VP9", "AV1"})
_CODEC_NAMES = {"H264": "H.264", "H265": "H.265 (HEVC)", "HEVC": "H.265 (HEVC)"}


def codec_label(codec: str) -> str:
    """How people write a codec name: "H264" -> "H.264"."""
    return _CODEC_NAMES.get(codec.upper(), codec.upper())


def read_number(value: object) -> float | None:
    """A finite JSON number as float, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: object) -> int:
    number = read_number(value)
    return max(0, int(number)) if number is not None else 0


def read_codec(value: object) -> str | None:
    """A codec name in upper case ("h264" -> "H264"), else None."""
    return value.upper() if isinstance(value, str) and value else None


@dataclass(frozen=True)
class StreamStats:
    """One statistics report of the stream's WebRTC connection (None = not known).

    `rtt_source` says where `rtt_ms` came from: "ice" (the web view's candidate pair) or
    "signalling" (the native player's ping round trip over the signalling socket; aiortc keeps
    no receive-side RTCP round trip)."""

    state: str = "new"
    video_codec: str | None = None
    audio_codec: str | None = None
    offered_video: tuple[str, ...] = ()
    video_rejected: bool = False
    has_video: bool = False
    frames_received: int = 0
    frames_decoded: int = 0
    frames_dropped: int = 0
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    bitrate_kbps: float | None = None
    rtt_ms: float | None = None
    audio_level: float | None = None
    packets_lost: int = 0
    jitter_ms: float | None = None
    rtt_source: str | None = None

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> StreamStats:
        """Read a web view probe report, tolerating missing or odd fields."""
        offered = report.get("offeredVideo")
        width, height = read_number(report.get("width")), read_number(report.get("height"))
        state = report.get("state")
        rtt = read_number(report.get("rttMs"))
        return cls(
            state=state if isinstance(state, str) else "new",
            video_codec=read_codec(report.get("videoCodec")),
            audio_codec=read_codec(report.get("audioCodec")),
            offered_video=tuple(c.upper() for c in offered if isinstance(c, str))
            if isinstance(offered, list) else (),
            video_rejected=report.get("videoRejected") is True,
            has_video=report.get("hasVideo") is True,
            frames_received=_count(report.get("framesReceived")),
            frames_decoded=_count(report.get("framesDecoded")),
            frames_dropped=_count(report.get("framesDropped")),
            fps=read_number(report.get("fps")),
            width=int(width) if width else None,
            height=int(height) if height else None,
            bitrate_kbps=read_number(report.get("bitrateKbps")),
            rtt_ms=rtt,
            audio_level=read_number(report.get("audioLevel")),
            packets_lost=_count(report.get("packetsLost")),
            jitter_ms=read_number(report.get("jitterMs")),
            rtt_source="ice" if rtt is not None else None,
        )

    @property
    def connected(self) -> bool:
        return self.state == "connected"


def undecodable_codecs(stats: StreamStats) -> tuple[str, ...]:
    """The video codecs to blame when the web view cannot show the stream, or () when the video
    codec is fine (or not known yet)."""
    if stats.video_codec is not None:
        return () if stats.video_codec in DECODABLE_VIDEO_CODECS else (stats.video_codec,)
    offered = stats.offered_video
    if stats.video_rejected or (offered and not DECODABLE_VIDEO_CODECS.intersection(offered)):
        return offered or ("unknown",)
    return ()


def codec_message(codecs: tuple[str, ...]) -> str:
    """Plain words for a stream whose video the web view cannot decode."""
    names = " or ".join(codec_label(c) for c in codecs if c != "unknown")
    what = f"its video is {names}, a format" if names else "its video uses a format"
    return (f"The stream is connected, but {what} the app's built-in browser cannot play "
            "(it plays VP8, VP9 and AV1). You can still talk and hear the avatar; open the "
            "stream in your web browser to see it.")


def no_frames_message(timeout_s: float, stats: StreamStats | None) -> str:
    """Plain words for a connected stream that shows nothing in the web view."""
    codec = f" (video codec {codec_label(stats.video_codec)})" if stats and stats.video_codec \
        else ""
    return (f"The stream is connected, but no video has arrived in {timeout_s:g} seconds{codec}. "
            "The avatar may still be starting; if it stays dark, open the stream in your web "
            "browser.")
