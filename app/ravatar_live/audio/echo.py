"""Keeps the avatar's voice out of hands-free: WebRTC's audio processing on the capture path, or
half-duplex where there is nothing to cancel with.

Echo cancellation: WebRTC's AEC3 with its high-pass filter, then its noise suppressor, which
steps aside while the avatar speaks (``capture_apm.py``); where no echo reaches the microphone
(headphones, ``echo_presence.py``) the canceller's output is not used. The ``livekit`` wheel's
``rtc.AudioProcessingModule`` runs them (bench/bench_echo.py measures their CPU per 10 ms
frame, while the avatar speaks and while the canceller rests). Each 10 ms microphone frame is
processed with the reference that played at the moment the frame arrived
(``FarEndReference``), so the echo in it comes later than its reference by the device's input
latency plus the acoustic path; the input latency we know is told to the APM
(``set_stream_delay_ms``) and AEC3's delay estimator finds the rest. Runs before the level
meter, the VAD and the encoder, on the loop thread.

Protection, as the UI names it:
* ``echo-cancellation``: on, and a player hands over what it plays;
* ``half-duplex``: on, but no reference (e.g. a web view whose audio cannot be tapped): while the
  avatar is audible, a take opens only on a loud, confident voice held for a moment;
* ``off``: the user turned echo cancellation off (noise suppression may still run).
Without the ``livekit`` wheel nothing is processed: a plain warning is logged and hands-free
uses half-duplex.

With echo cancellation on, what the canceller leaves of the avatar's voice is kept out of
hands-free too (``echo_gate.py``): while the avatar speaks, a take needs a voice clearly above
that residual.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Literal

import numpy as np

from ravatar_live.audio.capture_apm import FRAME, ApmFactory, CaptureApm, make_apm
from ravatar_live.audio.echo_check import (
    CHECK_S,
    ECHO_LIKENESS,
    MAX_DELAY_S,
    RAW_ECHO_MARGIN,
    REJUDGE_S,
    STILL_ECHO_BELOW,
    echo_likeness,
    judged_span,
)
from ravatar_live.audio.echo_gate import (
    HALF_DUPLEX_FLOOR_DBFS,
    SPEAKING_DBFS,
    GatedVad,
    ResidualEcho,
    dbfs,
)
from ravatar_live.audio.echo_presence import EchoPresence
from ravatar_live.audio.far_end import FarEndReference
from ravatar_live.audio.listeners import Listeners
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.take_audio import TakeAudio
from ravatar_live.audio.vad import Vad

log = logging.getLogger(__name__)

EchoProtection = Literal["echo-cancellation", "half-duplex", "off"]
TakeVerdict = Literal["wait", "voice", "echo"]
# A microphone frame waits at most this long for its reference to arrive. The native player's
# tap hands audio over before it plays (no wait); the web view's posts each block after it
# was rendered (its size plus the IPC), so hands-free hears that much later with it.
MAX_REFERENCE_WAIT_S = 0.25
RAW_KEPT = 2 * SAMPLE_RATE  # raw microphone kept for the echo check (it judges 0.8 s)
# This many takes of the avatar's echo within LEAK_MEMORY_S of listening: the canceller leaks,
# and the avatar does not pause for a take that opens over it (``avatar_may_pause``).
LEAKS = 2
LEAK_MEMORY_S = 30.0


APM_MISSING = ("Echo cancellation is unavailable: the 'livekit' package is missing or does "
               "not load (pip install livekit). Hands-free falls back to half-duplex.")


class EchoGuard:
    """The capture path's echo stage; see the module docstring. Loop thread only, except the
    ``far_end`` reference's ``feed``/``note_avatar_audible``."""

    def __init__(self, far_end: FarEndReference | None = None, *,
                 apm_factory: ApmFactory = make_apm,
                 presence: EchoPresence | None = None) -> None:
        self.far_end = far_end or FarEndReference()
        self.on_protection: Listeners[[EchoProtection]] = Listeners("echo_protection")
        self._apm_factory = apm_factory
        self._apm: CaptureApm | None = None
        self.apm_missing = False  # the livekit wheel is not installed: nothing is processed
        self._echo_cancellation = True
        self._noise_suppression = True
        self._carry = np.zeros(0, np.int16)
        self._waiting: deque[tuple[Int16Array, float]] = deque()  # (frame, its start time)
        # The raw microphone behind the newest cleaned audio, for the echo check; its newest
        # sample is the one cleaned last, which arrived at ``_raw_end``.
        self._raw = np.zeros(RAW_KEPT, np.int16)  # a ring, written FRAME by FRAME
        self._raw_written = 0
        self._raw_end = -1e9
        self.input_latency_s = 0.0  # what the capture backend says its input latency is
        self._residual = ResidualEcho()
        self._echo_drops: deque[int] = deque(maxlen=LEAKS)  # ``frames`` at each echo take
        self._presence = presence or EchoPresence()
        self.echo_heard = True  # False: no echo reaches the microphone (headphones)
        self._gate: GatedVad | None = None
        self.frames = 0
        self.frames_waited = 0  # frames nobody needed cleaned (push-to-talk idle)
        self.echo_takes_dropped = 0  # takes judged to be the avatar's echo (echo_check.py)
        self.protection: EchoProtection = "half-duplex"

    def configure(self, *, echo_cancellation: bool, noise_suppression: bool) -> None:
        if (echo_cancellation, noise_suppression) != (self._echo_cancellation,
                                                      self._noise_suppression):
            self._apm = None  # made again, with the new settings, at the next frame
            self._echo_drops.clear()
        self._echo_cancellation = echo_cancellation
        self._noise_suppression = noise_suppression
        self._update_protection()

    def speech_floor(self) -> float | None:
        """The level (int16 RMS) a voice must pass to open a take now; None: no gate."""
        if self.protection == "half-duplex":
            return dbfs(HALF_DUPLEX_FLOOR_DBFS) if self.far_end.avatar_speaking else None
        if self.protection == "echo-cancellation":
            return self._residual.floor()
        return None

    def restart(self) -> None:
        """A new microphone stream: the partial frame of the old one is dropped."""
        self._carry = np.zeros(0, np.int16)
        self._waiting.clear()
        self._residual.reset()
        self._presence.reset()
        self._echo_drops.clear()
        self._raw_written = 0

    def process(self, samples: Int16Array, arrived_at: float, *,
                needed: bool = True) -> tuple[Int16Array, float]:
        """Clean ``samples`` (their last one arrived at ``arrived_at``); returns the 10 ms frames
        ready so far and when the last of them arrived. A partial frame waits for the next
        block; a frame whose reference has not arrived yet waits for it (bounded).
        ``needed=False``: nobody uses the audio now (push-to-talk idle) beyond its level, so
        only the canceller runs, while the avatar's echo may come (``capture_apm.py``)."""
        self._update_protection()
        if not (self._echo_cancellation or self._noise_suppression) or self.apm_missing:
            return samples, arrived_at
        if self._apm is None and not self._make_apm():
            return samples, arrived_at
        buf = np.concatenate((self._carry, samples)) if self._carry.size else samples
        whole = buf.size - buf.size % FRAME
        self._carry = buf[whole:].copy()
        for i in range(0, whole, FRAME):
            self._waiting.append((buf[i:i + FRAME], arrived_at - (buf.size - i) / SAMPLE_RATE))
        known = (self.far_end.covered_until() if self._echo_cancellation and self.far_end.alive
                 else math.inf)
        ready: list[Int16Array] = []
        end = arrived_at
        while self._waiting:
            frame, start = self._waiting[0]
            if start + FRAME / SAMPLE_RATE > known and start > arrived_at - MAX_REFERENCE_WAIT_S:
                break
            self._waiting.popleft()
            ready.append(self._clean(frame, start, needed))
            end = start + FRAME / SAMPLE_RATE
        if not ready:
            return buf[:0], arrived_at
        return np.concatenate(ready), end

    def _clean(self, samples: Int16Array, start: float, needed: bool) -> Int16Array:
        """One 10 ms frame through the APM, with the reference that played from ``start``."""
        apm = self._apm
        assert apm is not None  # made by process() before any frame is cleaned
        reference, level = (self.far_end.read_level(start, FRAME) if self._echo_cancellation
                            else (None, None))  # its level: for the APM and the residual
        cleaned = apm.process(samples, reference, avatar_audible=self.far_end.avatar_speaking,
                              delay_ms=round(self.input_latency_s * 1000),
                              cancel=self.echo_heard, needed=needed, reference_level=level)
        self.frames += 1
        self.frames_waited += not needed
        at = self._raw_written % RAW_KEPT
        self._raw[at:at + FRAME] = samples
        self._raw_written += FRAME
        self._raw_end = start + FRAME / SAMPLE_RATE
        if reference is not None:
            talking = self._gate is not None and self._gate.is_open
            self._residual.frame(reference, cleaned, learn=not talking, reference_level=level)
            self._presence.frame(samples, echo_may_come=self._residual.echo_may_come,
                                 user_talking=talking)
            self._follow_presence()
        return cleaned

    @property
    def avatar_may_pause(self) -> bool:
        """Whether the avatar may pause for a take that opens over it (barge-in, ``voice.py``):
        in half-duplex (a loud, confirmed voice opened it) and where no echo reaches the
        microphone, yes; with the canceller, unless the avatar's own echo opened ``LEAKS``
        takes within ``LEAK_MEMORY_S``. Such a take makes a pause too, a gap in the avatar's
        voice, and where the canceller leaks they come often: measured end to end, the web
        view's echo (which moves by up to 20 ms within a reply, past Chromium's renderer)
        opened 12-21 takes in 10 replies with nobody speaking, 3-13 of them pausing the avatar;
        the native player's 0-2, so one alone says little (a memory of one cost the native
        player a third of its barge-in pauses)."""
        if self.protection == "echo-cancellation":
            memory = LEAK_MEMORY_S * SAMPLE_RATE / FRAME
            leaking = (len(self._echo_drops) == LEAKS
                       and self.frames - self._echo_drops[0] <= memory)
            return not self.echo_heard or not leaking
        return self.protection == "half-duplex"

    def _follow_presence(self) -> None:
        heard = self._presence.heard
        if heard != self.echo_heard:
            self.echo_heard = heard
            log.info("%s", "the avatar's voice reaches the microphone: echo cancelled" if heard
                     else "no echo reaches the microphone (headphones?): it goes out as is")

    def echo_likeness(self, audio: Int16Array, end: float) -> float | None:
        """How closely ``audio`` (cleaned; its last sample arrived at ``end``), or the raw
        microphone behind it, follows what the avatar played over it and up to
        ``MAX_DELAY_S`` before (``echo_check.py``): the higher of the two, the raw one less
        ``RAW_ECHO_MARGIN``; 0.0 when the avatar was silent then, None when the audio is too
        quiet to tell."""
        before = round(MAX_DELAY_S * SAMPLE_RATE)
        count = audio.size + before
        reference, level = self.far_end.read_level(end - count / SAMPLE_RATE, count)
        if level < dbfs(SPEAKING_DBFS):
            return 0.0
        scores = [echo_likeness(audio, reference)]
        raw = self._raw_behind(audio.size, end)
        if raw is not None:
            raw_score = echo_likeness(raw, reference)
            scores.append(None if raw_score is None else raw_score - RAW_ECHO_MARGIN)
        known = [score for score in scores if score is not None]
        return max(known) if known else None

    def _raw_behind(self, count: int, end: float) -> Int16Array | None:
        """The raw microphone samples that were cleaned into the ``count`` ending at ``end``;
        None when they are no longer kept."""
        back = round((self._raw_end - end) * SAMPLE_RATE)
        if back < 0 or back + count > min(RAW_KEPT, self._raw_written):
            return None
        first = self._raw_written - back - count
        return np.take(self._raw, np.arange(first, first + count) % RAW_KEPT)

    def judge_take(self, take: TakeAudio, end: float, *, final: bool) -> TakeVerdict:
        """A hands-free take held for the echo check (its last sample arrived at ``end``). Its
        newest ``CHECK_S`` is judged, and again every ``REJUDGE_S`` while it lasts: "voice" as
        soon as it does not follow the avatar's voice (the whole take goes out, its start
        too); "echo" when it ended (``final``) having followed it; "wait" meanwhile."""
        due = take.samples >= max(round(CHECK_S * SAMPLE_RATE),
                                  take.echo_judged_at + round(REJUDGE_S * SAMPLE_RATE))
        if not (due or final):
            return "wait"
        take.echo_judged_at = take.samples
        span = judged_span(take.samples)
        likeness = None if span is None else self.echo_likeness(take.audio()[-span:], end)
        limit = ECHO_LIKENESS if take.echo_likeness == 0.0 else STILL_ECHO_BELOW
        if likeness is not None and likeness < limit:
            take.echo_check = False
            log.debug("take kept: echo likeness %.2f", likeness)
            return "voice"
        if likeness is not None:
            take.echo_likeness = max(take.echo_likeness, likeness)
        if not final:
            return "wait"
        take.echo_check = False
        if take.echo_likeness < ECHO_LIKENESS:
            return "voice"  # never clearly judged either way: the user's benefit
        self.echo_takes_dropped += 1
        self._echo_drops.append(self.frames)
        log.info("take dropped: it followed the avatar's voice (echo likeness %.2f)",
                 take.echo_likeness)
        return "echo"

    def guard_vad(self, vad: Vad) -> Vad:
        """The hands-free VAD, gated while the avatar speaks (the newest one is watched: while
        it follows the user's voice, the residual echo is not learned from)."""
        self._gate = GatedVad(vad, self.speech_floor)
        return self._gate

    def _make_apm(self) -> bool:
        """Make the APM with the current settings; False when its wheel is missing."""
        try:
            self._apm = CaptureApm(echo_cancellation=self._echo_cancellation,
                                   noise_suppression=self._noise_suppression,
                                   factory=self._apm_factory)
        except (ImportError, OSError):  # no wheel, or its FFI library does not load here
            self.apm_missing = True
            log.warning(APM_MISSING)
            self._update_protection()
            return False
        log.info("audio processing on: echo cancellation %s, noise suppression %s",
                 "on" if self._echo_cancellation else "off",
                 "on" if self._noise_suppression else "off")
        return True

    def _update_protection(self) -> None:
        cancelling = self.far_end.alive and not self.apm_missing
        protection: EchoProtection = (
            "off" if not self._echo_cancellation
            else "echo-cancellation" if cancelling else "half-duplex")
        if protection != self.protection:
            self.protection = protection
            log.info("echo protection: %s", protection)
            self.on_protection.emit(protection)
