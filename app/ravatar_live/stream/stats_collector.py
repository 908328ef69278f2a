"""Turns the native player's counters and aiortc's statistics into `StreamStats`, about once a
second. Used on the player's thread only.

aiortc keeps no round-trip time on the receiving side (it sends receiver reports but reads no
replies to them), so `rtt_ms` is the signalling ping's round trip, labelled `"signalling"`.
`frames_received` and `frames_decoded` are both the frames aiortc's decoder delivered (it counts
no undecodable frames); `frames_dropped` are frames replaced before the screen took them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ravatar_live.stream.stats import StreamStats

VIDEO_CLOCK_HZ = 90_000


class StatsCollector:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.frames = 0
        self.width: int | None = None
        self.height: int | None = None
        self.rtt_ms: float | None = None
        self._last_at = clock()
        self._last_frames = 0
        self._last_bytes: int | None = None

    def count_frame(self, width: int, height: int) -> None:
        self.frames += 1
        self.width, self.height = width, height

    def new_connection(self) -> None:
        """A new peer: its byte counters start from zero again."""
        self._last_bytes = None

    def snapshot(self, *, state: str, video_codec: str | None, audio_codec: str | None,
                 offered_video: tuple[str, ...], rtc_stats: Iterable[Any], dropped: int,
                 audio_level: float | None) -> StreamStats:
        now = self._clock()
        elapsed = max(1e-6, now - self._last_at)
        fps = (self.frames - self._last_frames) / elapsed
        bytes_received: int | None = None
        packets_lost = 0
        jitter_ms: float | None = None
        for item in rtc_stats:
            kind = getattr(item, "type", None)
            if kind == "transport":
                bytes_received = (bytes_received or 0) + int(item.bytesReceived)
            elif kind == "inbound-rtp":
                packets_lost += max(0, int(item.packetsLost))
                if item.kind == "video":
                    jitter_ms = item.jitter * 1000 / VIDEO_CLOCK_HZ
        bitrate: float | None = None
        if bytes_received is not None:
            if self._last_bytes is not None and bytes_received >= self._last_bytes:
                bitrate = (bytes_received - self._last_bytes) * 8 / 1000 / elapsed
            self._last_bytes = bytes_received
        self._last_at, self._last_frames = now, self.frames
        return StreamStats(
            state=state, video_codec=video_codec, audio_codec=audio_codec,
            offered_video=offered_video, has_video=self.frames > 0,
            frames_received=self.frames, frames_decoded=self.frames, frames_dropped=dropped,
            fps=fps if self.frames else None, width=self.width, height=self.height,
            bitrate_kbps=bitrate, rtt_ms=self.rtt_ms, audio_level=audio_level,
            packets_lost=packets_lost, jitter_ms=jitter_ms,
            rtt_source="signalling" if self.rtt_ms is not None else None)
