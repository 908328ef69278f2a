"""Stream health: what the stream player's WebRTC connection is doing, in figures and plain words.

Both players feed it. The web view: a probe script (resources/stream_stats.js, installed by
`ui.stream_view.install_stats_probe`) reads the page's WebRTC statistics and posts them as
"ravatar-stats {json}" strings that arrive on `StreamView.page_message`; `on_page_message` reads
them. The native player reports the same figures directly (`on_stats`, `on_first_frame`,
`on_audio_onset`). Out come:

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

from PySide6.QtCore import QObject, QTimer, Signal, Slot

# Moved to the Qt-free stream.stats (the native player fills them too); re-exported here so
# existing imports keep working.
from ravatar_live.stream.stats import (
    DECODABLE_VIDEO_CODECS,
    StreamStats,
    codec_label,
    codec_message,
    no_frames_message,
    read_codec,
    read_number,
    undecodable_codecs,
)

logger = logging.getLogger(__name__)

STATS_PREFIX = "ravatar-stats "
DEFAULT_NO_FRAMES_TIMEOUT_S = 8.0

__all__ = ["DECODABLE_VIDEO_CODECS", "DEFAULT_NO_FRAMES_TIMEOUT_S", "STATS_PREFIX",
           "StreamHealth", "StreamStats", "codec_label", "codec_message", "no_frames_message",
           "undecodable_codecs"]


class StreamHealth(QObject):
    """Reads the active player's figures; see the module docstring for the signals."""

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
            self.on_stats(StreamStats.from_report(message))
        elif kind == "state" and message.get("state") == "connected":
            self._arm_watchdog()
        elif kind == "first-frame":
            after = read_number(message.get("afterConnectionMs"))
            self.on_first_frame(read_codec(message.get("codec")), message.get("width"),
                                message.get("height"),
                                f"{after / 1000:.2f} s after the page created its WebRTC "
                                "connection" if after is not None else "")
        elif kind == "audio-onset":
            self.on_audio_onset()

    @Slot()
    def on_audio_onset(self) -> None:
        """The avatar's voice rose on the stream (probe, or the native player's played audio)."""
        self.avatar_audio_started.emit()

    def _arm_watchdog(self) -> None:
        if self.first_frame_s is None and not self._watchdog.isActive() \
                and self.problem_kind is None:
            self._watchdog.start()

    @Slot(object)
    def on_stats(self, stats: StreamStats) -> None:
        """One statistics report of the active player."""
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
                self.on_first_frame(stats.video_codec, stats.width, stats.height)
            if self.problem_kind is not None:
                self.problem_kind = None
                self.problem_cleared.emit()

    def on_first_frame(self, codec: str | None, width: object = None, height: object = None,
                       detail: str = "") -> None:
        """The active player decoded its first frame (timed from `begin()`, once)."""
        if self.first_frame_s is not None:
            return
        self._watchdog.stop()
        began = self._began_at if self._began_at is not None else self._clock()
        self.first_frame_s = max(0.0, self._clock() - began)
        size = f" {width}x{height}" if width and height else ""
        logger.info("time to first decoded frame: %.2f s (%s%s%s)", self.first_frame_s,
                    codec or "codec unknown", size, f"; {detail}" if detail else "")
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
