"""VoiceController: the one Qt-free façade the UI binds to for everything voice.

Guide for the UI
================

Build it once, on the loop thread (qasync), with a capture backend::

    from ravatar_live.audio.voice import VoiceController, default_capture
    from ravatar_live.audio.settings import VoiceSettings

    voice = VoiceController(default_capture(), VoiceSettings(mode="vad"), loop=loop)
    voice.on_level.connect(meter.set_level)     # (rms: float, peak: float), 0..1, ~20/s
    voice.on_state.connect(bar.show_state)      # "idle"|"listening"|"speech"|"recording"|"sending"
    voice.on_take_started.connect(bar.flash)    # () the take is real (confirmed): audio may go out
    voice.on_pcm_chunk.connect(send_chunk)      # (b64: str) -> pcm_chunk_message(ctx, b64)
    voice.on_take_finished.connect(take_done)   # (wav: bytes, push_to_talk: bool, streamed: bool)
    voice.on_error.connect(banner.show_error)   # (CaptureError) -> show err.user_message

    def take_done(wav: bytes, push_to_talk: bool, streamed: bool) -> None:
        if not streamed:   # the take was not streamed as PCM: send it as one WAV blob
            sock_send(wav_message(ctx, base64.b64encode(wav).decode(), push_to_talk=push_to_talk))
        # streamed: every chunk (the last one padded with silence) already went out via
        # on_pcm_chunk; `wav` is the same audio, for a local replay / history only.

Every callback runs on the asyncio loop thread (audio threads hand off with
``loop.call_soon_threadsafe``), so a slot may touch widgets and create tasks directly. Listeners
are plain callables (``Listeners.connect``); a listener that raises is logged, never fatal.

Methods never raise CaptureError: failures (no microphone, device busy, device lost mid-take) are
emitted on ``on_error`` with a readable ``user_message`` and the controller returns to ``idle``
with the microphone closed. Recover with ``set_device(other_id)`` and ``start_listening()``: no
app or live-session restart is needed. Methods that open the mic return True on success.

Microphone and modes
--------------------
* ``list_devices()`` -> ``[AudioDevice(id, name, is_default)]``, default first. ``set_device(id)``
  (None = system default) switches immediately when the mic is open (a take in progress is dropped).
* ``start_listening()`` opens the mic (the level meter runs); in ``"vad"`` mode it also arms
  hands-free detection (state ``listening``). ``stop_listening()`` closes the mic and drops a take
  in progress. Keep the mic open while a session is live: QtMultimedia's first read can take
  seconds.
* ``set_mode("vad" | "push-to-talk" | "record")`` works at any time, also while live. Leaving
  ``vad`` in the middle of a take finishes that take normally.
* Hands-free (``vad``): listening -> speech (VAD heard something) -> take_started (enough speech
  to be a take) -> chunks -> sending -> take_finished -> listening again. Clicks and coughs go
  speech -> listening with nothing sent. When a pause begins, the end-of-turn model judges the
  take so far on its own thread (``turn_judge.py``): a finished sentence closes fast, an
  unfinished one waits (``settings.takes.turn``). ``turn_model_failure`` says, in plain words,
  why the model is not used when it could not load (the hangover alone then ends takes).
* ``press()`` / ``release()``: push-to-talk, usable in any mode (the VAD pauses meanwhile). A hold
  shorter than ``settings.tap_s`` (200 ms) is a tap: nothing is sent. ``push_to_talk=True``.
* ``start_recording()`` / ``stop_recording()``: record-and-send, usable in any mode; a recording
  shorter than ``settings.min_record_s`` sends nothing. ``push_to_talk=False``.
* Every take is capped at ``settings.takes.max_take_s`` (15 s); a capped manual take ends, and the
  matching release()/stop_recording() is then a no-op.
* ``settings.stream_pcm`` (default True, Live Mode): stream 4096-sample chunks while the user
  speaks; False: send one WAV blob per take. Change with ``set_settings(...)``.

State ``sending`` is shown briefly while a take is being closed and handed over; it returns to
``listening`` (armed vad) or ``idle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ravatar_live.audio.capture import AudioCapture, AudioDevice, RawBlock
from ravatar_live.audio.errors import (
    AudioError,
    BackendUnavailableError,
    CaptureError,
    DeviceLostError,
)
from ravatar_live.audio.history import SampleHistory
from ravatar_live.audio.listeners import Listeners
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array, PcmChunk, PcmChunker
from ravatar_live.audio.resample import StreamConverter
from ravatar_live.audio.settings import VoiceMode, VoiceSettings, VoiceState
from ravatar_live.audio.takes import Segmenter, SpeechStarted, TakeConfirmed, TakeEnded
from ravatar_live.audio.turn_judge import BackgroundJudge, TurnJudge
from ravatar_live.audio.turn_model import SmartTurnModel
from ravatar_live.audio.vad import Vad, make_vad
from ravatar_live.audio.wav import build_wav

log = logging.getLogger(__name__)

_LEVEL_WINDOW = SAMPLE_RATE // 20        # one level figure per 50 ms of audio
_MAX_BLOCK = SAMPLE_RATE // 4            # process big deliveries in 250 ms slices
_HISTORY = SAMPLE_RATE * 4               # pre-roll and VAD lag fit comfortably in 4 s
_WATCHDOG_S = 0.5


def default_turn_judge() -> TurnJudge:
    """The smart-turn model, loaded and run on its own worker thread."""
    return BackgroundJudge(SmartTurnModel)


def default_capture() -> AudioCapture:
    """PyAudio when installed, else QtMultimedia.

    Measured (bench/bench_capture_to_wire.py, PulseAudio virtual mic): both add under 1 ms
    median from device block to WebSocket frame, but PyAudio delivers 20 ms blocks where
    QAudioSource needs a 100 ms buffer and then delivers 64 ms blocks (smaller buffers lost
    a third of the audio with PulseAudio), and PyAudio does not depend on Qt's audio plugin.
    """
    try:
        from ravatar_live.audio.capture_pyaudio import PyAudioCapture  # noqa: PLC0415

        return PyAudioCapture()
    except BackendUnavailableError as exc:
        log.info("PyAudio capture unavailable (%s); using QtMultimedia", exc.user_message)
        from ravatar_live.audio.capture_qt import QtAudioCapture  # noqa: PLC0415

        return QtAudioCapture()


class _Take:
    """One take being assembled: all its audio (for the WAV) and its chunker (for streaming)."""

    def __init__(self, *, manual: bool, push_to_talk: bool, started_wall: float) -> None:
        self.manual = manual
        self.push_to_talk = push_to_talk
        self.started_wall = started_wall
        self.confirmed = False
        self.upto = 0                      # absolute history index added so far (vad takes)
        self.parts: list[Int16Array] = []
        self.samples = 0
        self.chunker = PcmChunker()
        self.streamed_chunks = 0

    def add(self, samples: Int16Array) -> None:
        if samples.size:
            self.parts.append(samples)
            self.samples += samples.size

    def audio(self) -> Int16Array:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int16)


class _Listener:
    """The CaptureListener handed to a backend. Called from audio threads: it only schedules.

    Bound to one capture generation, so callbacks from a device we already left are ignored.
    """

    def __init__(self, owner: VoiceController, generation: int) -> None:
        self._owner = owner
        self._generation = generation

    def audio_available(self) -> None:
        self._schedule(self._owner._drain, self._generation)

    def capture_failed(self, error: CaptureError) -> None:
        self._schedule(self._owner._capture_failed, self._generation, error)

    def _schedule(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._owner._loop
        if loop is None or loop.is_closed():
            return
        # The loop may close between the check and the call while the app shuts down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, *args)


class VoiceController:
    """Capture -> level / VAD / takes -> PCM chunks or WAV, as a small state machine."""

    def __init__(self, capture: AudioCapture, settings: VoiceSettings | None = None, *,
                 loop: asyncio.AbstractEventLoop | None = None,
                 vad_factory: Callable[[VoiceSettings], Vad] | None = None,
                 turn_judge_factory: Callable[[], TurnJudge] = default_turn_judge,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_level: Listeners[[float, float]] = Listeners("level")
        self.on_state: Listeners[[VoiceState]] = Listeners("state")
        self.on_take_started: Listeners[[]] = Listeners("take_started")
        self.on_pcm_chunk: Listeners[[str]] = Listeners("pcm_chunk")
        self.on_take_finished: Listeners[[bytes, bool, bool]] = Listeners("take_finished")
        self.on_error: Listeners[[CaptureError]] = Listeners("error")
        self.on_source_ended: Listeners[[]] = Listeners("source_ended")  # finite sources only

        self._capture = capture
        self._settings = (settings or VoiceSettings()).validated()
        self._loop = loop
        self._vad_factory = vad_factory or (lambda s: make_vad(
            s.vad_backend, webrtc_aggressiveness=s.webrtc_aggressiveness))
        self._turn_judge_factory = turn_judge_factory
        self._turn_judge: TurnJudge | None = None  # made at the first hands-free take, kept
        self._clock = clock
        self._device_id: str | None = None
        self._state: VoiceState = "idle"
        self._mic_open = False
        self._generation = 0
        self._converter: StreamConverter | None = None
        self._history = SampleHistory(_HISTORY)
        self._segmenter: Segmenter | None = None
        self._vad_origin = 0
        self._take: _Take | None = None
        self._level_sq = 0.0
        self._level_peak = 0
        self._level_n = 0
        self._last_audio_at = 0.0
        self._opened_at = 0.0
        self._got_audio = False
        self._seen_overflows = 0
        self._watchdog: asyncio.TimerHandle | None = None
        self.last_chunk_captured_at = 0.0  # monotonic arrival of the last chunk's final sample

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
        return self._mic_open

    @property
    def device_id(self) -> str | None:
        return self._device_id

    @property
    def capture(self) -> AudioCapture:
        return self._capture

    @property
    def overflow_count(self) -> int:
        return self._capture.overflow_count

    @property
    def turn_model_failure(self) -> str:
        """Why hands-free runs without the end-of-turn model; empty when it is in use (or not
        loaded yet)."""
        return self._turn_judge.failure if self._turn_judge is not None else ""

    # ---------------------------------------------------------------- devices
    def list_devices(self) -> list[AudioDevice]:
        try:
            return self._capture.list_devices()
        except CaptureError as exc:
            self.on_error.emit(exc)
            return []

    def set_device(self, device_id: str | None) -> bool:
        self._device_id = device_id
        if not self._mic_open:
            return True
        self._close_mic(drop_take=True)
        return self.start_listening()

    # ---------------------------------------------------------------- settings / modes
    def set_settings(self, settings: VoiceSettings) -> None:
        """Apply new settings (raises SettingsError if invalid); a new VAD backend or new take
        parameters re-arm the detector."""
        settings = settings.validated()
        old = self._settings
        self._settings = settings
        if settings.mode != old.mode:
            self._apply_mode(old.mode)
        elif (settings.vad_backend, settings.webrtc_aggressiveness, settings.takes) != (
                old.vad_backend, old.webrtc_aggressiveness, old.takes):
            self._segmenter = None
            if self._mic_open and settings.mode == "vad" and self._take is None:
                self._arm_vad()

    def set_mode(self, mode: VoiceMode) -> None:
        self.set_settings(replace(self._settings, mode=mode))

    def _apply_mode(self, old: VoiceMode) -> None:
        take = self._take
        if old == "vad" and take is not None and not take.manual:
            self._end_vad_take_now()
        if not self._mode_is_vad():
            self._segmenter = None
        if self._mode_is_vad() and self._mic_open and self._take is None:
            self._arm_vad()
        elif self._take is None:
            self._set_state(self._resting_state())

    # ---------------------------------------------------------------- listening
    def start_listening(self) -> bool:
        if self._mic_open:
            if self._mode_is_vad() and self._take is None and self._state == "idle":
                self._arm_vad()
            return True
        if not self._open_mic():
            return False
        if self._mode_is_vad():
            self._arm_vad()
        return True

    def stop_listening(self) -> None:
        self._close_mic(drop_take=True)
        self._set_state("idle")

    def close(self) -> None:
        """Release the device and the end-of-turn model's thread; call on app shutdown."""
        self.stop_listening()
        if self._turn_judge is not None:
            self._turn_judge.close()
            self._turn_judge = None

    # ---------------------------------------------------------------- push-to-talk
    def press(self) -> bool:
        return self._start_manual(push_to_talk=True)

    def release(self) -> None:
        self._stop_manual(push_to_talk=True)

    # ---------------------------------------------------------------- record-and-send
    def start_recording(self) -> bool:
        return self._start_manual(push_to_talk=False)

    def stop_recording(self) -> None:
        self._stop_manual(push_to_talk=False)

    def _start_manual(self, *, push_to_talk: bool) -> bool:
        if self._take is not None and self._take.manual:
            return True  # already recording (key auto-repeat, double clicks)
        if not self._mic_open and not self._open_mic():
            return False
        if self._take is not None:  # a hands-free take in progress: finish it first
            self._end_vad_take_now()
        self._segmenter = None      # the VAD pauses during a manual take
        take = _Take(manual=True, push_to_talk=push_to_talk, started_wall=self._clock())
        take.confirmed = not push_to_talk  # a recording is real at once; a press after tap_s
        self._take = take
        self._set_state("recording")
        if take.confirmed:
            self.on_take_started.emit()
        return True

    def _stop_manual(self, *, push_to_talk: bool) -> None:
        take = self._take
        if take is None or not take.manual or take.push_to_talk != push_to_talk:
            return  # nothing held (a capped take already ended), or the other button
        held = self._clock() - take.started_wall
        self._drain(self._generation)  # everything captured up to the release belongs to the take
        if self._take is not take:     # capped or failed while draining
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
            self._confirm(take)
        self._finish(take)

    # ---------------------------------------------------------------- mic plumbing
    def _resolve_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                self._loop = asyncio.get_event_loop_policy().get_event_loop()
        return self._loop

    def _open_mic(self) -> bool:
        loop = self._resolve_loop()
        self._generation += 1
        try:
            fmt = self._capture.start(self._device_id, _Listener(self, self._generation))
            self._converter = StreamConverter(fmt)
        except AudioError as exc:
            self._capture.stop()
            error = exc if isinstance(exc, CaptureError) else CaptureError(exc.user_message)
            log.warning("microphone could not be opened: %s", error)
            self.on_error.emit(error)
            self._set_state("idle")
            return False
        device = self._capture.device
        log.info("microphone open: %s (%s, %d Hz, %d ch)", device.name if device else "?",
                 self._capture.backend_name, fmt.sample_rate, fmt.channels)
        self._mic_open = True
        self._got_audio = False
        self._opened_at = self._last_audio_at = self._clock()
        self._seen_overflows = self._capture.overflow_count
        self._watchdog = loop.call_later(_WATCHDOG_S, self._check_alive, self._generation)
        return True

    def _close_mic(self, *, drop_take: bool) -> None:
        self._generation += 1  # late callbacks from the old device are now ignored
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._mic_open:
            self._capture.stop()
            self._capture.read()
        self._mic_open = False
        self._converter = None
        self._segmenter = None
        if drop_take and self._take is not None:
            log.info("take dropped: the microphone was closed")
            self._take = None

    def _arm_vad(self) -> None:
        if self._segmenter is None:
            try:
                vad = self._vad_factory(self._settings)
            except AudioError as exc:
                self.on_error.emit(exc if isinstance(exc, CaptureError)
                                   else CaptureError(exc.user_message))
                self._set_state("idle")
                return
            takes = self._settings.takes
            if takes.turn is not None and self._turn_judge is None:
                self._turn_judge = self._turn_judge_factory()
            self._segmenter = Segmenter(vad, takes, judge=self._turn_judge)
        else:
            self._segmenter.reset()
        self._vad_origin = self._history.total
        self._set_state("listening")

    def _check_alive(self, generation: int) -> None:
        if generation != self._generation or not self._mic_open:
            return
        loop = self._resolve_loop()
        self._drain(generation)  # a busy loop is not a dead device: count what is queued first
        if generation != self._generation:
            return
        quiet = self._clock() - self._last_audio_at
        limit = (self._settings.stall_timeout_s if self._got_audio
                 else self._settings.first_audio_timeout_s)
        if not self._capture.finished and quiet > limit:
            self._fail(DeviceLostError(
                "The microphone stopped delivering audio. Check it is plugged in, or pick "
                "another one.", detail=f"no audio for {quiet:.1f} s"))
            return
        self._watchdog = loop.call_later(_WATCHDOG_S, self._check_alive, generation)

    def _capture_failed(self, generation: int, error: CaptureError) -> None:
        if generation == self._generation:
            self._fail(error)

    def _fail(self, error: CaptureError) -> None:
        log.warning("capture failed: %s", error)
        self._close_mic(drop_take=True)
        self._set_state("idle")
        self.on_error.emit(error)

    # ---------------------------------------------------------------- audio path (loop thread)
    def _drain(self, generation: int) -> None:
        if generation != self._generation or not self._mic_open or self._converter is None:
            return
        blocks = self._capture.read()
        overflows = self._capture.overflow_count
        if overflows > self._seen_overflows:
            log.warning("audio queue overflow: %d block(s) dropped (total %d)",
                        overflows - self._seen_overflows, overflows)
            self._seen_overflows = overflows
        for block in blocks:
            if generation != self._generation:
                return  # a listener closed or switched the mic meanwhile
            self._process_block(block)
        if self._capture.finished and not self._capture.running and generation == self._generation:
            self._source_ended()

    def _process_block(self, block: RawBlock) -> None:
        assert self._converter is not None
        samples = self._converter.convert(block.data)
        self._last_audio_at = self._clock()
        self._got_audio = True
        for i in range(0, samples.size, _MAX_BLOCK):
            self._process_samples(samples[i : i + _MAX_BLOCK], block.arrived_at)

    def _process_samples(self, samples: Int16Array, arrived_at: float) -> None:
        if samples.size == 0:
            return
        self._history.append(samples)
        self._update_level(samples)
        take = self._take
        if take is not None and take.manual:
            self._manual_audio(take, samples, arrived_at)
        elif self._segmenter is not None:
            self._vad_audio(self._segmenter, samples, arrived_at)

    def _manual_audio(self, take: _Take, samples: Int16Array, arrived_at: float) -> None:
        room = round(self._settings.takes.max_take_s * SAMPLE_RATE) - take.samples
        part = samples[:room]
        take.add(part)
        if not take.confirmed and self._clock() - take.started_wall >= self._settings.tap_s:
            self._confirm(take, arrived_at)
        elif take.confirmed:
            self._stream(take, part, arrived_at)
        if take.samples >= round(self._settings.takes.max_take_s * SAMPLE_RATE):
            log.info("take capped at %.1f s", self._settings.takes.max_take_s)
            self._finish(take, arrived_at)

    def _vad_audio(self, seg: Segmenter, samples: Int16Array, arrived_at: float) -> None:
        for event in seg.push(samples):
            if isinstance(event, SpeechStarted):
                take = _Take(manual=False, push_to_talk=False, started_wall=self._clock())
                take.upto = self._vad_origin + event.start_sample
                self._take = take
                self._set_state("speech")
            elif isinstance(event, TakeConfirmed) and self._take is not None:
                self._confirm(self._take, arrived_at)
            elif isinstance(event, TakeEnded) and self._take is not None:
                take = self._take
                self._extend_vad_take(take, self._vad_origin + event.closed_sample, arrived_at)
                if event.accepted:
                    self._finish(take, arrived_at)
                else:
                    self._take = None
                    self._set_state("listening")
        if self._take is not None:
            self._extend_vad_take(self._take, self._vad_origin + seg.position, arrived_at)

    def _extend_vad_take(self, take: _Take, upto: int, arrived_at: float) -> None:
        if upto <= take.upto:
            return
        part = self._history.slice(take.upto, upto)
        take.upto = upto
        take.add(part)
        if take.confirmed:
            self._stream(take, part, arrived_at)

    def _end_vad_take_now(self) -> None:
        """Close a hands-free take where the audio is now (mode switch, manual take)."""
        take, seg = self._take, self._segmenter
        self._take = None
        if take is None or seg is None:
            return
        self._extend_vad_take(take, self._vad_origin + seg.position, self._last_audio_at)
        if take.confirmed:
            self._take = take
            self._finish(take)

    def _source_ended(self) -> None:
        seg = self._segmenter
        if seg is not None and self._take is not None and not self._take.manual:
            for event in seg.finish():
                if isinstance(event, TakeEnded) and event.accepted and self._take is not None:
                    self._finish(self._take)
        self._close_mic(drop_take=True)
        self._set_state("idle")
        self.on_source_ended.emit()

    # ---------------------------------------------------------------- take output
    def _confirm(self, take: _Take, arrived_at: float = 0.0) -> None:
        take.confirmed = True
        self.on_take_started.emit()
        self._stream(take, take.audio(), arrived_at)

    def _stream(self, take: _Take, samples: Int16Array, arrived_at: float) -> None:
        if self._settings.stream_pcm and samples.size:
            for chunk in take.chunker.push(samples, arrived_at):
                self._send_chunk(take, chunk)

    def _send_chunk(self, take: _Take, chunk: PcmChunk) -> None:
        take.streamed_chunks += 1
        self.last_chunk_captured_at = chunk.last_sample_at
        self.on_pcm_chunk.emit(chunk.base64)

    def _finish(self, take: _Take, arrived_at: float | None = None) -> None:
        self._set_state("sending")
        streamed = self._settings.stream_pcm
        if streamed:
            tail = take.chunker.flush()  # padded: the end of speech goes out at once
            if tail is not None:
                self._send_chunk(take, tail)
        if self._take is take:
            self._take = None
        audio = take.audio()
        log.info("take finished: %.2f s, %s, %s", audio.size / SAMPLE_RATE,
                 "push-to-talk" if take.push_to_talk else ("manual" if take.manual else "vad"),
                 f"streamed in {take.streamed_chunks} chunks" if streamed else "as WAV")
        self.on_take_finished.emit(build_wav(audio), take.push_to_talk, streamed)
        self._after_take()

    def _after_take(self) -> None:
        if self._mic_open and self._mode_is_vad():
            self._arm_vad()
        else:
            self._set_state("idle")

    # ---------------------------------------------------------------- small helpers
    def _mode_is_vad(self) -> bool:
        return self._settings.mode == "vad"

    def _resting_state(self) -> VoiceState:
        return "listening" if (self._mic_open and self._mode_is_vad()
                               and self._segmenter is not None) else "idle"

    def _set_state(self, state: VoiceState) -> None:
        if state != self._state:
            self._state = state
            self.on_state.emit(state)

    def _update_level(self, samples: Int16Array) -> None:
        x = samples.astype(np.float64)
        self._level_sq += float(np.dot(x, x))
        self._level_peak = max(self._level_peak, int(np.max(np.abs(x))))
        self._level_n += samples.size
        if self._level_n >= _LEVEL_WINDOW:
            rms = (self._level_sq / self._level_n) ** 0.5 / 32768.0
            peak = self._level_peak / 32768.0
            self._level_sq, self._level_peak, self._level_n = 0.0, 0, 0
            self.on_level.emit(min(rms, 1.0), min(peak, 1.0))
