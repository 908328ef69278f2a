"""WebRTC's audio processing on the capture path, in two stages: the echo canceller (AEC3 and
the high-pass filter), then the noise suppressor, whose output is used only while the avatar
is silent.

Why the suppressor steps aside while the avatar speaks: in double talk (the user over what
AEC3 leaves of the avatar's echo) it takes the user's words with the echo. Measured with the
simulator's recogniser on espeak-ng voices, 20 sentences over an echo at -6 dB: 18 of 98 words
recognised with WebRTC's suppressor in the canceller's APM, 23 with it after the canceller, 41
with no suppressor. Without echo it helps: in pink noise at 10 dB SNR, 34 of 46 words with it,
26 without. So both run on every frame (the suppressor's noise estimate stays current), and
while the reference has been loud within ``NS_RESUME_S`` (the avatar's voice and its echo's
tail), what goes on is the canceller's output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ravatar_live.audio.echo_gate import FULL_SCALE, TAIL_S, EchoTail, rms
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array

if TYPE_CHECKING:
    from livekit.rtc import AudioFrame

FRAME = SAMPLE_RATE // 100  # the APM works on 10 ms frames
# The suppressor waits as long after the avatar's last loud frame as its echo may still come.
NS_RESUME_S = TAIL_S


class Apm(Protocol):
    """What is used of the livekit wheel's ``rtc.AudioProcessingModule``."""

    def process_reverse_stream(self, frame: AudioFrame) -> None: ...
    def set_stream_delay_ms(self, delay_ms: int) -> None: ...
    def process_stream(self, frame: AudioFrame) -> None: ...


ApmFactory = Callable[..., Apm]


def make_apm(*, echo_cancellation: bool, noise_suppression: bool) -> Apm:
    """WebRTC's audio processing (imported on first use: the FFI library loads in ~0.2 s).
    Raises ImportError when the livekit wheel is missing."""
    from livekit.rtc import AudioProcessingModule  # noqa: PLC0415

    return AudioProcessingModule(echo_cancellation=echo_cancellation,
                                 noise_suppression=noise_suppression, high_pass_filter=True)


class CaptureApm:
    """The two stages for one microphone stream. Making it raises ImportError or OSError when
    the livekit wheel is missing or does not load."""

    def __init__(self, *, echo_cancellation: bool, noise_suppression: bool,
                 factory: ApmFactory = make_apm) -> None:
        self._canceller = (factory(echo_cancellation=True, noise_suppression=False)
                           if echo_cancellation else None)
        self._suppressor = (factory(echo_cancellation=False, noise_suppression=True)
                            if noise_suppression else None)
        self._tail = EchoTail()
        self.suppressed_frames = 0  # frames whose suppressed output went on (for tests, stats)

    def process(self, samples: Int16Array, reference: Int16Array | None, *,
                avatar_audible: bool, delay_ms: int, cancel: bool = True) -> Int16Array:
        """One 10 ms frame; ``reference`` is what played from the frame's start (None: echo
        cancellation is off); ``avatar_audible``: a player says the avatar speaks now.
        ``cancel=False`` (no echo reaches the microphone, ``echo_presence.py``): the canceller
        still follows every frame, ready for an echo, but the microphone goes on as it was."""
        from livekit.rtc import AudioFrame  # noqa: PLC0415  (loaded with the APM)

        self._tail.push(FULL_SCALE if avatar_audible
                        else rms(reference) if reference is not None else 0.0)
        cleaned = samples
        if self._canceller is not None and reference is not None:
            self._canceller.process_reverse_stream(
                AudioFrame(reference.tobytes(), SAMPLE_RATE, 1, FRAME))
            self._canceller.set_stream_delay_ms(delay_ms)
            frame = AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, FRAME)
            self._canceller.process_stream(frame)  # in place
            if cancel:
                cleaned = np.frombuffer(frame.data, np.int16).copy()
        if self._suppressor is None:
            return cleaned
        frame = AudioFrame(cleaned.tobytes(), SAMPLE_RATE, 1, FRAME)
        self._suppressor.process_stream(frame)
        if self._tail.echo_may_come:
            return cleaned
        self.suppressed_frames += 1
        return np.frombuffer(frame.data, np.int16).copy()
