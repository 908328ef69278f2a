"""The web view's far end: what the stream frame plays of the avatar's audio track, as the
injected script (resources/stream_stats.js) taps and posts it, read into blocks with our clock's
timestamps.

Message: ``ravatar-farend {json}`` with ``t`` (the frame's performance time in ms of the block's
last sample: when it reaches the speaker by the AudioContext's output timestamp, or, where the
page cannot run the audio-thread tap, when the main thread handed it over), ``sent`` (when it was
posted; optional, ``t`` when missing), ``rate`` (Hz) and ``pcm`` (base64 of int16 little-endian
mono), or instead of ``pcm``, for a block of digital silence, ``silent`` (its sample count); or,
when the script cannot tap the audio, ``audible: true`` while the avatar's level says it speaks.

Clocks: the page's clock is not ours. Each message arrives a little after it was posted (a few
ms of IPC, more under load); the smallest (arrival - sent) seen fixes the offset between the two
clocks, so a late message never moves the reference later. The reference is stamped
``WEB_LEAD_S`` earlier than the page says it plays, so that it is never later than its echo
(which cannot be cancelled); AEC3's delay estimator finds the rest, within a few hundred ms:
measured end to end, AEC3 cancelled 40 dB of an echo 180 ms behind its reference, but only
4-14 dB at 250 ms, where render times (the speaker time less Chromium's output latency) had put
the web view's reference.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from ravatar_live.audio.pcm import Int16Array

FAR_END_PREFIX = "ravatar-farend "
_MAX_BLOCK_SAMPLES = 48000  # a second at most: anything bigger is not our script's
WEB_LEAD_S = 0.02  # the output timestamp's own error, a few ms


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

    def to_monotonic(self, page_ms: float, arrived_at: float,
                     sent_ms: float | None = None) -> float:
        """``page_ms`` in our time; ``sent_ms`` (default ``page_ms``) is when the message that
        ``arrived_at`` was posted."""
        sent = page_ms if sent_ms is None else sent_ms
        offset = arrived_at - sent / 1000.0
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
    page_ms, rate = message.get("t"), message.get("rate")
    sent_ms = message.get("sent", page_ms)
    if not (_finite(page_ms) and _finite(sent_ms) and isinstance(rate, int)
            and 8000 <= rate <= 96000):
        return None
    samples = _samples(message.get("pcm"), message.get("silent"))
    if samples is None:
        return None
    end = clock.to_monotonic(float(page_ms), arrived_at, float(sent_ms))
    return FarEndBlock(samples, rate, end - samples.size / rate - WEB_LEAD_S)


def _samples(pcm: object, silent: object) -> Int16Array | None:
    """The block's samples: decoded from ``pcm``, or ``silent`` zeros; None when malformed."""
    if pcm is None and isinstance(silent, int) and not isinstance(silent, bool):
        return np.zeros(silent, np.int16) if 0 < silent <= _MAX_BLOCK_SAMPLES else None
    if not isinstance(pcm, str):
        return None
    try:
        raw = base64.b64decode(pcm, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 2 or not 0 < len(raw) // 2 <= _MAX_BLOCK_SAMPLES:
        return None
    return np.frombuffer(raw, "<i2").astype(np.int16)


def _finite(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
