"""WAV in/out, the streaming converter (downmix + soxr), the bounded queue, the sample history."""

from __future__ import annotations

import struct
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.audio.capture import BlockQueue
from ravatar_live.audio.errors import AudioFormatError
from ravatar_live.audio.history import SampleHistory
from ravatar_live.audio.resample import CaptureFormat, SampleFormat, StreamConverter
from ravatar_live.audio.wav import build_wav, parse_wav


def tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_wav_round_trip_is_exact() -> None:
    x = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    blob = build_wav(x)
    assert blob[:4] == b"RIFF" and blob[8:16] == b"WAVEfmt " and len(blob) == 44 + 12
    audio = parse_wav(blob)
    assert audio.sample_rate == 16000 and audio.channels == 1
    assert np.array_equal(np.rint(audio.samples[:, 0] * 32768).astype(np.int16), x)


def test_float_and_24bit_wavs_are_read() -> None:
    data = np.array([[0.5, -0.25]], dtype="<f4").tobytes()
    flt = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + 8, b"WAVE", b"fmt ", 16, 3, 2, 44100,
                      44100 * 8, 8, 32, b"data", 8) + data
    a = parse_wav(flt)
    assert (a.sample_rate, a.channels) == (44100, 2)
    assert a.samples.tolist() == [[0.5, -0.25]]
    pcm24 = bytes([0x00, 0x00, 0x40, 0x00, 0x00, 0xC0])  # +0.5, -0.5
    w24 = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + 6, b"WAVE", b"fmt ", 16, 1, 1, 8000,
                      24000, 3, 24, b"data", 6) + pcm24
    assert parse_wav(w24).samples[:, 0].tolist() == [0.5, -0.5]


@pytest.mark.parametrize("blob, message", [
    (b"", "not a WAV"), (b"RIFF\x00\x00\x00\x00WAVE", "no audio data"),
    (struct.pack("<4sI4s4sIHHIIHH", b"RIFF", 28, b"WAVE", b"fmt ", 16, 85, 1, 8000, 1, 1, 8)
     + b"data\x00\x00\x00\x00", "not supported"),
])
def test_bad_wavs_are_typed_errors(blob: bytes, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        parse_wav(blob)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=20))
def test_streaming_conversion_does_not_depend_on_block_boundaries(cuts: list[int]) -> None:
    fmt = CaptureFormat(48000, 2, SampleFormat.INT16)
    x = np.stack([tone(440, 48000, 0.5), tone(660, 48000, 0.5)], axis=1)
    raw = (x * 32767).astype("<i2").tobytes()
    whole = StreamConverter(fmt).convert(raw, last=True)
    conv = StreamConverter(fmt)
    parts, pos = [], 0
    for n in cuts:  # arbitrary byte counts, also not frame-aligned
        parts.append(conv.convert(raw[pos : pos + n]))
        pos += n
    parts.append(conv.convert(raw[pos:], last=True))
    assert np.array_equal(np.concatenate(parts), whole)


def test_downmix_and_resample_keep_the_tone_and_reject_aliases() -> None:
    fmt = CaptureFormat(48000, 2, SampleFormat.FLOAT32)
    wanted = np.stack([tone(1000, 48000, 1.0), tone(1000, 48000, 1.0)], axis=1)
    out = StreamConverter(fmt).convert(wanted.astype("<f4").tobytes(), last=True)
    assert abs(out.size - 16000) <= 64
    spec = np.abs(np.fft.rfft(out[2000:14000].astype(np.float64)))
    assert abs(np.argmax(spec) * 16000 / 12000 - 1000) < 3
    # 10 kHz is above the 8 kHz Nyquist of the wire: an aliasing resampler (np.interp) would
    # fold it to 6 kHz at nearly full level; soxr removes it.
    high = np.stack([tone(10000, 48000, 1.0)] * 2, axis=1).astype("<f4").tobytes()
    folded = StreamConverter(fmt).convert(high, last=True)[2000:14000].astype(np.float64)
    assert np.sqrt(np.mean(folded**2)) / 32768 < 0.005


def test_wire_format_passes_through() -> None:
    x = np.array([1, 2, -3], dtype=np.int16)
    assert np.array_equal(StreamConverter(CaptureFormat(16000, 1)).convert(x.tobytes()), x)


def test_queue_drops_the_oldest_and_counts_it() -> None:
    q = BlockQueue(bytes_per_second=100, capacity_s=1.0)  # 100 bytes
    wakes = [q.push(bytes([i]) * 40, float(i)) for i in range(5)]
    assert wakes == [True, False, False, False, False]  # one wake-up until drained
    blocks = q.drain()
    assert [b.arrived_at for b in blocks] == [3.0, 4.0]  # newest kept: latency stays bounded
    assert q.dropped == 3
    assert q.push(b"x") is True  # drained: the next push wakes the consumer again


def test_queue_is_thread_safe() -> None:
    q = BlockQueue(bytes_per_second=10**9)
    def producer() -> None:
        for _ in range(2000):
            q.push(b"ab")
    threads = [threading.Thread(target=producer) for _ in range(4)]
    for t in threads:
        t.start()
    got = 0
    while any(t.is_alive() for t in threads):
        got += len(q.drain())
    for t in threads:
        t.join()
    got += len(q.drain())
    assert got == 8000 and q.dropped == 0


def test_history_slices_by_absolute_index_across_wraps() -> None:
    h = SampleHistory(10)
    h.append(np.arange(7, dtype=np.int16))
    h.append(np.arange(7, 15, dtype=np.int16))
    assert h.total == 15 and h.oldest == 5
    assert h.slice(8, 13).tolist() == [8, 9, 10, 11, 12]
    assert h.slice(0, 7).tolist() == [5, 6]  # clamped to what is still held
    h.append(np.arange(100, 125, dtype=np.int16))  # a block bigger than the buffer
    assert h.slice(h.total - 3, h.total).tolist() == [122, 123, 124]
