"""QtMultimedia capture: a QAudioSource living in its own QThread.

Why a thread: with PulseAudio the first read of a QAudioSource can block for 0.5-2.4 s; in the
GUI thread that would freeze the window. The worker thread's only job is to copy the bytes of
each ``readyRead`` into the shared bounded queue and poke the listener. Hot-plug: the worker
watches ``QMediaDevices.audioInputsChanged`` and reports a DeviceLostError when our device goes.

A limit this cannot lift: on PulseAudio, Qt 6.12 asks the server for a record buffer of one
fragment (1024 frames, 64 ms); whenever Qt's own audio thread is later than that (a busy machine)
the server drops the oldest samples, unseen by us (measured with two busy loops, parec recording
alongside lost none: up to 40 samples per utterance, and in 9 of 30 runs enough to break a
whole-utterance correlation; PyAudio lost none in 25; later, once 247 in one utterance, and with
four busy loops once 111 at a time). A larger native period shrinks the loss but not to zero
(4096 frames: 1 run of 9), and makes every read wait as long. Hence PyAudio is the default.

Needs a QCoreApplication (the app's QApplication, or pytest-qt's ``qapp``).
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QCoreApplication, QIODevice, QMetaObject, QObject, Qt, QThread, Slot
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSource, QMediaDevices, QtAudio

from ravatar_live.audio.capture import AudioDevice, BlockQueue, CaptureListener, RawBlock
from ravatar_live.audio.errors import (
    BackendUnavailableError,
    DeviceBusyError,
    DeviceLostError,
    DeviceNotFoundError,
    NoMicrophoneError,
)
from ravatar_live.audio.pcm import SAMPLE_RATE
from ravatar_live.audio.resample import CaptureFormat, SampleFormat

log = logging.getLogger(__name__)

_QT_FORMATS = {
    QAudioFormat.SampleFormat.Int16: SampleFormat.INT16,
    QAudioFormat.SampleFormat.Int32: SampleFormat.INT32,
    QAudioFormat.SampleFormat.Float: SampleFormat.FLOAT32,
    QAudioFormat.SampleFormat.UInt8: SampleFormat.UINT8,
}
_OPEN_WAIT_S = 5.0


def _device_id(dev: QAudioDevice) -> str:
    return "qt:" + bytes(dev.id().data()).decode("utf-8", "replace")


class _Worker(QObject):
    """Lives in the capture thread; every slot runs there."""

    def __init__(self, device: QAudioDevice, fmt: QAudioFormat, queue: BlockQueue,
                 listener: CaptureListener) -> None:
        super().__init__()
        self._device = device
        self._format = fmt
        self._queue = queue
        self._listener = listener
        self._source: QAudioSource | None = None
        self._io: QIODevice | None = None
        self._devices: QMediaDevices | None = None
        self.opened = threading.Event()
        self.open_error: str | None = None
        self.closing = False

    @Slot()
    def open(self) -> None:
        try:
            self._devices = QMediaDevices(self)
            self._devices.audioInputsChanged.connect(self._inputs_changed)
            source = QAudioSource(self._device, self._format, self)
            # Qt keeps at most this much for our reader, a Python slot that waits whenever the
            # GIL is busy elsewhere: 500 ms rides out such stalls (measured on PulseAudio: 100 ms
            # lost 15-20 % of a tone through three 300 ms stalls, 500 ms nothing; 40 ms lost audio
            # even unstalled). Reads still come every 64 ms, so it adds no latency.
            source.setBufferSize(self._format.bytesForDuration(500_000))
            source.stateChanged.connect(self._state_changed)
            self._source = source
            io = source.start()
            if io is None or source.error() != QtAudio.Error.NoError:
                self.open_error = f"QAudioSource error {source.error().name}"
            else:
                self._io = io
                io.readyRead.connect(self._ready_read)
        except Exception as exc:  # report to the starter, never die in the thread
            self.open_error = str(exc)
        finally:
            self.opened.set()

    @Slot()
    def _ready_read(self) -> None:
        io = self._io
        if io is None:
            return
        data = bytes(io.readAll().data())
        if data and self._queue.push(data, time.monotonic()):
            self._listener.audio_available()

    @Slot(QtAudio.State)
    def _state_changed(self, state: QtAudio.State) -> None:
        source = self._source
        if source is None or self.closing or state != QtAudio.State.StoppedState:
            return
        if source.error() != QtAudio.Error.NoError:
            self._listener.capture_failed(DeviceLostError(
                "The microphone stopped working. Pick another one or reconnect it.",
                detail=f"QAudioSource {source.error().name}"))

    @Slot()
    def _inputs_changed(self) -> None:
        if self.closing:
            return
        wanted = _device_id(self._device)
        if all(_device_id(d) != wanted for d in QMediaDevices.audioInputs()):
            self._listener.capture_failed(DeviceLostError(
                f"The microphone {self._device.description()} was disconnected."))

    @Slot()
    def close(self) -> None:
        self.closing = True
        if self._source is not None:
            self._source.stop()
            self._source.setParent(None)
            self._source = None
        self._io = None
        if self._devices is not None:
            self._devices.setParent(None)
            self._devices = None


class QtAudioCapture:
    backend_name = "qt"

    def __init__(self, *, queue_s: float = 2.0) -> None:
        if QCoreApplication.instance() is None:
            raise BackendUnavailableError(
                "The Qt audio backend needs a running Qt application.")
        self._queue_s = queue_s
        self._queue = BlockQueue(SAMPLE_RATE * 2, queue_s)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._device: AudioDevice | None = None

    def _qt_inputs(self) -> list[QAudioDevice]:
        devices = list(QMediaDevices.audioInputs())
        devices.sort(key=lambda d: not d.isDefault())
        return devices

    def list_devices(self) -> list[AudioDevice]:
        return [AudioDevice(_device_id(d), d.description(), d.isDefault())
                for d in self._qt_inputs()]

    def start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        self.stop()
        inputs = self._qt_inputs()
        if not inputs:
            raise NoMicrophoneError("No microphone was found. Connect one and try again.")
        match = [d for d in inputs if device_id is None or _device_id(d) == device_id]
        if not match:
            raise DeviceNotFoundError(
                "The chosen microphone is not connected any more. Pick another one.",
                detail=str(device_id))
        qdev = match[0]
        qfmt = QAudioFormat()
        qfmt.setSampleRate(SAMPLE_RATE)
        qfmt.setChannelCount(1)
        qfmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not qdev.isFormatSupported(qfmt):
            qfmt = qdev.preferredFormat()  # convert on our side (downmix + soxr)
        sample_format = _QT_FORMATS.get(qfmt.sampleFormat())
        if sample_format is None:
            raise DeviceBusyError(f"The microphone {qdev.description()} uses an unknown format.")
        fmt = CaptureFormat(qfmt.sampleRate(), qfmt.channelCount(), sample_format)
        self._queue = BlockQueue(fmt.bytes_per_frame * fmt.sample_rate, self._queue_s)
        worker = _Worker(qdev, qfmt, self._queue, listener)
        thread = QThread()
        thread.setObjectName("qt-audio-capture")
        worker.moveToThread(thread)
        thread.started.connect(worker.open)
        thread.start()
        self._thread, self._worker = thread, worker
        if not worker.opened.wait(_OPEN_WAIT_S) or worker.open_error:
            why = worker.open_error or "the device did not open in time"
            self.stop()
            raise DeviceBusyError(
                f"The microphone {qdev.description()} could not be opened; it may be in use by "
                "another program.", detail=why)
        self._device = AudioDevice(_device_id(qdev), qdev.description(), qdev.isDefault())
        return fmt

    def stop(self) -> None:
        worker, thread = self._worker, self._thread
        self._worker = self._thread = None
        self._device = None
        if worker is not None and thread is not None and thread.isRunning():
            worker.closing = True
            QMetaObject.invokeMethod(worker, "close", Qt.ConnectionType.BlockingQueuedConnection)
            thread.quit()
            thread.wait(3000)

    def read(self) -> list[RawBlock]:
        return self._queue.drain()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @property
    def finished(self) -> bool:
        return False

    @property
    def overflow_count(self) -> int:
        return self._queue.dropped

    @property
    def device(self) -> AudioDevice | None:
        return self._device
