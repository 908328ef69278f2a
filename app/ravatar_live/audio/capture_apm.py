"""WebRTC's audio processing on the capture path, in two stages: the echo canceller (AEC3 and
the high-pass filter), then the noise suppressor, whose output is used only while the avatar
is silent.

Why the suppressor steps aside while the avatar speaks: in double talk (the user over what
AEC3 leaves of the avatar's echo) it takes the user's words with the echo. Measured with the
simulator's recogniser on espeak-ng voices, 20 sentences over an echo at -6 dB: 18 of 98 words
recognised with WebRTC's suppressor in the canceller's APM, 23 with it after the canceller, 41
with no suppressor. Without echo it helps: in pink noise at 10 dB SNR, 34 of 46 words with it,
26 without. So the suppressor runs on every frame (its noise estimate stays current), and
while the reference has been loud within ``NS_RESUME_S`` (the avatar's voice and its echo's
tail), what goes on is the canceller's output.

The canceller rests while the avatar does: with the reference quiet for the echo's whole tail
there is nothing to cancel, and AEC3 hands the microphone back high-passed and
``CANCELLER_LAG`` samples late, nothing else (measured: the same as the APM's high-pass filter
alone, to -107 dB). Its three FFI calls cost ~0.2 ms of CPU a frame and the avatar is silent
most of a session, so at rest the microphone is delayed by the same lag and filtered by that
filter alone: in the suppressor's APM, which has the same filter, or where noise suppression is
off in an APM with only the filter (one call a frame either way; a separate filter before the
suppressor filtered twice and cost one more call, ~0.5 % of a core while listening). Each
hand-over is seamless: the one taking over is first handed the newest microphone frames (the
canceller with a silent reference), so its filters' state and what it holds back are what the
other's were. The canceller's echo filter and delay
estimate are kept meanwhile (both of its streams pause together).

Nobody uses the output while push-to-talk or record waits for a press (``needed=False``): then
only the canceller runs, while the avatar's echo may come (a press over the avatar finds it
converged); the stand-in filter and the suppressor wait, and the microphone goes on as it
came (to the level meter). Their calls were ~1.5 % of a core on a 2-core AMD EPYC, most of
what an idle microphone cost. When the output is needed again, they are first handed the
newest ``CATCH_UP_FRAMES`` they missed, so the filter's state and the suppressor's noise
estimate are current at the take's first frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ravatar_live.audio.echo_gate import FULL_SCALE, TAIL_S, EchoTail, rms
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array

if TYPE_CHECKING:
    from livekit.rtc import AudioFrame

FRAME = SAMPLE_RATE // 100  # the APM works on 10 ms frames
# AEC3 hands each frame back this many samples late (8 ms: it works on 64-sample blocks);
# measured on the wheel by tests/unit/test_capture_apm.py.
CANCELLER_LAG = 128
# A canceller that rested is first handed this many of the newest frames: with fewer, what it
# kept from before its rest comes out as a burst in the first frames (measured at -40 dBFS
# with one, -57 with four).
PRIMING_FRAMES = 8
# The stand-in filter and the suppressor, needed again after a wait, first hear this many of the
# newest frames they missed: 2 s, the span WebRTC's noise estimator learns over. Measured on
# noisy speech against a path that never waited (tests/unit/test_capture_apm.py): -36 dB of
# difference with 200 frames, -23 with 100, -17 with one; 30 ms of CPU at the press here.
CATCH_UP_FRAMES = 200
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
    """The two stages for one microphone stream (and the canceller's stand-in at rest). Making
    it raises ImportError or OSError when the livekit wheel is missing or does not load."""

    def __init__(self, *, echo_cancellation: bool, noise_suppression: bool,
                 factory: ApmFactory = make_apm) -> None:
        self._canceller = (factory(echo_cancellation=True, noise_suppression=False)
                           if echo_cancellation else None)
        self._suppressor = (factory(echo_cancellation=False, noise_suppression=True)
                            if noise_suppression else None)
        self._tail = EchoTail()
        # At rest: the canceller's high-pass filter alone (where the suppressor, whose own filter
        # is the same, does not follow), and what it holds back (the lag).
        self._high_pass = (factory(echo_cancellation=False, noise_suppression=False)
                           if echo_cancellation and not noise_suppression else None)
        self._held = np.zeros(CANCELLER_LAG, np.int16)
        # The newest microphone frames, which a stage taking over again is first handed.
        self._recent = deque([np.zeros(FRAME, np.int16)] * CATCH_UP_FRAMES,
                             maxlen=CATCH_UP_FRAMES)
        self._resting = True  # the canceller sat out the last frame
        self._missed = 0  # frames the stand-in filter and the suppressor waited out
        self.waited_frames = 0  # frames nobody needed (for tests, stats)
        self.suppressed_frames = 0  # frames whose suppressed output went on (for tests, stats)
        self.cancelled_frames = 0  # frames the canceller processed

    def process(self, samples: Int16Array, reference: Int16Array | None, *,
                avatar_audible: bool, delay_ms: int, cancel: bool = True,
                needed: bool = True, reference_level: float | None = None) -> Int16Array:
        """One 10 ms frame; ``reference`` is what played from the frame's start (None: echo
        cancellation is off); ``avatar_audible``: a player says the avatar speaks now.
        ``cancel=False`` (no echo reaches the microphone, ``echo_presence.py``): the canceller
        still follows the avatar's voice, ready for an echo, but the microphone goes on as it
        was. ``needed=False``: nobody uses the output now (see the module docstring).
        ``reference_level``: ``rms(reference)``, where the caller has it already."""
        if avatar_audible:
            level = FULL_SCALE
        elif reference is None:
            level = 0.0
        else:
            level = rms(reference) if reference_level is None else reference_level
        self._tail.push(level)
        if not needed:
            out = self._wait(samples, reference, delay_ms, cancel=cancel)
            self._recent.append(samples)
            return out
        if self._missed:
            self._catch_up()
        cleaned = samples
        if self._canceller is not None and reference is not None:
            cancelled = self._cancel(samples, reference, delay_ms)
            if cancel:
                cleaned = cancelled
        self._recent.append(samples)
        if self._suppressor is None:
            return cleaned
        suppressed = run_frame(self._suppressor, cleaned)
        if self._tail.echo_may_come:
            return cleaned
        self.suppressed_frames += 1
        return suppressed

    def _wait(self, samples: Int16Array, reference: Int16Array | None, delay_ms: int, *,
              cancel: bool) -> Int16Array:
        """A frame nobody uses: the canceller follows the avatar's echo, nothing else runs."""
        self._missed += 1
        self.waited_frames += 1
        if self._canceller is None or reference is None:
            return samples
        if not self._tail.echo_may_come:
            self._resting = True  # so it is handed the newest frames when the echo comes
            return samples
        cancelled = self._cancel(samples, reference, delay_ms)
        return cancelled if cancel else samples

    def _catch_up(self) -> None:
        """Hand the stand-in filter and the suppressor the newest frames they missed."""
        missed = list(self._recent)[-min(self._missed, CATCH_UP_FRAMES):]
        self._missed = 0
        for frame in missed:
            filtered = self._filter(frame)
            if self._suppressor is not None:
                run_frame(self._suppressor, filtered)
        self._held = filtered[FRAME - CANCELLER_LAG:]

    def _filter(self, samples: Int16Array) -> Int16Array:
        """The canceller's stand-in at rest: its high-pass filter, unless the suppressor's own
        filter follows."""
        return run_frame(self._high_pass, samples) if self._high_pass is not None else samples

    def _cancel(self, samples: Int16Array, reference: Int16Array,
                delay_ms: int) -> Int16Array:
        """The canceller's output for one frame, or at rest its stand-in's (see the module
        docstring)."""
        canceller = self._canceller
        assert canceller is not None  # called only with echo cancellation on
        if not self._tail.echo_may_come:
            if not self._resting:
                self._resting = True
                self._held = self._filter(self._recent[-1])[FRAME - CANCELLER_LAG:]
            filtered = self._filter(samples)
            out = np.concatenate((self._held, filtered[:FRAME - CANCELLER_LAG]))
            self._held = filtered[FRAME - CANCELLER_LAG:]
            return out
        if self._resting:
            self._resting = False
            silent = np.zeros(FRAME, np.int16)
            for frame in list(self._recent)[-PRIMING_FRAMES:]:
                run_frame(canceller, frame, silent, delay_ms)
        self.cancelled_frames += 1
        return run_frame(canceller, samples, reference, delay_ms)


def run_frame(apm: Apm, samples: Int16Array, reference: Int16Array | None = None,
              delay_ms: int = 0) -> Int16Array:
    """One frame through ``apm``: with a ``reference``, the echo canceller's three calls."""
    from livekit.rtc import AudioFrame  # noqa: PLC0415  (loaded with the APM)

    if reference is not None:
        apm.process_reverse_stream(AudioFrame(reference.tobytes(), SAMPLE_RATE, 1, FRAME))
        apm.set_stream_delay_ms(delay_ms)
    frame = AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, FRAME)
    apm.process_stream(frame)  # in place
    return np.frombuffer(frame.data, np.int16).copy()
