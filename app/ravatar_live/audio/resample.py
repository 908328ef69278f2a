"""Convert what the device delivers to 16 kHz mono int16: downmix, then streaming soxr.

``np.interp`` aliases (DESIGN.md); soxr is anti-aliased and keeps its filter state between blocks,
so a stream cut into arbitrary blocks converts exactly like the whole signal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import soxr

from ravatar_live.audio.errors import AudioFormatError
from ravatar_live.audio.pcm import SAMPLE_RATE, Float32Array, Int16Array, float_to_int16
from ravatar_live.audio.wav import WavAudio


class SampleFormat(enum.Enum):
    INT16 = "int16"
    INT32 = "int32"
    FLOAT32 = "float32"
    UINT8 = "uint8"

    @property
    def width(self) -> int:
        return {"int16": 2, "int32": 4, "float32": 4, "uint8": 1}[self.value]


@dataclass(frozen=True, slots=True)
class CaptureFormat:
    """The raw format a capture backend delivers (interleaved frames)."""

    sample_rate: int
    channels: int
    sample_format: SampleFormat = SampleFormat.INT16

    @property
    def bytes_per_frame(self) -> int:
        return self.channels * self.sample_format.width

    @property
    def is_wire_format(self) -> bool:
        return (self.sample_rate, self.channels, self.sample_format) == (
            SAMPLE_RATE, 1, SampleFormat.INT16)


WIRE_FORMAT = CaptureFormat(SAMPLE_RATE, 1, SampleFormat.INT16)


def decode_frames(raw: bytes, fmt: CaptureFormat) -> Float32Array:
    """Interleaved device bytes -> float32 (frames, channels) in [-1, 1]."""
    match fmt.sample_format:
        case SampleFormat.INT16:
            x = np.frombuffer(raw, "<i2").astype(np.float32) / np.float32(32768.0)
        case SampleFormat.INT32:
            x = (np.frombuffer(raw, "<i4") / 2.0**31).astype(np.float32)
        case SampleFormat.FLOAT32:
            x = np.frombuffer(raw, "<f4").astype(np.float32)
        case SampleFormat.UINT8:
            x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / np.float32(128.0)
    return x.reshape(-1, fmt.channels)


class StreamConverter:
    """Stateful converter from one capture format to the 16 kHz mono int16 wire format.

    Feed it raw device bytes in any block size; a partial frame at a block's end is kept for the
    next block (some backends hand over byte counts that are not frame-aligned).
    """

    def __init__(self, fmt: CaptureFormat) -> None:
        if fmt.sample_rate < 1000 or fmt.channels < 1:
            raise AudioFormatError(
                "The microphone reported an unusable audio format.",
                detail=f"{fmt.sample_rate} Hz, {fmt.channels} channels",
            )
        self.format = fmt
        self._carry = b""
        self._resampler: soxr.ResampleStream | None = None
        if fmt.sample_rate != SAMPLE_RATE:
            self._resampler = soxr.ResampleStream(
                fmt.sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def convert(self, raw: bytes, *, last: bool = False) -> Int16Array:
        if self.format.is_wire_format and not self._carry and len(raw) % 2 == 0:
            return np.frombuffer(raw, "<i2").astype(np.int16)  # fast path: already on the wire
        buf = self._carry + raw
        usable = len(buf) - len(buf) % self.format.bytes_per_frame
        self._carry = buf[usable:]
        mono = self._downmix(decode_frames(buf[:usable], self.format))
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=last).astype(np.float32, copy=False)
        return float_to_int16(mono)

    @staticmethod
    def _downmix(frames: Float32Array) -> Float32Array:
        if frames.shape[1] == 1:
            return np.ascontiguousarray(frames[:, 0])
        return frames.mean(axis=1, dtype=np.float32)


def wav_to_wire(audio: WavAudio) -> Int16Array:
    """A whole decoded file to 16 kHz mono int16 (offline: one soxr call)."""
    samples = audio.samples
    mono = samples.mean(axis=1, dtype=np.float32) if audio.channels > 1 else samples[:, 0]
    if audio.sample_rate != SAMPLE_RATE:
        mono = soxr.resample(mono, audio.sample_rate, SAMPLE_RATE, quality="HQ")
    return float_to_int16(mono)
