"""Echo cancellation on the capture path: the far-end timeline, WebRTC's AEC3 (the real livekit
APM) against a simulated loudspeaker-to-microphone path, half-duplex without a reference, and
hands-free as a whole: the avatar's own voice opens no take, the user talking over it does.

The microphone is ``ManualCapture`` (a real device cannot be driven sample-exactly here; the
PulseAudio echo path with the real app is in tests/e2e/test_echo_e2e.py). The avatar's and the
user's voices are espeak-ng speech.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, replace

import numpy as np
import pytest
import soxr

from ravatar_live.audio.echo import EchoGuard
from ravatar_live.audio.echo_gate import HALF_DUPLEX_FLOOR_DBFS, GatedVad, dbfs
from ravatar_live.audio.far_end import FarEndReference
from ravatar_live.audio.far_end_web import (
    FAR_END_PREFIX,
    WEB_LEAD_S,
    AvatarAudible,
    FarEndBlock,
    PageClock,
    parse_far_end,
)
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.settings import TakeSettings, VoiceSettings
from ravatar_live.audio.vad import make_vad
from ravatar_live.audio.voice import VoiceController
from tests.support.echo_path import echo_of, erle_db
from tests.support.speech_synth import espeak_available, synthesize
from tests.unit.test_audio_voice import ManualCapture, Recorder, settle, wait_phase

BLOCK = SAMPLE_RATE // 50  # 20 ms, like PortAudio's blocks
T0 = 1000.0                # the simulated timeline's start (monotonic seconds)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Voices:
    avatar: list[Int16Array]
    user: list[Int16Array]


@pytest.fixture(scope="module")
def voices() -> Voices:
    if not espeak_available():
        pytest.fail("espeak-ng is required (Debian: apt-get install espeak-ng)")
    return Voices(
        avatar=[synthesize(t, voice="en-gb", speed=165, level_rms=0.12) for t in (
            "Hello! How can I help you today? I can tell you about our opening hours.",
            "That is a very good question. Let me think about it for a moment.")],
        user=[synthesize(t, voice="en-us", speed=150, level_rms=0.08) for t in (
            "Please tell me a story", "What time do you open tomorrow?")])


def timeline(parts: list[Int16Array], gap_s: float, lead_s: float = 0.5) -> Int16Array:
    gap = np.zeros(round(gap_s * SAMPLE_RATE), np.int16)
    out = [np.zeros(round(lead_s * SAMPLE_RATE), np.int16)]
    for part in parts:
        out += [part, gap]
    return np.concatenate(out)


# ------------------------------------------------------------------ the far-end timeline
def test_far_end_lays_blocks_on_one_timeline_despite_jitter() -> None:
    ref = FarEndReference()
    rng = np.random.default_rng(1)
    sound = (rng.standard_normal(48000) * 4000).astype(np.int16)
    stereo = np.stack([sound, sound], axis=1)
    for k in range(50):  # 20 ms blocks at 48 kHz whose stamps jitter by up to 2 ms
        ref.feed(stereo[k * 960:(k + 1) * 960], 48000, T0 + k * 0.02 + rng.uniform(-2e-3, 2e-3))
    got = ref.read(T0 + 0.1, 8000).astype(np.float64)
    want = soxr.resample(sound.astype(np.float32), 48000, SAMPLE_RATE)[1600:9600]
    # the same sound, 100 ms in, within 2 ms (the resampler's delay and the first stamp's jitter)
    lags = range(-32, 33)
    corr = [float(np.dot(np.roll(got, lag), want)
                  / (np.linalg.norm(got) * np.linalg.norm(want))) for lag in lags]
    assert max(corr) > 0.95, max(corr)
    assert not ref.read(T0 - 1.0, 160).any()      # before anything played: silence
    assert not ref.read(T0 + 5.0, 160).any()      # after: silence
    ref.feed(stereo[:960], 48000, T0 + 3.0)       # a jump: a new stretch at its own time
    assert ref.read(T0 + 3.0 + 0.005, 80).any() and ref.alive


def test_far_end_reads_what_was_laid_last_in_each_place_across_the_ring_s_wrap() -> None:
    """The ring (4 s, read and written in runs of slots, zeros at once past the last sound)
    against a plain map of slot -> (index, sample): blocks that continue, jump back and
    forward, silent and loud, reads across the wrap, before and past what was laid."""
    ref = FarEndReference()
    capacity = 4 * SAMPLE_RATE
    held: dict[int, tuple[int, int]] = {}
    rng = np.random.default_rng(7)
    at = 10 * capacity
    for _ in range(400):
        if rng.random() < 0.25:  # a new stretch, well away from the join tolerance
            at += int(rng.choice([-1, 1])) * int(rng.integers(1000, 2 * capacity))
        size = int(rng.integers(1, 9000))
        block = (np.zeros(size, np.int16) if rng.random() < 0.4
                 else rng.integers(-3000, 3000, size, dtype=np.int16))
        ref.feed(block, SAMPLE_RATE, at / SAMPLE_RATE)
        for i, sample in enumerate(block[-capacity:].tolist(), start=at + max(0, size - capacity)):
            held[i % capacity] = (i, sample)
        at += size
        start = at + int(rng.integers(-capacity - 3000, capacity))
        if rng.random() < 0.3:  # across the ring's end
            start = (start // capacity) * capacity - int(rng.integers(0, 2000))
        count = int(rng.integers(0, 3000))
        want = [held.get(i % capacity, (None, 0))[1] if held.get(i % capacity, (None, 0))[0] == i
                else 0 for i in range(start, start + count)]
        got = ref.read(start / SAMPLE_RATE, count)
        assert got.dtype == np.int16 and got.tolist() == want
    ref.feed(np.full(100, 7, np.int16), SAMPLE_RATE, at / SAMPLE_RATE)
    assert ref.read((at + 99) / SAMPLE_RATE, 2).tolist() == [7, 0]  # the last sound, then none


def test_far_end_knows_when_the_avatar_speaks() -> None:
    clock = Clock()
    ref = FarEndReference(clock=clock)
    assert not ref.alive and not ref.avatar_speaking
    ref.note_avatar_audible()                      # a player's level report, no audio
    assert ref.avatar_speaking and not ref.alive
    clock.now += 2.0
    assert not ref.avatar_speaking
    loud = np.full(1600, 3000, np.int16)
    ref.feed(loud, SAMPLE_RATE, clock.now)
    ref.read(clock.now, 1)
    assert ref.avatar_speaking and ref.alive


# ------------------------------------------------------------------ AEC3 itself
def run_guard(guard: EchoGuard, far: Int16Array, mic: Int16Array) -> Int16Array:
    """Feed the far end block by block just before the microphone block of the same time."""
    out = []
    for k in range(mic.size // BLOCK):
        block = slice(k * BLOCK, (k + 1) * BLOCK)
        guard.far_end.feed(far[block], SAMPLE_RATE, T0 + k * BLOCK / SAMPLE_RATE)
        cleaned, _ = guard.process(mic[block], T0 + (k + 1) * BLOCK / SAMPLE_RATE)
        out.append(cleaned)
    return np.concatenate(out)


@pytest.mark.parametrize("delay_s", [0.03, 0.15, 0.3])
def test_aec3_removes_the_echo_at_real_device_delays(voices: Voices, delay_s: float) -> None:
    far = timeline(voices.avatar * 2, 0.4)
    mic = echo_of(far, delay_s=delay_s, gain_db=-6.0, rng=np.random.default_rng(2))
    cleaned = run_guard(EchoGuard(), far, mic)
    settled = SAMPLE_RATE * 3  # AEC3 finds the delay and adapts within the first seconds
    erle = erle_db(mic[settled:cleaned.size], cleaned[settled:])
    assert len(erle) >= 10
    print(f"delay {delay_s * 1000:.0f} ms: ERLE median {np.median(erle):.1f} dB")
    assert np.median(erle) > 20, erle


def test_off_passes_the_microphone_through_untouched(voices: Voices) -> None:
    guard = EchoGuard()
    guard.configure(echo_cancellation=False, noise_suppression=False)
    mic = voices.user[0]
    out, at = guard.process(mic, T0)
    assert out is mic and at == T0 and guard.protection == "off"


def test_protection_follows_the_reference_and_the_setting() -> None:
    clock = Clock()
    guard = EchoGuard(FarEndReference(clock=clock))
    seen: list[str] = []
    guard.on_protection.connect(seen.append)
    guard.process(np.zeros(BLOCK, np.int16), clock.now)
    assert guard.protection == "half-duplex"        # nothing to cancel with yet
    guard.far_end.feed(np.zeros(BLOCK, np.int16), SAMPLE_RATE, clock.now)
    guard.process(np.zeros(BLOCK, np.int16), clock.now)
    assert guard.protection == "echo-cancellation"
    clock.now += 5.0                                 # the player stopped handing audio over
    guard.process(np.zeros(BLOCK, np.int16), clock.now)
    guard.configure(echo_cancellation=False, noise_suppression=True)
    assert seen == ["echo-cancellation", "half-duplex", "off"]


def test_without_the_livekit_wheel_it_falls_back_to_half_duplex(voices: Voices) -> None:
    def missing(**_settings: bool) -> object:
        raise ImportError("No module named 'livekit'")  # what a missing wheel raises

    clock = Clock()
    guard = EchoGuard(FarEndReference(clock=clock), apm_factory=missing)  # type: ignore[arg-type]
    loud = np.full(BLOCK, 3000, np.int16)
    guard.far_end.feed(loud, SAMPLE_RATE, clock.now)   # the native player's tap feeds it
    mic = voices.user[0][:BLOCK * 3]
    out, at = guard.process(mic, clock.now)
    assert out is mic and at == clock.now and guard.apm_missing  # untouched, nothing lost
    assert guard.protection == "half-duplex"
    assert guard.speech_floor() == pytest.approx(dbfs(HALF_DUPLEX_FLOOR_DBFS))


# ------------------------------------------------------------------ half-duplex
def test_half_duplex_needs_a_loud_confirmed_voice_while_the_avatar_speaks(
        voices: Voices) -> None:
    active = [True]
    vad = GatedVad(make_vad("webrtc"),
                   lambda: dbfs(HALF_DUPLEX_FLOOR_DBFS) if active[0] else None)
    n = vad.frame_samples

    def speech_frames(samples: Int16Array) -> int:
        vad.reset()
        return sum(vad.probability(samples[i:i + n]) > 0.5
                   for i in range(0, samples.size - n + 1, n))

    quiet_echo = (voices.avatar[0].astype(np.float32) * 0.1).astype(np.int16)  # ~ -38 dBFS
    loud_user = (voices.user[1].astype(np.float32) * 2.5).astype(np.int16)     # ~ -14 dBFS
    assert speech_frames(quiet_echo) == 0
    assert speech_frames(loud_user) > 20
    active[0] = False                                 # the avatar is quiet: the plain VAD
    assert speech_frames(quiet_echo) > 20


# ------------------------------------------------------------------ hands-free as a whole
async def hands_free_over(far: Int16Array, mic: Int16Array, settings: VoiceSettings, *,
                          feed_reference: bool = True) -> tuple[Recorder, VoiceController]:
    """The controller listening to `mic` while the avatar plays `far`, in real 20 ms blocks."""
    capture = ManualCapture()
    capture.t = T0
    # One clock for the takes and the far end: the simulated timeline's.
    voice = VoiceController(capture, settings, loop=asyncio.get_running_loop(),
                            clock=lambda: capture.t)
    rec = Recorder(voice)
    voice.start_listening()
    await wait_phase(voice)
    for k in range(mic.size // BLOCK):
        block = slice(k * BLOCK, (k + 1) * BLOCK)
        if feed_reference:
            voice.echo.far_end.feed(far[block], SAMPLE_RATE, T0 + k * BLOCK / SAMPLE_RATE)
        elif far[block].any():
            voice.echo.far_end.note_avatar_audible()
        capture.t = T0 + (k + 1) * BLOCK / SAMPLE_RATE
        capture.deliver(mic[block])
        await settle()
    voice.close()
    return rec, voice


def hands_free(**changes: object) -> VoiceSettings:
    # No end-of-turn model: the hangover alone ends takes (faster, and not what is tested).
    return replace(VoiceSettings(mode="vad", takes=replace(TakeSettings(), turn=None)),
                   **changes)  # type: ignore[arg-type]


async def test_the_avatar_does_not_answer_itself(voices: Voices) -> None:
    far = timeline(voices.avatar * 3, 0.8)
    mic = echo_of(far, delay_s=0.12, gain_db=-3.0, rng=np.random.default_rng(3))
    with_aec, _ = await hands_free_over(far, mic, hands_free())
    without, _ = await hands_free_over(far, mic, hands_free(echo_cancellation=False))
    print(f"self-takes over {len(voices.avatar) * 3} avatar replies: "
          f"{len(with_aec.takes)} with echo cancellation, {len(without.takes)} without")
    assert with_aec.takes == [] and with_aec.chunks == []
    assert with_aec.yields == []  # nor does it pause for its own echo
    assert len(without.takes) >= 3, "the simulated echo must be loud enough to matter"


async def test_barge_in_the_user_is_heard_over_the_avatar(voices: Voices) -> None:
    """One sentence over each of the avatar's second to fourth replies: each is taken. (The
    residual echo is not learned from the user's own voice: it once was, and the floor rose
    over the user until every other barge-in was held back.)"""
    replies = voices.avatar * 4
    far = timeline(replies, 0.5)
    mic = echo_of(far, delay_s=0.12, gain_db=-3.0,
                  rng=np.random.default_rng(4)).astype(np.int32)
    # After the first reply AEC3 has converged (in its first seconds its suppressor chops a
    # voice as loud as the echo; measured: an utterance 4 s in is missed).
    reply_starts = np.cumsum([0.5] + [r.size / SAMPLE_RATE + 0.5 for r in replies])
    users = [voices.user[0], voices.user[1], voices.user[0]]
    for start_s, user in zip(reply_starts[1:4] + 1.0, users, strict=True):
        start = round(start_s * SAMPLE_RATE)
        mic[start:start + user.size] += user
    mic16 = np.clip(mic, -32768, 32767).astype(np.int16)
    rec, voice = await hands_free_over(far, mic16, hands_free())
    assert len(rec.takes) == 3, f"{len(rec.takes)} takes"
    # The avatar was asked to pause for each sentence, and to go on after it.
    assert rec.yields == [True, False] * 3
    assert not voice.avatar_yields
    assert voice.echo.echo_heard  # the echo was found: AEC3's output went out


async def test_headphones_the_users_voice_over_the_avatar_goes_out_untouched(
        voices: Voices) -> None:
    """No echo reaches the microphone: AEC3 never converges, and while the avatar speaks its
    suppressor takes the user's voice for echo (measured: 3 of 25 words recognised). Once the
    guard has heard the microphone not rise while the avatar speaks, it sends it as it is."""
    replies = voices.avatar * 2
    far = timeline(replies, 0.5, lead_s=2.5)  # the quiet floor is heard first
    mic = np.random.default_rng(5).normal(0, 10, far.size).astype(np.int32)
    start = round((2.5 + replies[0].size / SAMPLE_RATE + 0.5 + 1.0) * SAMPLE_RATE)
    user = voices.user[1]
    mic[start:start + user.size] += user
    mic16 = np.clip(mic, -32768, 32767).astype(np.int16)
    rec, voice = await hands_free_over(far, mic16, hands_free())
    assert len(rec.takes) == 1, f"{len(rec.takes)} takes"
    assert not voice.echo.echo_heard
    assert mic16[start:start + user.size].tobytes() in rec.takes[0][0]


async def test_half_duplex_without_a_reference(voices: Voices) -> None:
    """No reference (a web view whose audio cannot be tapped): the avatar's quiet echo opens no
    take, a user speaking up over it does."""
    far = timeline(voices.avatar * 2, 0.5)
    rng = np.random.default_rng(5)
    mic = echo_of(far, delay_s=0.12, gain_db=-16.0, rng=rng).astype(np.int32)
    user = (voices.user[1].astype(np.float32) * 3).astype(np.int32)  # speaking up
    start = round(4.0 * SAMPLE_RATE)
    mic[start:start + user.size] += user
    mic16 = np.clip(mic, -32768, 32767).astype(np.int16)
    rec, voice = await hands_free_over(far, mic16, hands_free(), feed_reference=False)
    assert voice.echo.protection == "half-duplex"
    assert len(rec.takes) == 1


def test_a_late_reference_is_waited_for(voices: Voices) -> None:
    """The web view posts each block after rendering it: the microphone frames wait (bounded)
    until their reference is there, and the echo is still removed."""
    far = timeline(voices.avatar * 2, 0.4)
    mic = echo_of(far, delay_s=0.05, gain_db=-6.0, rng=np.random.default_rng(6))
    guard = EchoGuard()
    late = 6  # the reference of block k arrives with microphone block k + 6 (120 ms later)
    out = []
    for k in range(mic.size // BLOCK):
        if k >= late:
            j = k - late
            guard.far_end.feed(far[j * BLOCK:(j + 1) * BLOCK], SAMPLE_RATE,
                               T0 + j * BLOCK / SAMPLE_RATE)
        cleaned, _ = guard.process(mic[k * BLOCK:(k + 1) * BLOCK],
                                   T0 + (k + 1) * BLOCK / SAMPLE_RATE)
        out.append(cleaned)
    cleaned = np.concatenate(out)
    held = mic.size // BLOCK * BLOCK - cleaned.size
    assert BLOCK * (late - 1) <= held <= BLOCK * (late + 1)  # waited for, not dropped
    settled = SAMPLE_RATE * 3
    erle = erle_db(mic[settled:cleaned.size], cleaned[settled:])
    assert np.median(erle) > 20, erle


def test_far_end_messages_from_the_web_view() -> None:
    clock = PageClock()
    pcm = base64.b64encode(np.arange(1600, dtype="<i2").tobytes()).decode()
    block = parse_far_end(FAR_END_PREFIX + json.dumps(
        {"v": 1, "t": 5000.0, "rate": 16000, "pcm": pcm}), 100.020, clock)
    assert isinstance(block, FarEndBlock) and block.samples.size == 1600
    # arrival 20 ms after the page's 5 s: played from 5 s less 100 ms of audio, stamped early
    assert block.played_at == pytest.approx(100.020 - 0.1 - WEB_LEAD_S)
    # a later message that took longer to arrive does not move the clock later
    late = parse_far_end(FAR_END_PREFIX + json.dumps(
        {"t": 5100.0, "rate": 16000, "pcm": pcm}), 100.300, clock)
    assert isinstance(late, FarEndBlock)
    assert late.played_at == pytest.approx(100.120 - 0.1 - WEB_LEAD_S)
    assert isinstance(parse_far_end(FAR_END_PREFIX + '{"audible": true}', 1.0, clock),
                      AvatarAudible)
    # With "sent", the clock is set by when the message was posted, and "t" (when its last
    # sample reaches the speaker, 150 ms after it was posted) keeps its distance from it.
    speaker = PageClock()
    ahead = parse_far_end(FAR_END_PREFIX + json.dumps(
        {"t": 5150.0, "sent": 5000.0, "rate": 16000, "pcm": pcm}), 100.020, speaker)
    assert isinstance(ahead, FarEndBlock)
    assert ahead.played_at == pytest.approx(100.170 - 0.1 - WEB_LEAD_S)
    # A block of silence comes as its length alone.
    quiet = parse_far_end(FAR_END_PREFIX + json.dumps(
        {"t": 5200.0, "rate": 48000, "silent": 4096}), 100.400, clock)
    assert isinstance(quiet, FarEndBlock) and quiet.sample_rate == 48000
    assert quiet.samples.dtype == np.int16 and quiet.samples.size == 4096
    assert not quiet.samples.any()
    for bad in ("ravatar-stats {}", FAR_END_PREFIX + "not json", FAR_END_PREFIX + "[1]",
                FAR_END_PREFIX + '{"t": 1, "rate": 16000}',  # neither pcm nor silent
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "silent": 0}',
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "silent": true}',
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "silent": 1.5}',
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "silent": 48001}',
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "silent": 4, "pcm": 7}',
                FAR_END_PREFIX + '{"t": "x", "rate": 16000, "pcm": ""}',
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "pcm": "%%%"}',
                FAR_END_PREFIX + '{"t": 1, "rate": 16000, "pcm": "AA=="}',  # odd bytes
                FAR_END_PREFIX + '{"t": NaN, "rate": 16000, "pcm": "AAAA"}',
                FAR_END_PREFIX + '{"t": 1, "rate": 1, "pcm": "AAAA"}',
                FAR_END_PREFIX + '{"t": 1, "sent": "x", "rate": 16000, "pcm": "AAAA"}'):
        assert parse_far_end(bad, 1.0, clock) is None, bad
