"""The 4096-sample chunker: exact sizes, nothing lost or reordered, padding only at the end."""

from __future__ import annotations

import base64

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.audio.pcm import CHUNK_BYTES, CHUNK_SAMPLES, PcmChunker, chunk_all


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9000), max_size=12), st.integers(0, 2**31 - 1))
def test_chunks_are_exact_and_concatenation_is_preserved(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    blocks = [rng.integers(-32768, 32767, n, dtype=np.int16) for n in sizes]
    chunker = PcmChunker()
    chunks = []
    for block in blocks:
        chunks.extend(chunker.push(block))
    full = [c for c in chunks]
    assert all(len(c.data) == CHUNK_BYTES and c.padded == 0 for c in full)
    tail = chunker.flush()
    total = sum(sizes)
    stream = np.concatenate(blocks) if blocks else np.zeros(0, np.int16)
    assert len(full) == total // CHUNK_SAMPLES
    if total % CHUNK_SAMPLES:
        assert tail is not None
        assert len(tail.data) == CHUNK_BYTES
        assert tail.padded == CHUNK_SAMPLES - total % CHUNK_SAMPLES
        # the padding is silence, and only at the very end
        assert tail.data[-2 * tail.padded :] == b"\x00" * (2 * tail.padded)
    else:
        assert tail is None
    wire = b"".join(c.data for c in full) + (tail.data if tail else b"")
    assert wire[: 2 * total] == stream.astype("<i2").tobytes()
    assert len(wire) % CHUNK_BYTES == 0


def test_base64_is_plain_and_decodes_to_the_chunk() -> None:
    chunk = next(iter(chunk_all(np.arange(CHUNK_SAMPLES, dtype=np.int16))))
    text = chunk.base64
    assert "\n" not in text and not text.startswith("data:")
    assert base64.b64decode(text) == np.arange(CHUNK_SAMPLES, dtype="<i2").tobytes()


def test_flush_with_nothing_pending_sends_nothing() -> None:
    chunker = PcmChunker()
    assert chunker.push(np.zeros(CHUNK_SAMPLES, np.int16))[0].padded == 0
    assert chunker.flush() is None


def test_arrival_time_of_a_chunk_is_that_of_its_last_sample() -> None:
    chunker = PcmChunker()
    assert chunker.push(np.zeros(4000, np.int16), arrived_at=1.0) == []
    [chunk] = chunker.push(np.zeros(200, np.int16), arrived_at=2.0)
    assert chunk.last_sample_at == 2.0
