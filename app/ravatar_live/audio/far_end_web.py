"""The web view's far end: the stream frame's tap of the avatar's audio track, as the injected
script (resources/stream_stats.js) posts it, read into blocks with our clock's timestamps.

Message: ``ravatar-farend {json}`` with ``t`` (the frame's performance.now() in ms when the
block's last sample was rendered), ``rate`` (Hz) and ``pcm`` (base64 of int16 little-endian
mono); or, when the script cannot tap the audio, ``audible: true`` while the avatar's level
says it speaks.

Clocks: the page's clock is not ours. Each message arrives a little after it was posted (a few
ms of IPC, more under load); the smallest (arrival - page time) seen is the best estimate of the
offset between the two clocks, so a late message never moves the reference later. The tap sees
the audio about when the page's own player hands it to the speaker; the reference is stamped
``WEB_LEAD_S`` earlier than that so it is never later than its echo (which cannot be cancelled);
AEC3's delay estimator finds the rest.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

import numpy as np

from ravatar_live.audio.pcm import Int16Array

FAR_END_PREFIX = "ravatar-farend "
_MAX_BLOCK_SAMPLES = 48000  # a second at most: anything bigger is not our script's
WEB_LEAD_S = 0.05


@dataclass(frozen=True, slots=True)
class FarEndBlock:
    samples: Int16Array
    sample_rate: int
    played_at: float  # our monotonic time when the first sample is due at the speaker


@dataclass(frozen=True, slots=True)
class AvatarAudible:
    """The avatar speaks, but the page could not hand over its audio."""


class PageClock:
    """Maps the page's performance.now() (ms) to our monotonic seconds."""

    def __init__(self) -> None:
        self._offset: float | None = None

    def to_monotonic(self, page_ms: float, arrived_at: float) -> float:
        offset = arrived_at - page_ms / 1000.0
        if self._offset is None or offset < self._offset:
            self._offset = offset
        return page_ms / 1000.0 + self._offset


def parse_far_end(data: str, arrived_at: float,
                  clock: PageClock) -> FarEndBlock | AvatarAudible | None:
    """A far-end message, or None when it is not one or is malformed (never raises)."""
    if not data.startswith(FAR_END_PREFIX):
        return None
    try:
        message = json.loads(data[len(FAR_END_PREFIX):])
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if message.get("audible") is True:
        return AvatarAudible()
    page_ms, rate, pcm = message.get("t"), message.get("rate"), message.get("pcm")
    if not (isinstance(page_ms, int | float) and _finite(page_ms) and isinstance(rate, int)
            and 8000 <= rate <= 96000 and isinstance(pcm, str)):
        return None
    try:
        raw = base64.b64decode(pcm, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 2 or not 0 < len(raw) // 2 <= _MAX_BLOCK_SAMPLES:
        return None
    samples = np.frombuffer(raw, "<i2").astype(np.int16)
    end = clock.to_monotonic(float(page_ms), arrived_at)
    return FarEndBlock(samples, rate, end - samples.size / rate - WEB_LEAD_S)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
