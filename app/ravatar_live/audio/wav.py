"""WAV in and out: the "recorded blob" path (``file_base64_data``) and reading any PCM/float WAV.

The reader is a small RIFF parser rather than the stdlib ``wave`` module because ``wave`` does
not read IEEE-float files, which sox and many recorders produce.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ravatar_live.audio.errors import AudioFormatError
from ravatar_live.audio.pcm import SAMPLE_RATE, Float32Array, to_int16

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE


def build_wav(samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A complete mono 16-bit PCM WAV file (44-byte header + s16le data)."""
    data = to_int16(samples).reshape(-1).astype("<i2", copy=False).tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(data), b"WAVE",
        b"fmt ", 16, _PCM, 1, sample_rate, sample_rate * 2, 2, 16,
        b"data", len(data),
    )
    return header + data


@dataclass(frozen=True, slots=True)
class WavAudio:
    """Decoded audio: float32 in [-1, 1], shape (frames, channels)."""

    samples: Float32Array
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def parse_wav(blob: bytes) -> WavAudio:
    """Decode a RIFF/WAVE file held in memory; raise AudioFormatError with a readable reason."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise AudioFormatError("This is not a WAV file.")
    fmt: tuple[int, int, int, int] | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(blob):
        cid, size = struct.unpack_from("<4sI", blob, pos)
        body = blob[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            if len(body) < 16:
                raise AudioFormatError("The WAV file has a broken format header.")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            data = body
            break
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt is None or data is None:
        raise AudioFormatError("The WAV file has no audio data.")
    tag, channels, rate, bits = fmt
    if channels < 1 or rate < 1:
        raise AudioFormatError("The WAV file declares no channels or no sample rate.")
    return WavAudio(_decode(data, tag, bits, channels), rate)


def read_wav(path: Path | str) -> WavAudio:
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"Cannot read the audio file {path}.", detail=str(exc)) from exc
    return parse_wav(blob)


def _decode(data: bytes, tag: int, bits: int, channels: int) -> Float32Array:
    width = bits // 8
    usable = len(data) - len(data) % (width * channels) if width else 0
    raw = data[:usable]
    if tag == _PCM and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == _PCM and bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif tag == _PCM and bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif tag == _PCM and bits == 32:
        x = (np.frombuffer(raw, "<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    elif tag == _FLOAT and bits == 32:
        x = np.frombuffer(raw, "<f4").astype(np.float32)
    elif tag == _FLOAT and bits == 64:
        x = np.frombuffer(raw, "<f8").astype(np.float32)
    else:
        raise AudioFormatError(
            "This WAV encoding is not supported (use 8/16/24/32-bit PCM or float).",
            detail=f"format tag {tag}, {bits} bits",
        )
    return np.ascontiguousarray(x.reshape(-1, channels), dtype=np.float32)
