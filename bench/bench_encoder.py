"""Encoder: microseconds per 4096-sample chunk (float32 -> clamp/round int16 -> s16le -> base64),
and the ratio against a straightforward per-sample Python loop of the documented algorithm."""

from __future__ import annotations

import base64
import struct
import time

import numpy as np

from ravatar_live.audio.pcm import CHUNK_SAMPLES, PcmChunker, b64, float_to_int16


def python_loop_chunk(samples: list[float]) -> str:
    """PROTOCOL.md 4, one sample at a time: clamp, round(x * 32767), pack little-endian."""
    out = bytearray()
    for x in samples:
        clamped = max(-1.0, min(1.0, x))
        out += struct.pack("<h", round(clamped * 32767))
    return base64.b64encode(bytes(out)).decode("ascii")


def numpy_chunk(chunker: PcmChunker, samples: np.ndarray) -> str:
    [chunk] = chunker.push(float_to_int16(samples))
    return b64(chunk.data)


def best_of(fn, repeats: int, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        times.append((time.perf_counter() - t) / repeats)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(1)
    samples = (rng.standard_normal(CHUNK_SAMPLES) * 0.4).astype(np.float32)  # some clip
    as_list = samples.astype(float).tolist()
    chunker = PcmChunker()
    assert numpy_chunk(chunker, samples) == python_loop_chunk(as_list)  # same bytes, exactly
    vec = best_of(lambda: numpy_chunk(chunker, samples), 2000)
    loop = best_of(lambda: python_loop_chunk(as_list), 50)
    print(f"encoder: numpy {vec * 1e6:.1f} us per 4096-sample chunk; "
          f"per-sample Python loop {loop * 1e6:.0f} us; ratio {loop / vec:.0f}x "
          f"(a chunk is 256 ms of audio: numpy uses {vec / 0.256 * 100:.3f}% of real time)")


if __name__ == "__main__":
    main()
