"""Recorded voice blobs (`file_base64_data`) to 16 kHz mono s16le: a WAV file, or WebM/Opus or
Ogg/Opus as RAVATAR's official web demo records them (MediaRecorder, `audio/webm;codecs=opus`).
Compressed ones are decoded with PyAV, which comes with aiortc (the `stream` extra)."""

from __future__ import annotations

import importlib
import io
from typing import Any

import numpy as np

from ravatar_live.simulator.audio import SAMPLE_RATE, UnusableAudioError, is_wav, wav_to_pcm16k

OGG_MAGIC = b"OggS"
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # EBML, the container WebM (and Matroska) files start with


def blob_to_pcm16k(blob: bytes) -> bytes:
    """The blob's audio as 16 kHz mono s16le, or UnusableAudioError saying why not."""
    if is_wav(blob):
        return wav_to_pcm16k(blob)
    if blob[:4] in (OGG_MAGIC, WEBM_MAGIC):
        return _compressed_to_pcm16k(blob, "Ogg" if blob[:4] == OGG_MAGIC else "WebM")
    raise UnusableAudioError(
        "file_base64_data is neither a WAV file (RIFF/WAVE) nor WebM or Ogg audio")


def _compressed_to_pcm16k(blob: bytes, container: str) -> bytes:
    try:
        av: Any = importlib.import_module("av")  # optional: installed with aiortc
    except ImportError as exc:
        raise UnusableAudioError(
            f"file_base64_data holds {container} audio; decoding it needs PyAV "
            "(pip install aiortc), which this simulator lacks: send WAV instead") from exc
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(blob), mode="r") as media:
            if not media.streams.audio:
                raise UnusableAudioError(f"file_base64_data is {container} without audio")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in media.decode(media.streams.audio[0]):
                chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except av.error.FFmpegError as exc:
        raise UnusableAudioError(
            f"file_base64_data is not readable {container} audio ({exc.strerror or exc})") from exc
    if not chunks:
        raise UnusableAudioError(f"file_base64_data is {container} audio with no samples")
    return np.concatenate(chunks).astype("<i2").tobytes()
