"""The app's microphone into the native player's microphone track (the stream page's voice route
when the app's own player shows the stream).

It opens the capture backend the voice service uses (never while that one has it open: one route
at a time) and runs one small thread of its own that drains the capture, converts it to 16 kHz
mono int16 and pushes it to the player, which sends it only while its track is open
(`PageMicrophone.native_open`). Not the GUI thread: measured here, a web view and video on the
GUI thread delay it by up to a second at times, which dropped 2 s of a 6 s hold (the track keeps
at most half a second). The device's thread only wakes the feeder; levels and failures reach the
GUI thread as queued signals.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.errors import AudioError, CaptureError
from ravatar_live.audio.resample import StreamConverter
from ravatar_live.live.error_kinds import classify

if TYPE_CHECKING:  # aiortc, PyAV and Qt Multimedia load only when the native player is used
    from ravatar_live.stream.player import NativeStreamPlayer

logger = logging.getLogger(__name__)

LEVEL_WINDOW: Final = 16_000 // 20  # samples of 16 kHz audio per level figure (50 ms)
_IDLE_WAKE_S: Final = 0.1  # the feeder looks anyway this often (a missed wake-up costs little)
_JOIN_S: Final = 1.0


class _Run:
    """One opening of the microphone: the feeder thread and what it needs. The device's thread
    calls `audio_available` / `capture_failed` (CaptureListener); they only signal."""

    def __init__(self, feed: NativeMicFeed, player: NativeStreamPlayer,
                 capture: AudioCapture) -> None:
        self._feed = feed
        self.player = player
        self.capture = capture
        self.converter: StreamConverter | None = None
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._main, name="native-mic-feed", daemon=True)
        self._level_sq = self._level_peak = 0.0
        self._level_n = 0
        self.samples_pushed = 0

    # CaptureListener (any thread)
    def audio_available(self) -> None:
        self.wake.set()

    def capture_failed(self, error: CaptureError) -> None:
        if not self.stopping.is_set():
            self._feed.capture_lost.emit(self, error)

    # the feeder thread
    def _main(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(_IDLE_WAKE_S)
            self.wake.clear()
            try:
                self._drain()
            except Exception:  # a bug must not kill the feed silently
                logger.exception("feeding the microphone to the stream failed")
                self._feed.capture_lost.emit(self, CaptureError(
                    "The microphone could not be sent to the stream."))
                return

    def _drain(self) -> None:
        converter = self.converter
        blocks = self.capture.read()
        if converter is None or not blocks or self.stopping.is_set():
            return
        samples = np.concatenate([converter.convert(block.data) for block in blocks])
        if not samples.size:
            return
        self.player.push_microphone(samples)
        self.samples_pushed += samples.size
        self._measure(samples)

    def _measure(self, samples: np.ndarray) -> None:
        # One level figure per 50 ms of audio, like the voice controller's (the meter repaints).
        x = samples.astype(np.float64)
        self._level_sq += float(np.dot(x, x))
        self._level_peak = max(self._level_peak, float(np.max(np.abs(x))))
        self._level_n += samples.size
        if self._level_n >= LEVEL_WINDOW:
            rms = (self._level_sq / self._level_n) ** 0.5 / 32768.0
            peak = self._level_peak / 32768.0
            self._level_sq, self._level_peak, self._level_n = 0.0, 0.0, 0
            self._feed.level_changed.emit(min(rms, 1.0), min(peak, 1.0))


class NativeMicFeed(QObject):
    """`start(player, device_id)` feeds the microphone to `player`; `stop()` closes it."""

    level_changed = Signal(float, float)  # rms, peak (0..1), for the talk bar's meter
    failed = Signal(str, str)  # ErrorKind value, plain-words message
    capture_lost = Signal(object, object)  # _Run, CaptureError: from other threads, queued

    def __init__(self, capture: AudioCapture, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._capture = capture
        self._run: _Run | None = None
        self.capture_lost.connect(self._on_capture_lost)

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def samples_pushed(self) -> int:
        """Samples pushed to the player since the last start (for tests and the log)."""
        return self._run.samples_pushed if self._run is not None else 0

    def start(self, player: NativeStreamPlayer, device_id: str | None) -> bool:
        """Open the microphone for `player`; False (and `failed`) when it cannot be opened."""
        self.stop()
        run = _Run(self, player, self._capture)
        try:
            fmt = self._capture.start(device_id, run)
            run.converter = StreamConverter(fmt)
        except AudioError as exc:
            self._capture.stop()
            logger.warning("the microphone could not be opened for the stream: %s", exc)
            kind, message = classify(exc)
            self.failed.emit(kind.value, message)
            return False
        self._run = run
        run.thread.start()
        logger.info("microphone open for the stream's own track (%d Hz, %d ch)",
                    fmt.sample_rate, fmt.channels)
        return True

    def stop(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        run.stopping.set()
        run.wake.set()
        run.thread.join(_JOIN_S)
        self._capture.stop()
        self._capture.read()  # what was left belongs to no one
        logger.info("microphone closed for the stream's own track (%.1f s fed)",
                    run.samples_pushed / 16_000)

    @Slot(object, object)
    def _on_capture_lost(self, run: object, error: object) -> None:
        if run is not self._run or not isinstance(error, CaptureError):
            return  # an earlier run's late news
        logger.warning("the microphone failed while feeding the stream: %s", error)
        self.stop()
        kind, message = classify(error)
        self.failed.emit(kind.value, message)
