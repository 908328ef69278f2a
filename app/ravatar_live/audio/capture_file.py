"""File-replay capture: plays a WAV (or samples) in real time as if it were a microphone.

For tests and demos. It delivers the file's own rate and channel count, so the consumer's
converter path is exercised exactly as with a real device. ``realtime=False`` pushes as fast as
the consumer drains (the queue is then sized to hold everything, nothing is dropped).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from ravatar_live.audio.capture import AudioDevice, BlockQueue, CaptureListener, RawBlock
from ravatar_live.audio.errors import CaptureError, DeviceNotFoundError
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array, float_to_int16
from ravatar_live.audio.resample import CaptureFormat, SampleFormat
from ravatar_live.audio.wav import WavAudio, read_wav

log = logging.getLogger(__name__)


class FileReplayCapture:
    backend_name = "file"

    def __init__(self, source: Path | str | WavAudio | Int16Array, *, realtime: bool = True,
                 block_ms: float = 20.0, tail_silence_s: float = 1.0,
                 repeat: bool = False) -> None:
        if isinstance(source, (str, Path)):
            self._label = Path(source).name
            audio = read_wav(source)
        elif isinstance(source, WavAudio):
            self._label, audio = "samples", source
        else:
            self._label = "samples"
            audio = WavAudio(np.asarray(source, np.float32).reshape(-1, 1) / 32768.0, SAMPLE_RATE)
        if isinstance(source, np.ndarray) and source.dtype == np.int16:
            self._pcm = source.reshape(-1).copy()  # keep int16 input bit-exact
        else:
            self._pcm = float_to_int16(audio.samples).reshape(-1)  # interleaved int16
        self._format = CaptureFormat(audio.sample_rate, audio.channels, SampleFormat.INT16)
        self._realtime = realtime
        self._block_frames = max(1, round(audio.sample_rate * block_ms / 1000))
        self._tail_frames = round(audio.sample_rate * tail_silence_s)
        self._repeat = repeat
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue = BlockQueue(self._format.bytes_per_frame * self._format.sample_rate, 2.0)
        self._finished = False
        self._device: AudioDevice | None = None

    @property
    def device_id(self) -> str:
        return f"file:{self._label}"

    def list_devices(self) -> list[AudioDevice]:
        return [AudioDevice(self.device_id, f"Replay of {self._label}", True)]

    def start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        if device_id not in (None, self.device_id):
            raise DeviceNotFoundError(f"The audio device {device_id!r} does not exist.")
        self.stop()
        total_s = (self._pcm.size / self._format.channels + self._tail_frames) \
            / self._format.sample_rate
        self._queue = BlockQueue(self._format.bytes_per_frame * self._format.sample_rate,
                                 2.0 if self._realtime else total_s + 1.0)
        self._stop.clear()
        self._finished = False
        self._device = self.list_devices()[0]
        self._thread = threading.Thread(target=self._run, args=(listener,),
                                        name="file-replay", daemon=True)
        self._thread.start()
        return self._format

    def _blocks(self) -> list[bytes]:
        ch = self._format.channels
        step = self._block_frames * ch
        body = [self._pcm[i : i + step].tobytes() for i in range(0, self._pcm.size, step)]
        silence = np.zeros(step, dtype=np.int16).tobytes()
        tail = [silence] * (self._tail_frames // self._block_frames)
        return body + tail

    def _run(self, listener: CaptureListener) -> None:
        try:
            blocks = self._blocks()
            block_s = self._block_frames / self._format.sample_rate
            t0 = time.monotonic()
            n = 0
            while not self._stop.is_set():
                for data in blocks:
                    if self._realtime:
                        # A fixed schedule, not sleep-after-push: drift never adds up.
                        delay = t0 + (n + 1) * block_s - time.monotonic()
                        if delay > 0 and self._stop.wait(delay):
                            return
                    elif self._stop.is_set():
                        return
                    n += 1
                    if self._queue.push(data):
                        listener.audio_available()
                if not self._repeat:
                    break
            self._finished = True
            listener.audio_available()
        except Exception as exc:  # the thread must report, never die silently
            log.exception("file replay failed")
            listener.capture_failed(
                CaptureError("Replaying the audio file failed.", detail=str(exc)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        self._device = None

    def read(self) -> list[RawBlock]:
        return self._queue.drain()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def overflow_count(self) -> int:
        return self._queue.dropped

    @property
    def device(self) -> AudioDevice | None:
        return self._device
