"""Whisper's log-mel spectrogram in numpy: the input the smart-turn v3 model was trained on.

Published Whisper front end (the paper and its reference code): 16 kHz audio, a 25 ms periodic
Hann window (400 samples) every 10 ms (160 samples) on a centred, reflect-padded signal; the power
spectrum projected onto 80 mel bands (Slaney's mel scale and area normalisation, 0-8 kHz);
log10 with a 1e-10 floor, clipped to 8 decades below the loudest value, then mapped by
(x + 4) / 4 to roughly [-1, 1]. The last STFT frame is dropped, so N samples give N / 160 frames.
Smart-turn v3 also standardises the waveform (zero mean, unit variance) over its fixed 8 s window
first, the window holding the newest 8 s with zeros in front when there is less.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

RATE = 16_000
WINDOW = 400
HOP = 160
MEL_BANDS = 80
_FLOOR = 1e-10
_DYNAMIC_RANGE = 8.0      # decades kept below the maximum
_VARIANCE_EPS = 1e-7

Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

# Slaney's mel scale: linear (200/3 Hz per mel) up to 1 kHz, logarithmic above.
_LINEAR_HZ_PER_MEL = 200.0 / 3.0
_LOG_START_HZ = 1000.0
_LOG_START_MEL = _LOG_START_HZ / _LINEAR_HZ_PER_MEL
_MELS_PER_LOG_HZ = 27.0 / np.log(6.4)


def hz_to_mel(hz: Float64Array) -> Float64Array:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_START_MEL + np.log(np.maximum(hz, _LOG_START_HZ) / _LOG_START_HZ) \
        * _MELS_PER_LOG_HZ
    return np.where(hz < _LOG_START_HZ, linear, logarithmic)


def mel_to_hz(mel: Float64Array) -> Float64Array:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_START_HZ * np.exp((np.maximum(mel, _LOG_START_MEL) - _LOG_START_MEL)
                                         / _MELS_PER_LOG_HZ)
    return np.where(mel < _LOG_START_MEL, linear, logarithmic)


@cache
def mel_filterbank(bands: int = MEL_BANDS, window: int = WINDOW, rate: int = RATE) -> Float64Array:
    """(bands, window // 2 + 1) triangles, each with unit area per Hz (Slaney normalisation)."""
    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(rate / 2)),
                                  bands + 2))
    bins_hz = np.linspace(0.0, rate / 2, window // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bins_hz[None, :]) / (upper - centre)
    triangles = np.clip(np.minimum(rising, falling), 0.0, None)
    return triangles * (2.0 / (upper - lower))


@cache
def _hann() -> Float64Array:
    # Periodic (not symmetric) Hann, as in the STFT Whisper was trained with.
    n = np.arange(WINDOW)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / WINDOW)


def log_mel(audio: npt.ArrayLike) -> Float32Array:
    """(80, len // 160) Whisper log-mel features of float audio at 16 kHz."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size < WINDOW:
        raise ValueError(f"need at least {WINDOW} samples, got {x.size}")
    half = WINDOW // 2
    padded = np.pad(x, half, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2   # (frames, bins)
    # einsum's own loop, not BLAS: a BLAS product here wakes OpenBLAS's thread pool, whose
    # spinning threads cost more CPU than the product (measured in bench/bench_vad.py).
    mel = np.einsum("fb,mb->fm", power[:-1], mel_filterbank())     # (frames - 1, bands)
    logs = np.log10(np.maximum(mel, _FLOOR))
    logs = np.maximum(logs, logs.max() - _DYNAMIC_RANGE)
    return ((logs + 4.0) / 4.0).T.astype(np.float32)


def fixed_window(samples: npt.ArrayLike, seconds: float) -> Float32Array:
    """The newest ``seconds`` of float audio, zeros in front when shorter, standardised."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    n = round(seconds * RATE)
    window = np.zeros(n, dtype=np.float32)
    tail = x[-n:]
    window[n - tail.size:] = tail
    return (window - window.mean()) / np.sqrt(window.var() + _VARIANCE_EPS)
