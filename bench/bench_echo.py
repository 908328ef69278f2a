"""Echo cancellation (audio/echo.py): what it removes, what it costs, what it delays, and what
it means for hands-free, on espeak-ng voices through a simulated loudspeaker-to-microphone path
(tests/support/echo_path.py: device delay, a small room, attenuation, microphone noise).

Figures: ERLE (median over 0.5 s windows once AEC3 has converged) at several device delays;
CPU per 10 ms frame added by the APM (echo cancellation + noise suppression, and noise
suppression alone); latency added on the capture path (frame re-blocking and the APM's own
delay); self-takes over 10 avatar replies with echo cancellation on and off; barge-in rate over
the avatar once AEC3 has converged; the echo check (audio/echo_check.py): its cost per
judgement, and self-takes over an echo later than AEC3 reaches (0.9 s) with and without it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ravatar_live.audio import echo as echo_module
from ravatar_live.audio.capture_apm import ApmFactory, make_apm
from ravatar_live.audio.echo import FRAME, EchoGuard
from ravatar_live.audio.echo_check import CHECK_S, MAX_DELAY_S, echo_likeness
from ravatar_live.audio.echo_gate import rms
from ravatar_live.audio.echo_presence import EchoPresence
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.vad import Vad, make_vad
from ravatar_live.simulator.transcriber import Transcriber
from tests.support.echo_path import echo_of, erle_db
from tests.support.speech_synth import pink_noise, synthesize
from tests.unit.test_echo import BLOCK, T0, Voices, hands_free, hands_free_over, timeline

if TYPE_CHECKING:
    from livekit.rtc import AudioFrame

AVATAR = ("Hello! How can I help you today? I can tell you about our opening hours.",
          "That is a very good question. Let me think about it for a moment.")
USER = ("Please tell me a story", "What time do you open tomorrow?", "Where is the station",
        "Can you help me please", "I would like a coffee")


def run(guard: EchoGuard, far: Int16Array, mic: Int16Array, block: int = BLOCK, *,
        vad: Vad | None = None, needed: bool = True) -> tuple[Int16Array, float, list[float]]:
    """The guard over `mic` with `far` as reference; cleaned audio, CPU seconds, and how long
    each block's newest sample waited before it came out (re-blocking). With `vad`, the
    guard's gate hears the cleaned audio as hands-free's would (so the guard knows when the
    user talks). ``needed=False``: push-to-talk waiting for a press."""
    gate = guard.guard_vad(vad) if vad is not None else None
    unheard = np.zeros(0, np.int16)  # cleaned samples the gate has not had yet
    out, waits, cpu = [], [], 0.0
    for k in range(mic.size // block):
        part = slice(k * block, (k + 1) * block)
        guard.far_end.feed(far[part], SAMPLE_RATE, T0 + k * block / SAMPLE_RATE)
        arrived = T0 + (k + 1) * block / SAMPLE_RATE
        t = time.process_time()
        cleaned, end = guard.process(mic[part], arrived, needed=needed)
        cpu += time.process_time() - t
        out.append(cleaned)
        waits.append(arrived - end)
        if gate is not None:
            unheard = np.concatenate((unheard, cleaned))
            whole = unheard.size - unheard.size % gate.frame_samples
            for at in range(0, whole, gate.frame_samples):
                gate.probability(unheard[at:at + gate.frame_samples])
            unheard = unheard[whole:]
    return np.concatenate(out), cpu, waits


def apm_delay_ms(voice: Int16Array) -> float:
    """The APM's own delay on the near-end voice (no echo): the lag of the best correlation."""
    guard = EchoGuard()
    cleaned, _, _ = run(guard, np.zeros_like(voice), voice)
    x, y = voice[:cleaned.size].astype(np.float64), cleaned.astype(np.float64)
    lags = range(0, 400)
    corr = [float(np.dot(x[:x.size - lag], y[lag:])) for lag in lags]
    return int(np.argmax(corr)) * 1000 / SAMPLE_RATE


async def hands_free_figures(voices: Voices) -> None:
    far = timeline(voices.avatar * 5, 0.8)  # 10 replies, no user speech
    mic = echo_of(far, delay_s=0.12, gain_db=-3.0, rng=np.random.default_rng(3))
    on, _ = await hands_free_over(far, mic, hands_free())
    off, _ = await hands_free_over(far, mic, hands_free(echo_cancellation=False))
    print(f"self-takes over 10 avatar replies (echo -3 dB, 120 ms): {len(on.takes)} with echo "
          f"cancellation, {len(off.takes)} without")
    # Barge-in: one user sentence 1 s into each avatar reply from the third on (AEC3 has
    # converged), the user's voice at -22 dBFS.
    far = timeline(voices.avatar * 6, 0.5)
    reply_s = [a.size / SAMPLE_RATE + 0.5 for a in voices.avatar * 6]
    starts = np.cumsum([0.5, *reply_s])[2:-1] + 1.0
    for gain_db in (-3.0, -9.0, -15.0):
        mic32 = echo_of(far, delay_s=0.12, gain_db=gain_db,
                        rng=np.random.default_rng(4)).astype(np.int32)
        for i, start in enumerate(starts):
            user = voices.user[i % len(voices.user)]
            at = round(start * SAMPLE_RATE)
            mic32[at:at + user.size] += user
        rec, _ = await hands_free_over(far, np.clip(mic32, -32768, 32767).astype(np.int16),
                                       hands_free())
        print(f"barge-in, echo at {gain_db:.0f} dB (the user {-3.5 - gain_db:+.1f} dB to it): "
              f"{len(rec.takes)} takes for {len(starts)} utterances")


