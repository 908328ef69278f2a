"""The echo check (audio/echo_check.py): what follows the avatar's voice is its echo, even where
the canceller lost it; the user's voice over the echo is not. Simulated loudspeaker-to-microphone
paths (tests/support/echo_path.py) with espeak-ng voices; the last test drives hands-free as a
whole (the real livekit APM) over an echo that comes later than the canceller reaches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from ravatar_live.audio import echo as echo_module
from ravatar_live.audio.echo import FRAME, EchoGuard
from ravatar_live.audio.echo_check import (
    CHECK_S,
    ECHO_LIKENESS,
    MAX_DELAY_S,
    RAW_ECHO_MARGIN,
    REJUDGE_S,
    echo_likeness,
)
from ravatar_live.audio.echo_gate import ResidualEcho
from ravatar_live.audio.far_end import FarEndReference
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.take_audio import TakeAudio
from tests.support.echo_path import echo_of, room_response
from tests.support.speech_synth import espeak_available, synthesize
from tests.unit.test_echo import BLOCK, T0, hands_free, hands_free_over, timeline

WINDOW = round(CHECK_S * SAMPLE_RATE)
BEFORE = round(MAX_DELAY_S * SAMPLE_RATE)


@dataclass
class Voices:
    avatar: Int16Array
    users: list[Int16Array]


@pytest.fixture(scope="module")
def voices() -> Voices:
    if not espeak_available():
        pytest.fail("espeak-ng is required (Debian: apt-get install espeak-ng)")
    avatar = np.concatenate([synthesize(t, voice="en-gb", speed=165, level_rms=0.12) for t in (
        "Hello! How can I help you today? I can tell you about our opening hours.",
        "That is a very good question. Let me think about it for a moment.",
        "We open at nine in the morning and close at six in the evening.")])
    users = [synthesize(t, voice="en-us", speed=150, level_rms=0.08) for t in (
        "Please tell me a story", "What time do you open tomorrow?", "Where is the station")]
    return Voices(avatar, users)


def in_a_room(far: Int16Array, *, delay_s: float, rt60_s: float, seed: int) -> np.ndarray:
    """What the microphone hears of `far` (float, unclipped): delayed, through the room, -3 dB."""
    rng = np.random.default_rng(seed)
    response = room_response(rng, rt60_s=rt60_s, length_s=min(0.5, 1.2 * rt60_s))
    delayed = np.concatenate([np.zeros(round(delay_s * SAMPLE_RATE)), far.astype(np.float64)])
    return np.convolve(delayed, response)[: far.size] * 10 ** (-3 / 20)


def windows(far: Int16Array) -> Iterator[tuple[int, int]]:
    """Half-overlapping judged spans (start, end) with a full reference history before them."""
    for end in range(BEFORE + WINDOW, far.size, WINDOW // 2):
        yield end - WINDOW, end


def as_int16(x: np.ndarray) -> Int16Array:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def judged(likeness: float | None) -> float:
    assert likeness is not None, "a sounding window is always judged"
    return likeness


def loud(x: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) > 300  # about -40 dBFS


@pytest.mark.parametrize(("delay_s", "rt60_s"), [(0.05, 0.15), (0.3, 0.15), (0.8, 0.15),
                                                 (0.3, 0.3)])
def test_the_echo_alone_follows_the_avatars_voice(voices: Voices, delay_s: float,
                                                  rt60_s: float) -> None:
    """What a canceller that lost the echo lets through: the echo itself."""
    far = voices.avatar
    echo = in_a_room(far, delay_s=delay_s, rt60_s=rt60_s, seed=1)
    scores = [judged(echo_likeness(as_int16(echo[a:b]), far[a - BEFORE:b]))
              for a, b in windows(far) if loud(echo[a:b])]
    caught = sum(s >= ECHO_LIKENESS for s in scores)
    print(f"delay {delay_s} s, RT60 {rt60_s} s: median {np.median(scores):.2f}, "
          f"caught {caught}/{len(scores)}")
    assert len(scores) >= 8
    assert caught >= 0.8 * len(scores), sorted(scores)


@pytest.mark.parametrize("user_gain_db", [-6.0, 0.0, 6.0])
def test_a_voice_over_the_echo_is_not_echo(voices: Voices, user_gain_db: float) -> None:
    """The user talking over the avatar, with what a working canceller leaves of the echo (-20
    dB): never judged echo. (Over the raw echo a voice 6 dB below it is mostly echo, and is
    judged so: the check is for what the canceller lets through.)"""
    far = voices.avatar
    echo = in_a_room(far, delay_s=0.15, rt60_s=0.15, seed=2)
    scores = []
    for k, (a, b) in enumerate(windows(far)):
        user = voices.users[k % len(voices.users)][:WINDOW].astype(np.float64)
        voice = np.pad(user, (0, WINDOW - user.size)) * 10 ** (user_gain_db / 20)
        scores.append(judged(echo_likeness(as_int16(voice + 0.1 * echo[a:b]),
                                           far[a - BEFORE:b])))
    print(f"user at {user_gain_db:+.0f} dB: highest {max(scores):.2f}")
    assert len(scores) >= 8
    assert max(scores) < ECHO_LIKENESS, sorted(scores)


def test_silence_noise_and_a_fading_tail(voices: Voices) -> None:
    rng = np.random.default_rng(3)
    far = voices.avatar[:BEFORE + WINDOW]
    noise = as_int16(rng.standard_normal(WINDOW) * 300)
    assert judged(echo_likeness(noise, far)) < ECHO_LIKENESS
    # Too little sounding audio to tell: not judged at all (the take waits for more).
    blip = np.zeros(WINDOW, np.int16)
    blip[:1600] = far[BEFORE:BEFORE + 1600]
    assert echo_likeness(blip, far) is None
    assert echo_likeness(np.zeros(10, np.int16), far) is None


class ChoppingCanceller:
    """Stands in for AEC3 on a starved machine, which cannot be made to misbehave on demand:
    what it lets through has the echo's level but not its shape (each 10 ms frame's spectrum
    shuffled), as measured end to end (there the leak scored 0.08-0.50)."""

    def __init__(self, *, echo_cancellation: bool, noise_suppression: bool) -> None:
        self._rng = np.random.default_rng(11)
        self._chops = echo_cancellation  # the suppressor's stage passes its audio on

    def process_reverse_stream(self, frame: object) -> None:
        pass

    def set_stream_delay_ms(self, delay_ms: int) -> None:
        pass

    def process_stream(self, frame: object) -> None:
        if not self._chops:
            return
        samples = np.frombuffer(frame.data, np.int16)  # type: ignore[attr-defined]
        spectrum = np.fft.rfft(samples)
        chopped = as_int16(np.fft.irfft(self._rng.permutation(spectrum), samples.size))
        frame._data = chopped.tobytes()  # type: ignore[attr-defined]  # AEC3 works in place


def test_a_leak_chopped_by_the_canceller_is_told_by_the_raw_microphone(voices: Voices) -> None:
    far = timeline([voices.avatar], 0.5)
    mic = echo_of(far, delay_s=0.15, gain_db=-3.0, rng=np.random.default_rng(12))
    guard = EchoGuard(FarEndReference(clock=lambda: T0),
                      apm_factory=ChoppingCanceller)
    cleaned: list[Int16Array] = []
    guarded, cleaned_only = [], []
    for k in range(mic.size // BLOCK):
        block = slice(k * BLOCK, (k + 1) * BLOCK)
        guard.far_end.feed(far[block], SAMPLE_RATE, T0 + k * BLOCK / SAMPLE_RATE)
        out, end = guard.process(mic[block], T0 + (k + 1) * BLOCK / SAMPLE_RATE)
        cleaned.append(out)
        if k % 20 or (k + 1) * BLOCK < BEFORE + WINDOW:
            continue  # judged every 0.4 s, with a full reference history
        newest = np.concatenate(cleaned)[-WINDOW:]
        heard = mic[(k + 1) * BLOCK - WINDOW:(k + 1) * BLOCK]
        if not loud(heard):
            continue
        guarded.append(judged(guard.echo_likeness(newest, end)))
        reference = far[(k + 1) * BLOCK - WINDOW - BEFORE:(k + 1) * BLOCK]
        cleaned_only.append(echo_likeness(newest, reference) or 0.0)
    print(f"chopped leak: cleaned alone {np.median(cleaned_only):.2f} median, with the raw "
          f"microphone {np.median(guarded):.2f}")
    assert len(guarded) >= 8
    assert np.median(cleaned_only) < ECHO_LIKENESS  # the scenario matters
    assert sum(g >= ECHO_LIKENESS for g in guarded) >= 0.8 * len(guarded), sorted(guarded)


def test_a_voice_over_an_echo_as_loud_is_not_echo_by_the_raw_microphone(voices: Voices) -> None:
    """The raw microphone holds the whole echo: a user as loud as it must stay under the raw
    judgement's higher bar."""
    far = voices.avatar
    echo = in_a_room(far, delay_s=0.15, rt60_s=0.15, seed=2)
    scores = []
    for k, (a, b) in enumerate(windows(far)):
        user = voices.users[k % len(voices.users)][:WINDOW].astype(np.float64)
        voice = np.pad(user, (0, WINDOW - user.size)) * 10 ** (3 / 20)  # the echo is at -3 dB
        scores.append(judged(echo_likeness(as_int16(voice + echo[a:b]), far[a - BEFORE:b])))
    print(f"user as loud as the echo, raw microphone: highest {max(scores):.2f}")
    assert len(scores) >= 8
    assert max(scores) - RAW_ECHO_MARGIN < ECHO_LIKENESS, sorted(scores)


