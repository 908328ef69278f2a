"""VoiceController: the one Qt-free façade the UI binds to for everything voice.

Build it once on the loop thread (qasync) with a capture backend (``capture_default``) and
connect its listeners: ``on_level`` (rms, peak in 0..1, ~20/s), ``on_state`` (a VoiceState),
``on_mic_phase`` (closed/opening/open), ``on_take_started`` (the take is real: audio may go
out), ``on_pcm_chunk`` (base64 of one 4096-sample chunk), ``on_take_finished`` (wav,
push_to_talk, streamed: send the WAV as one blob unless every chunk already went out) and
``on_error`` (a CaptureError with a readable ``user_message``) and ``on_avatar_yield`` (True
while the avatar's playback should pause for the user, see below). Callbacks run on the loop
thread; one that raises is logged, never fatal.

Nothing here blocks the loop on the device: the microphone opens, switches and closes on its own
worker thread (``microphone.py``; state ``opening`` meanwhile). A failure (no microphone, device
busy or lost mid-take) arrives on ``on_error`` with the microphone closed and state ``idle``;
``set_device(other_id)`` and ``start_listening()`` recover with no restart.

* ``start_listening()`` opens the mic (the meter runs); in ``"vad"`` mode it also listens for
  takes. ``stop_listening()`` closes it and drops a take in progress. ``set_device(id)`` (None:
  the system default) switches an open mic (a take is dropped).
* ``set_mode("vad" | "push-to-talk" | "record")`` works at any time; leaving ``vad`` mid-take
  finishes that take normally.
* Hands-free: listening -> speech -> take_started (enough speech) -> chunks -> sending ->
  take_finished -> listening. Clicks and coughs send nothing; the end-of-turn model judges each
  pause (``hands_free.py``); while the avatar speaks a take is held until judged not to be its
  echo (``echo_check.py``).
* Barge-in: a hands-free take confirmed (enough speech) while the avatar is audible, with echo
  protection on (unless the avatar's echo opened a take lately: ``EchoGuard.avatar_may_pause``),
  asks the players to pause the avatar's sound until the take ends, sent or dropped
  (``on_avatar_yield``). The avatar itself stops only when the take reaches the
  service, after the echo check; until then the user would talk over it, and words said over
  the avatar's echo are the ones the recogniser loses (tests/e2e/test_echo_e2e.py). A take
  the avatar's own echo opened lets it be heard again as soon as the check finds it follows
  the avatar's voice, or when it ends (it soon does: the pause silenced what opened it).
* ``press()`` / ``release()``: push-to-talk in any mode (the VAD pauses); a hold shorter than
  ``tap_s`` sends nothing. ``start_recording()`` / ``stop_recording()``: record-and-send;
  shorter than ``min_record_s`` sends nothing. Either opens the mic if needed.
* Every take is capped at ``takes.max_take_s`` (15 s); after a capped manual take the matching
  release is a no-op. ``stream_pcm`` (default) streams chunks while the user speaks; False sends
  one WAV per take.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from ravatar_live.audio.capture import AudioCapture, AudioDevice
from ravatar_live.audio.echo import EchoGuard
from ravatar_live.audio.echo_check import ECHO_LIKENESS
from ravatar_live.audio.errors import AudioError, CaptureError
from ravatar_live.audio.far_end import FarEndReference
from ravatar_live.audio.hands_free import Confirmed, Ended, HandsFree, Speech
from ravatar_live.audio.history import SampleHistory
from ravatar_live.audio.level_meter import LevelMeter
from ravatar_live.audio.listeners import Listeners
from ravatar_live.audio.microphone import MicPhase, Microphone
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.settings import VoiceMode, VoiceSettings, VoiceState
from ravatar_live.audio.take_audio import TakeAudio, TakeOutput
from ravatar_live.audio.turn_judge import TurnJudge, default_turn_judge
from ravatar_live.audio.vad import Vad, make_vad

log = logging.getLogger(__name__)

_HISTORY = SAMPLE_RATE * 4  # pre-roll and VAD lag fit comfortably in 4 s


class VoiceController:
    """Microphone -> level / VAD / takes -> PCM chunks or WAV, as a small state machine."""

    def __init__(self, capture: AudioCapture, settings: VoiceSettings | None = None, *,
                 loop: asyncio.AbstractEventLoop | None = None,
                 vad_factory: Callable[[VoiceSettings], Vad] | None = None,
                 turn_judge_factory: Callable[[], TurnJudge] = default_turn_judge,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_level: Listeners[[float, float]] = Listeners("level")
        self.on_state: Listeners[[VoiceState]] = Listeners("state")
        self._output = TakeOutput(lambda: self._settings.stream_pcm)
        self.on_take_started = self._output.on_take_started
        self.on_pcm_chunk = self._output.on_pcm_chunk
        self.on_take_finished = self._output.on_take_finished
        self.on_error: Listeners[[CaptureError]] = Listeners("error")
        self.on_source_ended: Listeners[[]] = Listeners("source_ended")  # finite sources only
        self.on_mic_phase: Listeners[[MicPhase]] = Listeners("mic_phase")  # closed/opening/open
        self.on_avatar_yield: Listeners[[bool]] = Listeners("avatar_yield")

        self._settings = (settings or VoiceSettings()).validated()
        self._clock = clock
        self._mic = Microphone(
            capture, loop, on_audio=self._on_audio, on_phase=self._on_phase,
            on_error=self._on_mic_error, on_source_ended=self._source_ended,
            stall_timeouts=lambda: (self._settings.first_audio_timeout_s,
                                    self._settings.stall_timeout_s), clock=clock)
        # Its far_end is fed by the players (see live/echo_reference).
        self.echo = EchoGuard(FarEndReference(clock=clock))
        self.echo.configure(echo_cancellation=self._settings.echo_cancellation,
                            noise_suppression=self._settings.noise_suppression)
        make = vad_factory or (lambda s: make_vad(
            s.vad_backend, webrtc_aggressiveness=s.webrtc_aggressiveness))
        self._hands_free = HandsFree(lambda s: self.echo.guard_vad(make(s)), turn_judge_factory)
        self._device_id: str | None = None
        self._state: VoiceState = "idle"
        self._history = SampleHistory(_HISTORY)
        self._meter = LevelMeter()
        self._take: TakeAudio | None = None
        self._yield_to: TakeAudio | None = None  # the take the avatar pauses for
        self.avatar_yields = False
        self._last_audio_at = 0.0

    # ---------------------------------------------------------------- properties
    @property
    def settings(self) -> VoiceSettings:
        return self._settings

    @property
    def mode(self) -> VoiceMode:
        return self._settings.mode

    @property
    def state(self) -> VoiceState:
        return self._state

    @property
    def mic_open(self) -> bool:
        return self._mic.phase == "open"

    @property
    def mic_phase(self) -> MicPhase:
        return self._mic.phase

    @property
    def device_id(self) -> str | None:
        return self._device_id

    @property
    def last_chunk_captured_at(self) -> float:
        """Monotonic arrival of the last sent chunk's final sample (for latency figures)."""
        return self._output.last_chunk_captured_at

    @property
    def capture(self) -> AudioCapture:
        return self._mic.capture

    @property
    def turn_model_failure(self) -> str:
        """Why hands-free runs without the end-of-turn model; empty when it is in use (or not
        loaded yet)."""
        judge = self._hands_free.turn_judge
        return judge.failure if judge is not None else ""

    # ---------------------------------------------------------------- devices
    def list_devices(self) -> list[AudioDevice]:
        try:
            return self._mic.list_devices()
        except CaptureError as exc:
            self.on_error.emit(exc)
            return []

    def set_device(self, device_id: str | None) -> None:
        """Use ``device_id`` from now on; an open microphone switches to it (off the loop)."""
        self._device_id = device_id
        if self._mic.phase != "closed":
            self._mic.open(device_id)

    # ---------------------------------------------------------------- settings / modes
    def set_settings(self, settings: VoiceSettings) -> None:
        """Apply new settings (raises SettingsError if invalid); a new VAD backend or new take
        parameters re-arm the detector."""
        settings = settings.validated()
        old = self._settings
        self._settings = settings
        self.echo.configure(echo_cancellation=settings.echo_cancellation,
                            noise_suppression=settings.noise_suppression)
        if settings.mode != old.mode:
            self._apply_mode(old.mode)
        elif (settings.vad_backend, settings.webrtc_aggressiveness, settings.takes) != (
                old.vad_backend, old.webrtc_aggressiveness, old.takes):
            self._hands_free.disarm()
            if self.mic_open and settings.mode == "vad" and self._take is None:
                self._arm_vad()

    def set_mode(self, mode: VoiceMode) -> None:
        self.set_settings(replace(self._settings, mode=mode))

    def _apply_mode(self, old: VoiceMode) -> None:
        take = self._take
        if old == "vad" and take is not None and not take.manual:
            self._end_vad_take_now()
        if not self._mode_is_vad():
            self._hands_free.disarm()
        if self._mode_is_vad() and self.mic_open and self._take is None:
            self._arm_vad()
        elif self._take is None:
            self._set_state(self._resting_state())

    # ---------------------------------------------------------------- listening
    def start_listening(self) -> None:
        """Open the microphone (it opens in the background: state ``opening``) and, in vad
        mode, listen for takes once it is open."""
        if self._mic.phase == "closed":
            self._mic.open(self._device_id)
        elif self.mic_open and self._mode_is_vad() and self._take is None \
                and not self._hands_free.armed:
            self._arm_vad()

    def stop_listening(self) -> None:
        self._mic.close()
        self._set_state("idle")

    def close(self) -> None:
        """Release the device and the end-of-turn model's thread; call on app shutdown."""
        self._mic.shutdown()
        self._set_state("idle")
        self._hands_free.close()

    # ---------------------------------------------------------------- push-to-talk / record
    def press(self) -> None:
        self._start_manual(push_to_talk=True)

    def release(self) -> None:
        self._stop_manual(push_to_talk=True)

    def start_recording(self) -> None:
        self._start_manual(push_to_talk=False)

    def stop_recording(self) -> None:
        self._stop_manual(push_to_talk=False)

    def _start_manual(self, *, push_to_talk: bool) -> None:
        if self._take is not None and self._take.manual:
            return  # already recording (key auto-repeat, double clicks)
        if self._mic.phase == "closed":
            self._mic.open(self._device_id)  # the take gathers audio once it is open
        if self._take is not None:  # a hands-free take in progress: finish it first
            self._end_vad_take_now()
        self._hands_free.disarm()  # the VAD pauses during a manual take
        take = TakeAudio(manual=True, push_to_talk=push_to_talk, started_wall=self._clock())
        take.confirmed = not push_to_talk  # a recording is real at once; a press after tap_s
        self._take = take
        self._set_state("recording")
        if take.confirmed:
            self._output.on_take_started.emit()

    def _stop_manual(self, *, push_to_talk: bool) -> None:
        take = self._take
        if take is None or not take.manual or take.push_to_talk != push_to_talk:
            return  # nothing held (a capped take already ended), or the other button
        held = self._clock() - take.started_wall
        self._mic.drain()           # everything captured up to the release belongs to the take
        if self._take is not take:  # capped or failed while draining
            return
        too_short = (held < self._settings.tap_s) if push_to_talk else (
            take.samples < self._settings.min_record_s * SAMPLE_RATE)
        if too_short:
            log.info("%s too short (%.0f ms): nothing sent",
                     "push-to-talk tap" if push_to_talk else "recording", held * 1000)
            self._take = None
            self._after_take()
            return
        if not take.confirmed:
            self._output.confirm(take)
        self._finish(take)

    # ---------------------------------------------------------------- microphone events
    def _on_phase(self, phase: MicPhase) -> None:
        if phase != "open":  # closed, or reopening on another device
            self._hands_free.disarm()
            if self._take is not None:
                log.info("take dropped: the microphone was closed")
                self._take = None
        else:
            self.echo.restart()
            # Backends that know their input latency say so (PortAudio does).
            self.echo.input_latency_s = getattr(self._mic.capture, "input_latency_s", 0.0)
        if phase == "open" and self._mode_is_vad() and self._take is None:
            self._arm_vad()
        else:
            self._set_state(self._resting_state())
        self.on_mic_phase.emit(phase)

    def _on_mic_error(self, error: CaptureError) -> None:
        self._set_state("idle")
        self.on_error.emit(error)

    def _arm_vad(self) -> None:
        try:
            self._hands_free.arm(self._settings, self._history.total)
        except AudioError as exc:
            self.on_error.emit(exc if isinstance(exc, CaptureError)
                               else CaptureError(exc.user_message))
            self._set_state("idle")
            return
        self._set_state("listening")

    def _source_ended(self) -> None:
        if self._take is not None and not self._take.manual:
            for event in self._hands_free.finish():
                if isinstance(event, Ended) and event.accepted and self._take is not None:
                    self._finish(self._take)
        self._mic.close()
        self._set_state("idle")
        self.on_source_ended.emit()

    # ---------------------------------------------------------------- audio path (loop thread)
    def _on_audio(self, raw: Int16Array, raw_arrived_at: float) -> None:
        # Waiting for a press, the audio goes only to the level meter: it need not be cleaned.
        needed = self._take is not None or self._hands_free.armed
        samples, arrived_at = self.echo.process(raw, raw_arrived_at, needed=needed)
        if samples.size == 0:
            return
        self._last_audio_at = arrived_at
        self._history.append(samples)
        level = self._meter.feed(samples)
        if level is not None:
            self.on_level.emit(*level)
        take = self._take
        if take is not None and take.manual:
            self._manual_audio(take, samples, arrived_at)
        elif self._hands_free.armed:
            self._vad_audio(samples, arrived_at)

    def _manual_audio(self, take: TakeAudio, samples: Int16Array, arrived_at: float) -> None:
        cap = round(self._settings.takes.max_take_s * SAMPLE_RATE)
        part = samples[:cap - take.samples]
        take.add(part)
        if not take.confirmed and self._clock() - take.started_wall >= self._settings.tap_s:
            self._output.confirm(take, arrived_at)
        elif take.confirmed:
            self._output.stream(take, part, arrived_at)
        if take.samples >= cap:
            log.info("take capped at %.1f s", self._settings.takes.max_take_s)
            self._finish(take)

    def _vad_audio(self, samples: Int16Array, arrived_at: float) -> None:
        for event in self._hands_free.push(samples):
            if isinstance(event, Speech):
                take = TakeAudio(manual=False, push_to_talk=False, started_wall=self._clock())
                take.upto = event.start
                self._take = take
                self._set_state("speech")
            elif isinstance(event, Confirmed) and self._take is not None:
                if self.echo.avatar_may_pause and self.echo.far_end.avatar_speaking:
                    self._yield_to = self._take  # not for a click: it holds enough speech
                    self._sync_yield()
                self._take.echo_check = self.echo.protection == "echo-cancellation"
                if not self._take.echo_check:
                    self._output.confirm(self._take, arrived_at)
            elif isinstance(event, Ended) and self._take is not None:
                take = self._take
                self._extend_vad_take(take, event.closed, arrived_at)
                if event.accepted and self._not_echo(take, arrived_at, final=True):
                    self._finish(take)
                elif self._take is take:
                    self._take = None
                    self._set_state("listening")
        current = self._take
        if current is not None:
            self._extend_vad_take(current, self._hands_free.position, arrived_at)
            if current.echo_check:
                self._not_echo(current, arrived_at, final=False)

    def _not_echo(self, take: TakeAudio, arrived_at: float, *, final: bool) -> bool:
        """A take held for the echo check: confirmed once judged the user's (True), dropped
        when judged the avatar's echo (False: listening afresh, the detector forgets it)."""
        if not take.echo_check:
            return True
        end = arrived_at - (self._history.total - take.upto) / SAMPLE_RATE
        verdict = self.echo.judge_take(take, end, final=final)
        if verdict == "wait" and take.echo_likeness >= ECHO_LIKENESS and self._yield_to is take:
            self._yield_to = None  # it follows the avatar's voice: let the avatar be heard
            self._sync_yield()
        if verdict == "echo":
            self._take = None
            self._arm_vad()
            return False
        if verdict == "voice":
            self._output.confirm(take, arrived_at)
        return True

    def _extend_vad_take(self, take: TakeAudio, upto: int, arrived_at: float) -> None:
        if upto <= take.upto:
            return
        part = self._history.slice(take.upto, upto)
        take.upto = upto
        take.add(part)
        if take.confirmed:
            self._output.stream(take, part, arrived_at)

    def _end_vad_take_now(self) -> None:
        """Close a hands-free take where the audio is now (mode switch, manual take)."""
        take = self._take
        self._take = None
        if take is None or not self._hands_free.armed:
            return
        self._extend_vad_take(take, self._hands_free.position, self._last_audio_at)
        if take.confirmed:
            self._take = take
            self._finish(take)

    # ---------------------------------------------------------------- take output
    def _finish(self, take: TakeAudio) -> None:
        self._set_state("sending")
        if self._take is take:
            self._take = None
        self._output.finish(take)
        self._after_take()

    def _after_take(self) -> None:
        if self.mic_open and self._mode_is_vad():
            self._arm_vad()
        else:
            self._set_state(self._resting_state())

    # ---------------------------------------------------------------- small helpers
    def _mode_is_vad(self) -> bool:
        return self._settings.mode == "vad"

    def _resting_state(self) -> VoiceState:
        take = self._take
        if take is not None:
            return "recording" if take.manual else "speech"
        if self._mic.phase == "opening":
            return "opening"
        return "listening" if (self.mic_open and self._mode_is_vad()
                               and self._hands_free.armed) else "idle"

    def _set_state(self, state: VoiceState) -> None:
        if state != self._state:
            self._state = state
            self.on_state.emit(state)
        self._sync_yield()  # every change of take comes with a state set

    def _sync_yield(self) -> None:
        """The avatar pauses while the take that opened over it lasts."""
        yields = self._yield_to is not None and self._take is self._yield_to
        if not yields:
            self._yield_to = None
        if yields != self.avatar_yields:
            self.avatar_yields = yields
            self.on_avatar_yield.emit(yields)