async def echo_check_figures(voices: Voices) -> None:
    window, before = round(CHECK_S * SAMPLE_RATE), round(MAX_DELAY_S * SAMPLE_RATE)
    far = timeline(voices.avatar * 2, 0.4)
    echo = echo_of(far, delay_s=0.3, gain_db=-3.0, rng=np.random.default_rng(5))
    best = min(_seconds(lambda: echo_likeness(echo[before:before + window],
                                              far[:before + window])) for _ in range(20))
    print(f"echo check: {best * 1e3:.2f} ms per judgement of {CHECK_S:.1f} s, two per check "
          f"(what the canceller let through, and the raw microphone); once per take held, "
          f"then every 0.4 s while it lasts")
    # The echo 0.9 s late over 10 replies, after one ordinary reply AEC3 converged on.
    first = timeline(voices.avatar[:1], 0.8)
    later = timeline(voices.avatar * 5, 0.8, lead_s=0.0)
    rng = np.random.default_rng(6)
    mic = np.concatenate([echo_of(first, delay_s=0.12, gain_db=-3.0, rng=rng),
                          echo_of(later, delay_s=0.9, gain_db=-3.0, rng=rng)])
    far = np.concatenate([first, later])
    checked, voice = await hands_free_over(far, mic, hands_free())
    limit = echo_module.ECHO_LIKENESS
    echo_module.ECHO_LIKENESS = 2.0  # the check never says echo
    try:
        unchecked, _ = await hands_free_over(far, mic, hands_free())
    finally:
        echo_module.ECHO_LIKENESS = limit
    print(f"self-takes over 10 replies with the echo 0.9 s late: {len(checked.takes)} with the "
          f"echo check ({voice.echo.echo_takes_dropped} takes dropped), "
          f"{len(unchecked.takes)} without")


class SuppressorInTheCanceller:
    """The APM as it was before capture_apm.py: one module cancelling and suppressing noise
    on every frame (the second stage passes its audio on)."""

    def __init__(self, *, echo_cancellation: bool, noise_suppression: bool) -> None:
        self._apm = make_apm(echo_cancellation=True, noise_suppression=True) \
            if echo_cancellation else None

    def process_reverse_stream(self, frame: AudioFrame) -> None:
        if self._apm is not None:
            self._apm.process_reverse_stream(frame)

    def set_stream_delay_ms(self, delay_ms: int) -> None:
        if self._apm is not None:
            self._apm.set_stream_delay_ms(delay_ms)

    def process_stream(self, frame: AudioFrame) -> None:
        if self._apm is not None:
            self._apm.process_stream(frame)


# A way of processing the microphone: name, APM stages, noise suppression, echo presence.
Way = tuple[str, ApmFactory, bool, type[EchoPresence]]


class EchoAlwaysHeard(EchoPresence):
    """The guard as it was before echo_presence.py: AEC3's output goes on, echo or none."""

    def _judge(self) -> bool:
        return True