def echo_beyond_reach(voices: Voices, *, later_replies: int) -> tuple[Int16Array, Int16Array]:
    """The avatar's far end and the microphone: one reply over an ordinary 0.12 s path, then
    ``later_replies`` whose echo comes 0.9 s late, beyond the canceller's reach."""
    first = timeline([voices.avatar], 0.8)
    later = timeline([voices.avatar] * later_replies, 0.8, lead_s=0.0)
    rng = np.random.default_rng(4)
    mic = np.concatenate([echo_of(first, delay_s=0.12, gain_db=-3.0, rng=rng),
                          echo_of(later, delay_s=0.9, gain_db=-3.0, rng=rng)])
    return np.concatenate([first, later]), mic


async def test_hands_free_ignores_an_echo_later_than_the_canceller_reaches(
        voices: Voices, monkeypatch: pytest.MonkeyPatch) -> None:
    """The echo comes 0.9 s after its reference (a Bluetooth speaker, a remote desktop): AEC3's
    delay search covers about half a second, so it cancels nothing, and the residual floor it
    learned over the first reply (an ordinary 0.12 s path) lets the echo through. With the
    check no take is sent; without it (the limit set out of reach) the avatar answers itself."""
    far, mic = echo_beyond_reach(voices, later_replies=1)
    checked, checked_voice = await hands_free_over(far, mic, hands_free())
    monkeypatch.setattr(echo_module, "ECHO_LIKENESS", 2.0)
    unchecked, _ = await hands_free_over(far, mic, hands_free())
    print(f"self-takes over a 0.9 s echo path: {len(checked.takes)} with the check "
          f"({checked_voice.echo.echo_takes_dropped} dropped), {len(unchecked.takes)} without")
    assert len(unchecked.takes) >= 1, "the late echo must get past the canceller"
    assert checked.takes == [] and checked.chunks == []
    assert checked_voice.echo.echo_takes_dropped >= 1


