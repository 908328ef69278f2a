"""Qt Multimedia output: a QAudioSink in pull mode, living on its own QThread.

The sink reads from `_RenderDevice`, a QIODevice whose `readData` calls `render`; the sink's
thread runs that Qt event loop, so the GUI thread does no audio work. Device ids are
``qt:<QAudioDevice id>``, like the capture backend's. Needs a QCoreApplication.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QCoreApplication, QIODevice, QMetaObject, QObject, Qt, QThread, Slot
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSink, QMediaDevices, QtAudio

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.stream.audio_output import BLOCK_FRAMES, CHANNELS, RATE
from ravatar_live.stream.audio_playback import Render
from ravatar_live.stream.errors import NoOutputDeviceError, PlaybackError

logger = logging.getLogger(__name__)

_BYTES_PER_FRAME = 2 * CHANNELS
_OPEN_WAIT_S = 5.0
_BUFFER_BLOCKS = 3  # 60 ms device buffer: PulseAudio underruns with much less


def _device_id(device: QAudioDevice) -> str:
    return "qt:" + bytes(device.id().data()).decode("utf-8", "replace")


class _RenderDevice(QIODevice):
    """A read-only QIODevice that produces audio on demand (never runs dry: silence)."""

    def __init__(self, render: Render, latency_s: float) -> None:
        super().__init__()
        self._render = render
        self._latency_s = latency_s

    def readData(self, maxlen: int) -> bytes:  # noqa: N802 (Qt's name)
        frames = maxlen // _BYTES_PER_FRAME
        if frames <= 0:
            return b""
        return self._render(frames, time.monotonic() + self._latency_s)

    def writeData(self, data: bytes | bytearray | memoryview, length: int) -> int:  # noqa: N802 (Qt's name)
        return -1

    def bytesAvailable(self) -> int:  # noqa: N802 (Qt's name)
        return BLOCK_FRAMES * _BYTES_PER_FRAME + super().bytesAvailable()

    def isSequential(self) -> bool:  # noqa: N802 (Qt's name)
        return True


class _SinkWorker(QObject):
    """Lives on the output thread; its slots run there."""

    def __init__(self, device: QAudioDevice, fmt: QAudioFormat, render: Render) -> None:
        super().__init__()
        self._device = device
        self._format = fmt
        self._render = render
        self._sink: QAudioSink | None = None
        self._source: _RenderDevice | None = None
        self.opened = threading.Event()
        self.error: str | None = None

    @Slot()
    def open(self) -> None:
        try:
            sink = QAudioSink(self._device, self._format, self)
            sink.setBufferSize(self._format.bytesForFrames(BLOCK_FRAMES * _BUFFER_BLOCKS))
            latency = sink.bufferSize() / max(1, self._format.bytesPerFrame()) / RATE
            source = _RenderDevice(self._render, latency)
            source.open(QIODevice.OpenModeFlag.ReadOnly)
            sink.start(source)
            if sink.error() != QtAudio.Error.NoError:
                self.error = f"QAudioSink error {sink.error().name}"
            self._sink, self._source = sink, source
        except Exception as exc:  # report to the opener, never die on this thread
            self.error = str(exc)
        finally:
            self.opened.set()

    @Slot()
    def close(self) -> None:
        if self._sink is not None:
            self._sink.stop()
            self._sink.setParent(None)
            self._sink = None
        if self._source is not None:
            self._source.close()
            self._source = None


class QtAudioOutput:
    backend_name = "qt"

    def __init__(self) -> None:
        if QCoreApplication.instance() is None:
            raise PlaybackError("The Qt audio output needs a running Qt application.")
        self._thread: QThread | None = None
        self._worker: _SinkWorker | None = None

    def _qt_outputs(self) -> list[QAudioDevice]:
        devices = list(QMediaDevices.audioOutputs())
        devices.sort(key=lambda d: not d.isDefault())
        return devices

    def list_devices(self) -> list[AudioDevice]:
        return [AudioDevice(_device_id(d), d.description(), d.isDefault())
                for d in self._qt_outputs()]

    def open(self, device_id: str | None, render: Render) -> AudioDevice:
        self.close()
        outputs = self._qt_outputs()
        if not outputs:
            raise NoOutputDeviceError(
                "No audio output device was found, so the avatar cannot be heard.")
        match = [d for d in outputs if device_id is None or _device_id(d) == device_id]
        if not match:
            raise PlaybackError("The chosen speaker is not connected any more.",
                                detail=str(device_id))
        device = match[0]
        fmt = QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(CHANNELS)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            raise PlaybackError(f"The speaker {device.description()} cannot play 48 kHz stereo.")
        worker = _SinkWorker(device, fmt, render)
        thread = QThread()
        thread.setObjectName("stream-audio-output")
        worker.moveToThread(thread)
        thread.started.connect(worker.open)
        thread.start()
        self._thread, self._worker = thread, worker
        if not worker.opened.wait(_OPEN_WAIT_S) or worker.error:
            why = worker.error or "the device did not open in time"
            self.close()
            raise PlaybackError(f"The speaker {device.description()} could not be opened.",
                                detail=why)
        logger.info("playing the avatar's audio on %s (Qt Multimedia)", device.description())
        return AudioDevice(_device_id(device), device.description(), device.isDefault())

    def close(self) -> None:
        worker, thread = self._worker, self._thread
        self._worker = self._thread = None
        if worker is not None and thread is not None and thread.isRunning():
            QMetaObject.invokeMethod(worker, "close", Qt.ConnectionType.BlockingQueuedConnection)
            thread.quit()
            thread.wait(3000)