async def double_talk_words(voices: Voices) -> None:
    """Words the simulator's recogniser makes out of 20 user sentences spoken 1.5 s into the
    avatar's talking (its echo at -6 dB, 150 ms); of the same sentences in pink noise at
    10 dB SNR and in a quiet room (-70 dBFS hiss) with the avatar silent; and over the avatar
    heard in headphones (no echo; the room heard quiet for 2.5 s first); three ways of
    suppressing noise."""
    texts = USER * 4
    users = voices.user * 4
    starts = [round((3.0 + 4.0 * i) * SAMPLE_RATE) for i in range(len(users))]
    far = timeline(voices.avatar * (len(users) + 2), 0.3)[:starts[-1] + 4 * SAMPLE_RATE]
    echo = echo_of(far, delay_s=0.15, gain_db=-6.0, rng=np.random.default_rng(7))
    noise = pink_noise(far.size, np.random.default_rng(8)).astype(np.float64)
    hiss = np.random.default_rng(9).normal(0, 32768 * 10 ** (-70 / 20), far.size)
    late = np.concatenate([np.zeros(round(2.5 * SAMPLE_RATE), np.int16), far])[:far.size]
    scenes = {"over the avatar": (far, echo.astype(np.float64)),
              "in noise": (np.zeros_like(far), noise * rms(users[0]) * 10 ** (-10 / 20)),
              "quiet room": (np.zeros_like(far), hiss),
              "headphones": (late, hiss)}
    ways: list[Way] = [
        ("suppressor steps aside (the app)", make_apm, True, EchoPresence),
        ("suppressor always on", SuppressorInTheCanceller, True, EchoPresence),
        ("no suppressor", make_apm, False, EchoPresence),
    ]
    always: list[Way] = [("AEC3's output though no echo comes", make_apm, True, EchoAlwaysHeard)]
    transcriber = Transcriber()
    total = sum(len(t.split()) for t in texts)
    print(f"words recognised (simulator's recogniser, {len(texts)} sentences, {total} words):")
    for scene, (reference, background) in scenes.items():
        mic = background.copy()
        for at, user in zip(starts, users, strict=True):
            mic[at:at + user.size] += user
        mic16 = np.clip(np.rint(mic), -32768, 32767).astype(np.int16)
        for way, factory, suppress, presence in ways + (always if scene == "headphones" else []):
            guard = EchoGuard(apm_factory=factory, presence=presence())
            guard.configure(echo_cancellation=True, noise_suppression=suppress)
            cleaned, _, _ = run(guard, reference, mic16, vad=make_vad("silero"))
            words = 0
            for at, user, text in zip(starts, users, texts, strict=True):
                heard = await transcriber.transcribe(
                    cleaned[at - SAMPLE_RATE // 10:at + user.size + SAMPLE_RATE // 5].tobytes())
                words += sum(w in (heard or "").lower().split() for w in text.lower().split())
            print(f"  {scene:<16} {way:<34} {words:3d}")


def _seconds(job: Callable[[], object]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def main() -> None:
    voices = Voices(
        avatar=[synthesize(t, voice="en-gb", speed=165, level_rms=0.12) for t in AVATAR],
        user=[synthesize(t, voice="en-us", speed=150, level_rms=0.08) for t in USER])
    far = timeline(voices.avatar * 3, 0.4)
    settled = SAMPLE_RATE * 3
    print("ERLE (median over 0.5 s windows after the first 3 s), echo at -6 dB:")
    for delay_ms in (30, 150, 300):
        mic = echo_of(far, delay_s=delay_ms / 1000, gain_db=-6.0, rng=np.random.default_rng(2))
        cleaned, _, _ = run(EchoGuard(), far, mic)
        erle = erle_db(mic[settled:cleaned.size], cleaned[settled:])
        print(f"  device delay {delay_ms:3d} ms: {np.median(erle):5.1f} dB "
              f"(min {min(erle):.1f}, {len(erle)} windows)")

    mic = echo_of(far, delay_s=0.15, gain_db=-6.0, rng=np.random.default_rng(2))
    frames = mic.size // FRAME
    silent = np.zeros_like(far)
    hiss = np.random.default_rng(3).normal(0, 30, far.size).astype(np.int16)
    print("CPU per 10 ms frame (best of 3):")
    for label, aec, ns, played, heard, needed in (
            ("echo cancellation + noise suppression", True, True, far, mic, True),
            ("the same, the avatar silent (canceller at rest)", True, True, silent, hiss, True),
            ("the same, push-to-talk waiting for a press", True, True, silent, hiss, False),
            ("noise suppression only", False, True, far, mic, True),
            ("off (pass-through)", False, False, far, mic, True)):
        best = min(_cpu(played, heard, aec, ns, needed) for _ in range(3))
        print(f"  {label:<48} {best / frames * 1e6:7.1f} us  "
              f"({best / frames / 0.01 * 100:.2f}% of one core)")

    print("Latency added on the capture path:")
    for block in (BLOCK, 1024):  # 20 ms (PortAudio here) and an odd 64 ms device block
        _, _, waits = run(EchoGuard(), far, mic, block)
        print(f"  re-blocking into 10 ms frames, {block}-sample blocks: mean "
              f"{np.mean(waits) * 1000:.1f} ms, max {max(waits) * 1000:.1f} ms")
    print(f"  the APM's own delay on the voice: {apm_delay_ms(voices.user[1]):.1f} ms")
    asyncio.run(hands_free_figures(voices))
    asyncio.run(echo_check_figures(voices))
    asyncio.run(double_talk_words(voices))


def _cpu(far: Int16Array, mic: Int16Array, aec: bool, ns: bool, needed: bool) -> float:
    guard = EchoGuard()
    guard.configure(echo_cancellation=aec, noise_suppression=ns)
    return run(guard, far, mic, needed=needed)[1]


if __name__ == "__main__":
    main()
