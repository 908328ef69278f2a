"""Stream health: what the stream page's WebRTC connection is doing, in figures and plain words.

A probe script (resources/stream_stats.js), injected into every frame of the stream view's web
profile, reads the page's WebRTC statistics and posts them as "ravatar-stats {json}" strings to
the parent window; the host page forwards them like the stream's own messages, so they arrive on
`StreamView.page_message`. `StreamHealth.on_page_message` turns them into:

- `stats_updated(StreamStats)` about once a second (codec, frames, fps, size, bitrate, RTT, level);
- `first_frame(seconds)` once per stream: time from `begin()` to the first decoded frame (logged);
- `avatar_audio_started()` when the avatar's voice rises on the stream (for turn latency);
- `problem(kind, message)` when the stream connects but cannot be seen: a video codec this
  engine cannot decode ("codec", naming it), or no decoded frame within a timeout ("no-frames");
  `problem_cleared()` when frames arrive after all.

The PyPI QtWebEngine decodes VP8, VP9 and AV1 over WebRTC, not H.264 (DESIGN.md "Codecs").
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineScript

from ravatar_live.resources import resource_path

logger = logging.getLogger(__name__)

STATS_PREFIX = "ravatar-stats "
PROBE_SCRIPT_NAME = "ravatar-stream-stats"
DEFAULT_NO_FRAMES_TIMEOUT_S = 8.0
DECODABLE_VIDEO_CODECS = frozenset({"VP8", "VP9", "AV1"})
_CODEC_NAMES = {"H264": "H.264", "H265": "H.265 (HEVC)", "HEVC": "H.265 (HEVC)"}


def codec_label(codec: str) -> str:
    """How people write a codec name: "H264" -> "H.264"."""
    return _CODEC_NAMES.get(codec.upper(), codec.upper())


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: object) -> int:
    number = _num(value)
    return max(0, int(number)) if number is not None else 0


def _text(value: object) -> str | None:
    return value.upper() if isinstance(value, str) and value else None


@dataclass(frozen=True)
class StreamStats:
    """One statistics report of the stream page's WebRTC connection (None = not known)."""

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

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> StreamStats:
        """Read a probe report, tolerating missing or odd fields."""
        offered = report.get("offeredVideo")
        width, height = _num(report.get("width")), _num(report.get("height"))
        state = report.get("state")
        return cls(
            state=state if isinstance(state, str) else "new",
            video_codec=_text(report.get("videoCodec")),
            audio_codec=_text(report.get("audioCodec")),
            offered_video=tuple(c.upper() for c in offered if isinstance(c, str))
            if isinstance(offered, list) else (),
            video_rejected=report.get("videoRejected") is True,
            has_video=report.get("hasVideo") is True,
            frames_received=_count(report.get("framesReceived")),
            frames_decoded=_count(report.get("framesDecoded")),
            frames_dropped=_count(report.get("framesDropped")),
            fps=_num(report.get("fps")),
            width=int(width) if width else None,
            height=int(height) if height else None,
            bitrate_kbps=_num(report.get("bitrateKbps")),
            rtt_ms=_num(report.get("rttMs")),
            audio_level=_num(report.get("audioLevel")),
            packets_lost=_count(report.get("packetsLost")),
            jitter_ms=_num(report.get("jitterMs")),
        )

    @property
    def connected(self) -> bool:
        return self.state == "connected"


def undecodable_codecs(stats: StreamStats) -> tuple[str, ...]:
    """The video codecs to blame when this engine cannot show the stream, or () when the video
    codec is fine (or not known yet)."""
    if stats.video_codec is not None:
        return () if stats.video_codec in DECODABLE_VIDEO_CODECS else (stats.video_codec,)
    offered = stats.offered_video
    if stats.video_rejected or (offered and not DECODABLE_VIDEO_CODECS.intersection(offered)):
        return offered or ("unknown",)
    return ()


def codec_message(codecs: tuple[str, ...]) -> str:
    """Plain words for a stream whose video this engine cannot decode."""
    names = " or ".join(codec_label(c) for c in codecs if c != "unknown")
    what = f"its video is {names}, a format" if names else "its video uses a format"
    return (f"The stream is connected, but {what} the app's built-in browser cannot play "
            "(it plays VP8, VP9 and AV1). You can still talk and hear the avatar; open the "
            "stream in your web browser to see it.")


def no_frames_message(timeout_s: float, stats: StreamStats | None) -> str:
    """Plain words for a connected stream that shows nothing."""
    codec = f" (video codec {codec_label(stats.video_codec)})" if stats and stats.video_codec \
        else ""
    return (f"The stream is connected, but no video has arrived in {timeout_s:g} seconds{codec}. "
            "The avatar may still be starting; if it stays dark, open the stream in your web "
            "browser.")


