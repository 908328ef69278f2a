"""The float -> int16 encoder against the documented algorithm, sample by sample."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ravatar_live.audio.errors import AudioFormatError
from ravatar_live.audio.pcm import encode_wire_bytes, float_to_int16, to_int16


def reference(x: float) -> int:
    """PROTOCOL.md 4, literally: clamp to [-1, 1], then round(x * 32767)."""
    return round(max(-1.0, min(1.0, x)) * 32767)


floats = st.floats(min_value=-4.0, max_value=4.0, allow_nan=False, width=64)


@given(st.lists(floats, max_size=300))
def test_encoder_matches_the_documented_algorithm(values: list[float]) -> None:
    got = float_to_int16(np.array(values, dtype=np.float64))
    assert got.dtype == np.int16
    assert got.tolist() == [reference(v) for v in values]


@given(hnp.arrays(np.float32, st.integers(0, 200),
                  elements=st.floats(-2, 2, width=32, allow_nan=False)))
def test_float32_input_matches_too(values: np.ndarray) -> None:
    assert float_to_int16(values).tolist() == [reference(float(v)) for v in values]


def test_clamping_and_rounding_edges() -> None:
    values = [1.0, -1.0, 1.5, -7.0, 0.5 / 32767, 1.5 / 32767, 2.5 / 32767, -0.5 / 32767,
              math.inf, -math.inf]
    assert float_to_int16(values).tolist() == [32767, -32767, 32767, -32767, 0, 2, 2, 0,
                                               32767, -32767]


def test_nan_becomes_silence_not_a_click() -> None:
    assert float_to_int16([math.nan]).tolist() == [0]


def test_wire_bytes_are_little_endian_exactly() -> None:
    data = encode_wire_bytes(np.array([1, -2, 0x1234, -32768], dtype=np.int16))
    assert data == struct.pack("<4h", 1, -2, 0x1234, -32768)
    assert encode_wire_bytes(np.array([0.5, -1.0])) == struct.pack("<2h", 16384, -32767)


def test_big_endian_int16_input_is_written_little_endian() -> None:
    be = np.array([0x0102, -3], dtype=">i2")
    assert encode_wire_bytes(be.astype(np.int16)) == struct.pack("<2h", 0x0102, -3)


@given(hnp.arrays(np.int16, st.integers(0, 300)))
def test_int16_passes_through_untouched(values: np.ndarray) -> None:
    out = to_int16(values)
    assert out.dtype == np.int16
    assert np.array_equal(out, values)


def test_unsupported_dtype_is_a_typed_error() -> None:
    with pytest.raises(AudioFormatError, match="unsupported format"):
        to_int16(np.array(["a"]))
