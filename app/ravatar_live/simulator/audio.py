"""Audio handling for voice requests: WAV blobs to 16 kHz mono s16le, PCM chunk checks, levels,
the float-to-int16 rule."""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import wave

import numpy as np
import soxr

SAMPLE_RATE = 16000
CHUNK_BYTES = 8192  # 4096 samples of s16le (PROTOCOL.md section 4)


class UnusableAudioError(ValueError):
    """Audio the simulator cannot use; str() is a notice fit for the client."""


def decode_base64(data: object, field: str) -> bytes:
    """Strict base64 (no data: prefix, no junk) or UnusableAudioError."""
    if not isinstance(data, str) or not data:
        raise UnusableAudioError(f"{field} must be a non-empty base64 string")
    if data.startswith("data:"):
        raise UnusableAudioError(f"{field} must be plain base64, without a data: URL prefix")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnusableAudioError(f"{field} is not valid base64") from exc


def check_pcm_chunk(pcm: bytes) -> bool:
    """Validate one Live PCM chunk; True when it is short, i.e. the last of its utterance."""
    if len(pcm) == 0:
        raise UnusableAudioError("audio_base64_pcm chunk is empty")
    if len(pcm) % 2:
        raise UnusableAudioError(
            f"audio_base64_pcm chunk has {len(pcm)} bytes; 16-bit PCM needs an even count")
    if len(pcm) > CHUNK_BYTES:
        raise UnusableAudioError(
            f"audio_base64_pcm chunk has {len(pcm)} bytes; at most {CHUNK_BYTES} "
            "(4096 samples) per chunk")
    return len(pcm) < CHUNK_BYTES


def is_wav(blob: bytes) -> bool:
    """Whether `blob` starts like a RIFF/WAVE file."""
    return blob[:4] == b"RIFF" and blob[8:12] == b"WAVE"


def wav_to_pcm16k(blob: bytes) -> bytes:
    """Decode a WAV file (8/16/24/32-bit integer PCM, any rate and channel count) to 16 kHz mono
    s16le. Anything else raises UnusableAudioError with a plain explanation."""
    if not is_wav(blob):
        raise UnusableAudioError("file_base64_data is not a WAV file (no RIFF/WAVE header)")
    try:
        with wave.open(io.BytesIO(blob), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, RuntimeError, struct.error) as exc:  # wave raises all of these
        detail = str(exc) or "truncated or corrupt chunks"
        raise UnusableAudioError(
            f"file_base64_data is not a readable PCM WAV ({detail})") from exc
    if rate <= 0 or channels <= 0:
        raise UnusableAudioError("file_base64_data WAV header has no sample rate or channels")
    samples = _to_float(frames, width)
    usable = len(samples) - len(samples) % channels
    mono = samples[:usable].reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE and len(mono):
        mono = soxr.resample(mono, rate, SAMPLE_RATE)
    return float_to_pcm16(mono)


def _to_float(frames: bytes, width: int) -> np.ndarray:
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if width == 3:
        raw = np.frombuffer(frames[: len(frames) - len(frames) % 3], dtype=np.uint8)
        triples = raw.reshape(-1, 3).astype(np.int32)
        values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values.astype(np.float32) / float(1 << 23)
    if width == 4:
        return np.frombuffer(frames, dtype="<i4").astype(np.float32) / float(1 << 31)
    raise UnusableAudioError(f"WAV sample width of {width} bytes is not supported")


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Clamp to [-1, 1] and scale by 32767, rounding (the protocol's float-to-int16 rule). NaN
    becomes silence and infinities full scale: casting NaN to an integer is undefined."""
    finite = np.nan_to_num(samples.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.round(np.clip(finite, -1.0, 1.0) * 32767.0).astype("<i2")


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """`float_to_int16` as s16le bytes."""
    return float_to_int16(samples).tobytes()


def describe_pcm(pcm: bytes) -> str:
    """'1.3 s of audio, level -20 dBFS': duration and RMS level of 16 kHz s16le audio."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    seconds = len(samples) / SAMPLE_RATE
    rms = math.sqrt(float(np.mean((samples / 32768.0) ** 2))) if len(samples) else 0.0
    level = "silence" if rms < 1e-5 else f"level {20 * math.log10(rms):.0f} dBFS"
    return f"{seconds:.1f} s of audio, {level}"


def pcm_to_wav(pcm: bytes) -> bytes:
    """Wrap 16 kHz mono s16le in a WAV container."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    return out.getvalue()