async def test_the_avatar_does_not_pause_again_for_an_echo_the_canceller_leaks(
        voices: Voices, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the echo gets past the canceller (here 0.9 s late, beyond its reach), its takes
    open over the avatar one after another; the check drops each, but each would pause the
    avatar first: a gap in its voice. After the second, the avatar goes on (its echo keeps
    opening takes); without that memory it paused for every one."""
    far, mic = echo_beyond_reach(voices, later_replies=3)
    remembered, voice = await hands_free_over(far, mic, hands_free())
    monkeypatch.setattr(echo_module, "LEAK_MEMORY_S", 0.0)
    forgotten, _ = await hands_free_over(far, mic, hands_free())
    pauses, pauses_without = remembered.yields.count(True), forgotten.yields.count(True)
    print(f"echo takes dropped {voice.echo.echo_takes_dropped}; pauses for them {pauses}, "
          f"without the memory {pauses_without}")
    assert remembered.takes == [] and forgotten.takes == []
    assert pauses <= 2 and pauses_without >= 4


def test_the_residual_floor_ignores_the_canceller_settling_after_the_user_talked() -> None:
    """What the canceller leaves right after double talk is not learned (it once raised the
    floor above the user's voice barge-in after barge-in), and a measured floor never asks more
    than the avatar's own peak level: a louder leak is the echo check's to judge."""
    avatar = np.full(FRAME, 8000, np.int16)            # the reference, about -12 dBFS
    quiet = np.full(FRAME, 80, np.int16)               # a converged canceller's residual
    loud = np.full(FRAME, 8000, np.int16)              # a canceller re-converging

    def learned(after_talk: list[Int16Array], onset: int = 0) -> float | None:
        residual = ResidualEcho()
        for _ in range(300):
            residual.frame(avatar, quiet)
        for _ in range(onset):                         # the user's voice, the gate still shut
            residual.frame(avatar, loud)
        residual.frame(avatar, avatar, learn=False)    # the gate opened: the user talks
        for cleaned in after_talk:
            residual.frame(avatar, cleaned)
        for _ in range(60):                            # the canceller settled again
            residual.frame(avatar, quiet)
        return residual.floor()

    steady = learned([])
    assert steady is not None and steady < 8000 / 10   # the user needs no shouting
    assert learned([], onset=35) == steady             # the voice's onset: forgotten
    assert learned([loud] * 99) == steady              # the second after the talk: skipped
    raised = learned([loud] * 300)                     # a leak that lasts: learned, capped
    assert raised is not None and steady < raised <= 8000 + 1


def test_a_held_take_is_judged_on_its_newest_audio_until_it_ends(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hold's rules (the likeness itself is scripted here): nothing is decided before
    CHECK_S; a window that follows the avatar only holds the take, and a later one that does not
    lets the whole take go; a take that ends having followed the avatar is echo; one that was
    never loud enough to judge goes out (the user's benefit)."""
    scripted: list[float | None] = []
    monkeypatch.setattr(EchoGuard, "echo_likeness", lambda self, audio, end: scripted.pop(0))
    guard = EchoGuard()

    def held(seconds: float) -> TakeAudio:
        take = TakeAudio(manual=False, push_to_talk=False, started_wall=0.0)
        take.add(np.zeros(round(seconds * SAMPLE_RATE), np.int16))
        take.echo_check = True
        return take

    def grow(take: TakeAudio, seconds: float) -> None:
        take.add(np.zeros(round(seconds * SAMPLE_RATE), np.int16))

    take = held(CHECK_S - 0.1)
    assert guard.judge_take(take, 0.0, final=False) == "wait"      # too early: not judged
    grow(take, 0.1)
    scripted[:] = [0.9, 0.8, 0.2]
    assert guard.judge_take(take, 0.0, final=False) == "wait"      # follows the avatar: held
    assert guard.judge_take(take, 0.0, final=False) == "wait"      # not due again yet
    grow(take, REJUDGE_S)
    assert guard.judge_take(take, 0.0, final=False) == "wait"      # still follows it
    grow(take, REJUDGE_S)
    assert guard.judge_take(take, 0.0, final=False) == "voice"     # the user's voice took over
    assert not take.echo_check and scripted == []

    take = held(CHECK_S)
    scripted[:] = [0.7, 0.8]
    assert guard.judge_take(take, 0.0, final=False) == "wait"
    assert guard.judge_take(take, 0.0, final=True) == "echo"       # ended following it
    assert guard.echo_takes_dropped == 1

    take = held(CHECK_S)
    scripted[:] = [None, None]
    assert guard.judge_take(take, 0.0, final=False) == "wait"      # too quiet to tell
    assert guard.judge_take(take, 0.0, final=True) == "voice"
