"""A simulated loudspeaker-to-microphone path, for the echo canceller's tests and bench: the
avatar's voice delayed by the device latency, through a small room (a direct path and an
exponentially decaying tail), attenuated, plus a little microphone noise."""

from __future__ import annotations

import numpy as np

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array


def room_response(rng: np.random.Generator, *, rt60_s: float = 0.15,
                  length_s: float = 0.12) -> np.ndarray:
    n = round(length_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s) * 0.3
    tail[0] = 1.0  # the direct path
    return tail / np.sqrt(np.sum(tail ** 2))


def echo_of(far: Int16Array, *, delay_s: float, gain_db: float, rng: np.random.Generator,
            noise_dbfs: float = -70.0) -> Int16Array:
    """What the microphone hears of `far` played on the speaker (same length as `far`)."""
    delayed = np.concatenate([np.zeros(round(delay_s * SAMPLE_RATE)), far.astype(np.float64)])
    echo = np.convolve(delayed, room_response(rng))[: far.size] * 10 ** (gain_db / 20)
    echo += rng.standard_normal(far.size) * 32768 * 10 ** (noise_dbfs / 20)
    return np.clip(np.rint(echo), -32768, 32767).astype(np.int16)


def power_db(samples: np.ndarray) -> float:
    x = samples.astype(np.float64)
    return float(10 * np.log10(np.mean(x * x) + 1e-9))


def erle_db(mic: np.ndarray, cleaned: np.ndarray, *, window: int = SAMPLE_RATE // 2,
            active_dbfs: float = -50.0) -> list[float]:
    """Echo return loss enhancement of each window where the echo is active (dB)."""
    out = []
    floor = 20 * np.log10(32768) + active_dbfs
    for start in range(0, min(mic.size, cleaned.size) - window + 1, window):
        a, b = mic[start:start + window], cleaned[start:start + window]
        if power_db(a) > floor:
            out.append(power_db(a) - power_db(b))
    return out
