"""PCM encoding for the Live Mode wire format (PROTOCOL.md section 4).

Raw, 16 000 Hz, signed 16-bit, mono, little-endian, 4096 samples (8192 bytes, 256 ms) per chunk,
each chunk base64-encoded into its own message. Float to int16: clamp to [-1, 1], then
``round(x * 32767)``. Everything here is vectorised numpy; there is no per-sample Python loop.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ravatar_live.audio.errors import AudioFormatError

SAMPLE_RATE = 16_000
CHUNK_SAMPLES = 4096
CHUNK_BYTES = CHUNK_SAMPLES * 2
WIRE_DTYPE = np.dtype("<i2")

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]


def float_to_int16(samples: npt.ArrayLike) -> Int16Array:
    """Clamp float samples to [-1, 1] and scale with ``round(x * 32767)``.

    numpy's ``rint`` rounds halves to even, exactly like Python's ``round``. NaN becomes 0 (a
    broken sample must not turn into a full-scale click).
    """
    x = np.asarray(samples, dtype=np.float64)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.rint(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def to_int16(samples: npt.ArrayLike) -> Int16Array:
    """Pass int16 through untouched; encode floating point; reject anything else."""
    arr = np.asarray(samples)
    if arr.dtype == np.int16:
        return arr.astype(np.int16, copy=False)
    if np.issubdtype(arr.dtype, np.floating):
        return float_to_int16(arr)
    raise AudioFormatError(
        "The audio samples are in an unsupported format.", detail=f"dtype {arr.dtype}"
    )


def int16_to_float(samples: Int16Array) -> Float32Array:
    """The inverse scale used by the VAD and level meter (int16 -> [-1, 1])."""
    return (np.asarray(samples, dtype=np.float32) / np.float32(32768.0)).astype(np.float32)


def encode_wire_bytes(samples: npt.ArrayLike) -> bytes:
    """Little-endian int16 bytes, whatever the host byte order."""
    return to_int16(samples).astype(WIRE_DTYPE, copy=False).tobytes()


def b64(data: bytes) -> str:
    """Plain base64 (no data: prefix, no line breaks) as the wire wants it."""
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class PcmChunk:
    """One wire chunk: exactly ``CHUNK_BYTES`` of s16le audio.

    ``last_sample_at`` is the monotonic time the chunk's final real sample arrived from the device
    (for latency figures); ``padded`` is how many zero samples were appended at the end of a take.
    """

    data: bytes
    last_sample_at: float
    padded: int = 0

    @property
    def base64(self) -> str:
        return b64(self.data)


class PcmChunker:
    """Cuts a stream of int16 samples into exact 4096-sample chunks.

    ``push`` returns every chunk completed by the new samples; ``flush`` pads the remainder with
    silence to a full chunk so the end of speech reaches the server at once (PROTOCOL.md 6).
    """

    def __init__(self, chunk_samples: int = CHUNK_SAMPLES) -> None:
        if chunk_samples <= 0:
            raise ValueError("chunk_samples must be positive")
        self._size = chunk_samples
        self._pending = np.zeros(chunk_samples, dtype=WIRE_DTYPE)
        self._fill = 0
        self._last_at = 0.0

    @property
    def pending_samples(self) -> int:
        return self._fill

    def push(self, samples: npt.ArrayLike, arrived_at: float = 0.0) -> list[PcmChunk]:
        data = to_int16(samples).reshape(-1)
        if data.size == 0:
            return []
        self._last_at = arrived_at
        out: list[PcmChunk] = []
        pos = 0
        if self._fill:
            take = min(self._size - self._fill, data.size)
            self._pending[self._fill : self._fill + take] = data[:take]
            self._fill += take
            pos = take
            if self._fill < self._size:
                return out
            out.append(PcmChunk(self._pending.tobytes(), arrived_at))
            self._fill = 0
        whole = (data.size - pos) // self._size
        if whole:
            block = data[pos : pos + whole * self._size].astype(WIRE_DTYPE, copy=False)
            raw = block.tobytes()
            step = self._size * 2
            out.extend(PcmChunk(raw[i : i + step], arrived_at) for i in range(0, len(raw), step))
            pos += whole * self._size
        rest = data.size - pos
        if rest:
            self._pending[:rest] = data[pos:]
            self._fill = rest
        return out

    def flush(self) -> PcmChunk | None:
        """Pad the remainder with zeros to a full chunk; None when nothing is pending."""
        if not self._fill:
            return None
        padded = self._size - self._fill
        self._pending[self._fill :] = 0
        chunk = PcmChunk(self._pending.tobytes(), self._last_at, padded)
        self._fill = 0
        return chunk

    def reset(self) -> None:
        self._fill = 0


def chunk_all(samples: npt.ArrayLike) -> Iterator[PcmChunk]:
    """Every chunk of a whole take, the last one padded (a convenience for tests and tools)."""
    chunker = PcmChunker()
    yield from chunker.push(samples)
    tail = chunker.flush()
    if tail is not None:
        yield tail
