"""The microphone as the voice controller sees it: opened and closed off the loop thread, its
audio delivered on the loop as 16 kHz int16 samples.

Why a worker thread: opening a device blocks. QtMultimedia's first open waits for its own thread
(up to seconds with PulseAudio) and closing it is a blocking cross-thread call; PortAudio opens
its stream and probes ALSA synchronously. Every ``start``/``stop`` of the capture backend runs
on one dedicated thread, in the order they were asked for, so the device always ends in the
state of the last request; the outcome comes back to the loop with ``call_soon_threadsafe``.

Generations: each open or close starts a new generation; a callback (audio, failure, the result
of an open) from an older generation is stale and ignored, so a device the user already left
can never speak up again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Literal

from ravatar_live.audio.capture import AudioCapture, AudioDevice
from ravatar_live.audio.errors import AudioError, CaptureError, DeviceLostError
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.resample import CaptureFormat, StreamConverter

log = logging.getLogger(__name__)

MicPhase = Literal["closed", "opening", "open"]

_MAX_BLOCK = SAMPLE_RATE // 4  # hand big deliveries on in 250 ms slices
_WATCHDOG_S = 0.5
_SHUTDOWN_WAIT_S = 2.0

AudioSink = Callable[[Int16Array, float], None]  # (16 kHz samples, monotonic arrival of the end)


def _as_capture_error(exc: Exception) -> CaptureError:
    if isinstance(exc, CaptureError):
        return exc
    if isinstance(exc, AudioError):
        return CaptureError(exc.user_message, detail=exc.detail)
    return CaptureError("The microphone could not be opened.", detail=repr(exc))


class _Listener:
    """The CaptureListener handed to a backend; called from audio threads, it only schedules."""

    def __init__(self, mic: Microphone, generation: int) -> None:
        self._mic = mic
        self._generation = generation

    def audio_available(self) -> None:
        self._mic.call_on_loop(self._mic.drain, self._generation)

    def capture_failed(self, error: CaptureError) -> None:
        self._mic.call_on_loop(self._mic.fail, self._generation, error)


class Microphone:
    """Opens, watches and closes one capture backend; see the module docstring.

    Callbacks (all on the loop thread): ``on_audio(samples, arrived_at)`` for every slice of
    audio, ``on_phase(phase)`` when it opens or closes, ``on_error(error)`` when it cannot open
    or is lost (it is closed by then), ``on_source_ended()`` when a finite source ran out.
    """

    def __init__(self, capture: AudioCapture, loop: asyncio.AbstractEventLoop | None, *,
                 on_audio: AudioSink, on_phase: Callable[[MicPhase], None],
                 on_error: Callable[[CaptureError], None], on_source_ended: Callable[[], None],
                 stall_timeouts: Callable[[], tuple[float, float]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capture = capture
        self._loop = loop
        self._on_audio = on_audio
        self._on_phase = on_phase
        self._on_error = on_error
        self._on_source_ended = on_source_ended
        self._stall_timeouts = stall_timeouts  # (first audio, later audio), read at each check
        self._clock = clock
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="microphone")
        self._generation = 0
        self.phase: MicPhase = "closed"
        self.device_id: str | None = None
        self._converter: StreamConverter | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._got_audio = False
        self._last_audio_at = 0.0
        self._seen_overflows = 0
        self._last_job: concurrent.futures.Future[object] | None = None

    # ---------------------------------------------------------------- requests (loop thread)
    def open(self, device_id: str | None) -> None:
        """Open ``device_id`` (None: the system default) unless it is open or opening."""
        if self.phase != "closed" and device_id == self.device_id:
            return
        self.device_id = device_id
        generation = self._new_generation()
        self._loop_now()  # known before the worker needs it
        self._set_phase("opening")
        listener = _Listener(self, generation)
        job = self._submit(lambda: self.capture.start(device_id, listener))
        job.add_done_callback(lambda done: self.call_on_loop(self._opened, generation, done))

    def close(self) -> None:
        """Close at once as far as the loop is concerned; the device is released on the worker.
        Audio still queued is dropped."""
        if self.phase == "closed":
            return
        self._new_generation()
        self._converter = None
        self._submit(self.capture.stop)
        self.capture.read()
        self._set_phase("closed")

    def shutdown(self) -> None:
        """Close and stop the worker; waits (bounded) for the device to be released."""
        self.close()
        job = self._last_job
        if job is not None:
            with contextlib.suppress(concurrent.futures.TimeoutError):
                job.result(_SHUTDOWN_WAIT_S)
        self._worker.shutdown(wait=False)

    def list_devices(self) -> list[AudioDevice]:
        return self.capture.list_devices()

    # ---------------------------------------------------------------- worker plumbing
    def _submit(self, fn: Callable[[], object]) -> concurrent.futures.Future[object]:
        self._last_job = self._worker.submit(fn)
        return self._last_job

    def _loop_now(self) -> asyncio.AbstractEventLoop:
        """The loop given, else the one running when first needed (a loop-thread call)."""
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                self._loop = asyncio.get_event_loop_policy().get_event_loop()
        return self._loop

    def call_on_loop(self, fn: Callable[..., None], *args: object) -> None:
        """Run ``fn(*args)`` on the loop thread; from any thread, never blocks."""
        loop = self._loop
        if loop is None:
            return
        if loop.is_closed():
            return
        # The loop may close between the check and the call while the app shuts down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, *args)

    def _new_generation(self) -> int:
        self._generation += 1
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        return self._generation

    def _set_phase(self, phase: MicPhase) -> None:
        if phase != self.phase:
            self.phase = phase
            self._on_phase(phase)

    def _opened(self, generation: int, done: concurrent.futures.Future[object]) -> None:
        if generation != self._generation:
            return  # the user closed or switched meanwhile; a later job releases the device
        try:
            fmt = done.result()
            assert isinstance(fmt, CaptureFormat)
            self._converter = StreamConverter(fmt)
        except Exception as exc:  # every failure reaches the user in plain words
            self._submit(self.capture.stop)
            error = _as_capture_error(exc)
            log.warning("microphone could not be opened: %s", error)
            self._new_generation()
            self._set_phase("closed")
            self._on_error(error)
            return
        device = self.capture.device
        log.info("microphone open: %s (%s, %d Hz, %d ch)", device.name if device else "?",
                 self.capture.backend_name, fmt.sample_rate, fmt.channels)
        self._got_audio = False
        self._last_audio_at = self._clock()
        self._seen_overflows = self.capture.overflow_count
        self._watchdog = self._loop_now().call_later(_WATCHDOG_S, self._check_alive, generation)
        self._set_phase("open")
        self.drain(generation)  # audio that arrived before this callback ran

    # ---------------------------------------------------------------- audio (loop thread)
    def drain(self, generation: int | None = None) -> None:
        """Hand every queued block on; ``generation`` None: the current one."""
        if generation is None:
            generation = self._generation
        if generation != self._generation or self.phase != "open" or self._converter is None:
            return
        blocks = self.capture.read()
        overflows = self.capture.overflow_count
        if overflows > self._seen_overflows:
            log.warning("audio queue overflow: %d block(s) dropped (total %d)",
                        overflows - self._seen_overflows, overflows)
            self._seen_overflows = overflows
        for block in blocks:
            if generation != self._generation or self._converter is None:
                return  # a listener closed or switched the mic meanwhile
            samples = self._converter.convert(block.data)
            self._last_audio_at = self._clock()
            self._got_audio = True
            for i in range(0, samples.size, _MAX_BLOCK):
                end = min(samples.size, i + _MAX_BLOCK)
                # each slice's end arrived (samples.size - end) samples before the block's end
                at = block.arrived_at - (samples.size - end) / SAMPLE_RATE
                self._on_audio(samples[i:end], at)
                if generation != self._generation:
                    return
        if self.capture.finished and not self.capture.running:
            self._on_source_ended()  # the controller finishes its take, then closes

    def fail(self, generation: int, error: CaptureError) -> None:
        if generation != self._generation or self.phase == "closed":
            return
        log.warning("capture failed: %s", error)
        self.close()
        self._on_error(error)

    def _check_alive(self, generation: int) -> None:
        if generation != self._generation or self.phase != "open":
            return
        self.drain(generation)  # a busy loop is not a dead device: count what is queued first
        if generation != self._generation:
            return
        quiet = self._clock() - self._last_audio_at
        first_s, later_s = self._stall_timeouts()
        limit = later_s if self._got_audio else first_s
        if not self.capture.finished and quiet > limit:
            self.fail(generation, DeviceLostError(
                "The microphone stopped delivering audio. Check it is plugged in, or pick "
                "another one.", detail=f"no audio for {quiet:.1f} s"))
            return
        self._watchdog = self._loop_now().call_later(_WATCHDOG_S, self._check_alive, generation)
