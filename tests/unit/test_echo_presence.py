"""Whether the avatar's voice reaches the microphone (audio/echo_presence.py), and what the
capture path does with the answer (audio/capture_apm.py: the canceller's output is used only
while an echo is heard)."""

from __future__ import annotations

import numpy as np

from ravatar_live.audio.capture_apm import FRAME, PRIMING_FRAMES, CaptureApm
from ravatar_live.audio.echo_presence import EchoPresence
from tests.unit.test_capture_apm import CANCELLED, MarkingStage

rng = np.random.default_rng(7)


def noise(level: float) -> np.ndarray:
    return rng.normal(0, level, FRAME).astype(np.int16)


def feed(presence: EchoPresence, seconds: float, *, speaking: bool, mic_level: float,
         user_talking: bool = False) -> None:
    """`speaking`: the avatar's voice (or its tail) may be reaching the microphone."""
    for _ in range(round(seconds * 100)):
        presence.frame(noise(mic_level), echo_may_come=speaking, user_talking=user_talking)


def learned_no_echo() -> EchoPresence:
    """3 s of the room's hiss, then 3 s of the avatar speaking that does not lift it."""
    presence = EchoPresence()
    feed(presence, 3, speaking=False, mic_level=30)
    feed(presence, 3, speaking=True, mic_level=30)
    assert not presence.heard
    return presence


def test_headphones_no_echo_once_both_levels_are_known() -> None:
    presence = EchoPresence()
    feed(presence, 3, speaking=False, mic_level=30)   # the room's hiss
    assert presence.heard  # nothing known yet of the avatar speaking
    feed(presence, 1, speaking=True, mic_level=30)
    assert presence.heard  # too little of it
    feed(presence, 2, speaking=True, mic_level=35)
    assert not presence.heard


def test_speakers_the_echo_lifts_the_microphone_above_its_floor() -> None:
    presence = EchoPresence()
    feed(presence, 3, speaking=False, mic_level=30)
    feed(presence, 4, speaking=True, mic_level=400)  # the echo, 22 dB above the hiss
    assert presence.heard


def test_an_echo_that_appears_is_heard_within_a_second() -> None:
    presence = learned_no_echo()
    frames = 0
    while not presence.heard:  # the headphones come off: the echo comes in
        feed(presence, 0.01, speaking=True, mic_level=400)
        frames += 1
        assert frames <= 100
    assert frames >= 40  # learned late: the start of a voice must not count as echo


def test_the_users_voice_is_not_taken_for_echo_or_for_the_floor() -> None:
    presence = learned_no_echo()
    # The user talks over the avatar: the gate follows their voice, nothing is learned, and
    # the 0.4 s before the gate opened (their onset) is forgotten too.
    feed(presence, 0.3, speaking=True, mic_level=2000)
    feed(presence, 2, speaking=True, mic_level=2000, user_talking=True)
    assert not presence.heard
    # Talking while the avatar is silent, with the pauses between words, leaves the floor low.
    for _ in range(10):
        feed(presence, 0.7, speaking=False, mic_level=2000)
        feed(presence, 0.3, speaking=False, mic_level=30)
    feed(presence, 3, speaking=True, mic_level=400)
    assert presence.heard


def test_a_new_microphone_assumes_the_echo_again() -> None:
    presence = learned_no_echo()
    presence.reset()
    assert presence.heard


def test_without_an_echo_the_microphone_goes_on_as_it_was_and_the_canceller_keeps_up() -> None:
    MarkingStage.made.clear()
    apm = CaptureApm(echo_cancellation=True, noise_suppression=False, factory=MarkingStage)
    canceller, _high_pass = MarkingStage.made
    voice = np.full(FRAME, 500, np.int16)
    reference = np.full(FRAME, 3000, np.int16)
    out = apm.process(voice, reference, avatar_audible=True, delay_ms=0, cancel=False)
    assert np.array_equal(out, voice)
    # It follows the avatar's voice (handed the newest frames first, as it takes over).
    primed = PRIMING_FRAMES + 1
    assert (canceller.frames, canceller.references, apm.cancelled_frames) == (primed, primed, 1)
    out = apm.process(voice, reference, avatar_audible=True, delay_ms=0)
    assert np.array_equal(out, voice + CANCELLED)