def install_stats_probe(profile: QWebEngineProfile) -> QWebEngineScript:
    """Add the probe to a web profile (once; later calls return the installed script).

    Profile scripts, not page scripts: QtWebEngine injects page scripts into same-process
    frames only, and the stream is a cross-origin iframe (another renderer process)."""
    scripts = profile.scripts()
    found = scripts.find(PROBE_SCRIPT_NAME)
    if found:
        return found[0]
    script = QWebEngineScript()
    script.setName(PROBE_SCRIPT_NAME)
    script.setSourceCode(resource_path("stream_stats.js").read_text(encoding="utf-8"))
    # Before the page's own scripts, in the page's world: it must see the page's connections.
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    scripts.insert(script)
    return script


class StreamHealth(QObject):
    """Reads probe messages; see the module docstring for the signals."""

    stats_updated = Signal(object)  # StreamStats
    first_frame = Signal(float)  # seconds from begin() to the first decoded frame
    avatar_audio_started = Signal()
    problem = Signal(str, str)  # "codec" | "no-frames", plain-words message
    problem_cleared = Signal()

    def __init__(self, no_frames_timeout_s: float = DEFAULT_NO_FRAMES_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.no_frames_timeout_s = no_frames_timeout_s
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.setInterval(round(no_frames_timeout_s * 1000))
        self._watchdog.timeout.connect(self._on_no_frames)
        self._began_at: float | None = None
        self.latest: StreamStats | None = None
        self.first_frame_s: float | None = None
        self.problem_kind: str | None = None

    def set_no_frames_timeout(self, seconds: float) -> None:
        """How long a connected stream may show nothing before it counts as a problem."""
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"the no-frames timeout must be > 0 s, got {seconds}")
        self.no_frames_timeout_s = seconds
        self._watchdog.setInterval(round(seconds * 1000))

    @Slot()
    def begin(self) -> None:
        """A stream page is being loaded: start the first-frame clock afresh."""
        self.reset()
        self._began_at = self._clock()

    @Slot()
    def reset(self) -> None:
        """No stream any more (session ended, placeholder shown)."""
        self._watchdog.stop()
        self._began_at = None
        self.latest = None
        self.first_frame_s = None
        if self.problem_kind is not None:
            self.problem_kind = None
            self.problem_cleared.emit()

    @Slot(str)
    def on_page_message(self, data: str) -> None:
        """Everything the stream page posts; only probe messages are read."""
        if not data.startswith(STATS_PREFIX):
            return
        try:
            message = json.loads(data[len(STATS_PREFIX):])
        except ValueError:
            logger.debug("ignored a malformed stream stats message")
            return
        if not isinstance(message, dict):
            return
        kind = message.get("kind")
        if kind == "stats":
            self._on_stats(StreamStats.from_report(message))
        elif kind == "state" and message.get("state") == "connected":
            self._arm_watchdog()
        elif kind == "first-frame":
            self._on_first_frame(message)
        elif kind == "audio-onset":
            self.avatar_audio_started.emit()

    def _arm_watchdog(self) -> None:
        if self.first_frame_s is None and not self._watchdog.isActive() \
                and self.problem_kind is None:
            self._watchdog.start()

    def _on_stats(self, stats: StreamStats) -> None:
        self.latest = stats
        self.stats_updated.emit(stats)
        if stats.connected:
            self._arm_watchdog()
        blamed = undecodable_codecs(stats)
        if blamed and stats.frames_decoded == 0 and self.problem_kind != "codec":
            names = ", ".join(codec_label(c) for c in blamed)
            logger.warning("stream video cannot be decoded here (codec %s)", names)
            self._report("codec", codec_message(blamed))
        elif stats.frames_decoded > 0:
            if self.first_frame_s is None:
                self._on_first_frame({"codec": stats.video_codec, "width": stats.width,
                                      "height": stats.height})
            if self.problem_kind is not None:
                self.problem_kind = None
                self.problem_cleared.emit()

    def _on_first_frame(self, message: dict[str, Any]) -> None:
        if self.first_frame_s is not None:
            return
        self._watchdog.stop()
        began = self._began_at if self._began_at is not None else self._clock()
        self.first_frame_s = max(0.0, self._clock() - began)
        after = _num(message.get("afterConnectionMs"))
        logger.info("time to first decoded frame: %.2f s (%s %sx%s%s)", self.first_frame_s,
                    _text(message.get("codec")) or "codec unknown", message.get("width"),
                    message.get("height"),
                    f"; {after / 1000:.2f} s after the page created its WebRTC connection"
                    if after is not None else "")
        self.first_frame.emit(self.first_frame_s)
        if self.problem_kind is not None:
            self.problem_kind = None
            self.problem_cleared.emit()

    @Slot()
    def _on_no_frames(self) -> None:
        if self.first_frame_s is not None or self.problem_kind is not None:
            return
        logger.warning("stream connected but no frame decoded in %.0f s",
                       self.no_frames_timeout_s)
        self._report("no-frames", no_frames_message(self.no_frames_timeout_s, self.latest))

    def _report(self, kind: str, message: str) -> None:
        self._watchdog.stop()
        self.problem_kind = kind
        self.problem.emit(kind, message)
