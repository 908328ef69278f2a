"""PyAudio (PortAudio) capture: the PortAudio callback thread copies bytes into the queue.

Device ids are ``pyaudio:<host api>:<device name>`` because PortAudio indexes change whenever
devices come and go. PortAudio only sees hot-plugged devices after a re-initialisation, so
listing re-initialises when no stream is open. ``start``/``stop`` run on the microphone's worker
thread while listing runs on the loop, so one lock keeps them off PortAudio at the same time.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ravatar_live.audio.capture import AudioDevice, BlockQueue, CaptureListener, RawBlock
from ravatar_live.audio.errors import (
    BackendUnavailableError,
    DeviceBusyError,
    DeviceNotFoundError,
    NoMicrophoneError,
)
from ravatar_live.audio.pcm import SAMPLE_RATE
from ravatar_live.audio.portaudio import close_portaudio, close_portaudio_stream, open_portaudio
from ravatar_live.audio.portaudio_clock import PortAudioClock
from ravatar_live.audio.resample import CaptureFormat, SampleFormat

log = logging.getLogger(__name__)

try:
    import pyaudio
except ImportError:  # optional extra: the Qt backend is used instead
    pyaudio = None

_PA_DEVICE_UNAVAILABLE = -9985
_PA_INVALID_DEVICE = -9996
_PA_INVALID_RATE = -9997
_BLOCK_FRAMES_16K = 320  # 20 ms blocks: small enough for latency, large enough for the GIL


class PyAudioCapture:
    backend_name = "pyaudio"

    def __init__(self, *, queue_s: float = 2.0) -> None:
        if pyaudio is None:
            raise BackendUnavailableError(
                "PyAudio is not installed (pip install 'ravatar-live[pyaudio]').")
        self._queue_s = queue_s
        self._pa: Any = None
        self._stream: Any = None
        self._queue = BlockQueue(SAMPLE_RATE * 2, queue_s)
        self._device: AudioDevice | None = None
        self._overruns = 0
        self._pa_lock = threading.RLock()  # PortAudio itself is not thread-safe

    # ------------------------------------------------------------ devices
    def _ensure_pa(self, fresh: bool = False) -> Any:
        if fresh and self._pa is not None and self._stream is None:
            close_portaudio(self._pa)
            self._pa = None
        if self._pa is None:
            self._pa = open_portaudio()
        return self._pa

    def _inputs(self, pa: Any) -> list[tuple[AudioDevice, dict[str, Any]]]:
        try:
            default_index = pa.get_default_input_device_info()["index"]
        except OSError:
            default_index = -1
        found: list[tuple[AudioDevice, dict[str, Any]]] = []
        for i in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(i)
            if int(info.get("maxInputChannels", 0)) < 1:
                continue
            api = pa.get_host_api_info_by_index(info["hostApi"])["name"]
            dev = AudioDevice(f"pyaudio:{api}:{info['name']}", f"{info['name']} ({api})",
                              i == default_index)
            found.append((dev, info))
        found.sort(key=lambda pair: not pair[0].is_default)  # default first, otherwise stable
        return found

    def list_devices(self) -> list[AudioDevice]:
        with self._pa_lock:
            return [dev for dev, _ in self._inputs(self._ensure_pa(fresh=True))]

    # ------------------------------------------------------------ start / stop
    def start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        with self._pa_lock:
            return self._start(device_id, listener)

    def _start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        self.stop()
        pa = self._ensure_pa(fresh=True)
        inputs = self._inputs(pa)
        if not inputs:
            raise NoMicrophoneError("No microphone was found. Connect one and try again.")
        match = [pair for pair in inputs if device_id is None or pair[0].id == device_id]
        if not match:
            raise DeviceNotFoundError(
                "The chosen microphone is not connected any more. Pick another one.",
                detail=str(device_id))
        device, info = match[0]
        fmt = self._pick_format(pa, info)
        self._queue = BlockQueue(fmt.bytes_per_frame * fmt.sample_rate, self._queue_s)
        self._overruns = 0
        queue = self._queue
        clock = PortAudioClock()

        def on_audio(in_data: bytes | None, frames: int, time_info: Any, status: int) -> tuple[
                None, int]:
            # PortAudio's thread: copy, count, poke. Nothing else (no logging, no numpy). The
            # block arrived when PortAudio called, not when this Python got the GIL.
            if status & pyaudio.paInputOverflow:
                self._overruns += 1
            arrived_at = clock.callback_time(time_info.get("current_time", 0.0))
            if in_data and queue.push(in_data, arrived_at):
                listener.audio_available()
            return None, pyaudio.paContinue

        block = max(64, round(_BLOCK_FRAMES_16K * fmt.sample_rate / SAMPLE_RATE))
        try:
            self._stream = pa.open(format=pyaudio.paInt16, channels=fmt.channels,
                                   rate=fmt.sample_rate, input=True,
                                   input_device_index=info["index"],
                                   frames_per_buffer=block, stream_callback=on_audio)
        except OSError as exc:
            self._stream = None
            code = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
            if code == _PA_INVALID_DEVICE:
                raise DeviceNotFoundError(
                    "The chosen microphone is not connected any more.", detail=str(exc)) from exc
            raise DeviceBusyError(
                f"The microphone {device.name} could not be opened; it may be in use by "
                "another program.", detail=str(exc)) from exc
        self._device = device
        return fmt

    def _pick_format(self, pa: Any, info: dict[str, Any]) -> CaptureFormat:
        """16 kHz mono int16 if the device takes it (no conversion), else its native rate."""
        try:
            if pa.is_format_supported(SAMPLE_RATE, input_device=info["index"], input_channels=1,
                                      input_format=pyaudio.paInt16):
                return CaptureFormat(SAMPLE_RATE, 1, SampleFormat.INT16)
        except ValueError:
            pass  # PortAudio says "invalid sample rate" by raising
        rate = int(info.get("defaultSampleRate") or 48000)
        channels = 1 if int(info["maxInputChannels"]) >= 1 else 2
        return CaptureFormat(rate, channels, SampleFormat.INT16)

    def stop(self) -> None:
        with self._pa_lock:
            stream, self._stream = self._stream, None
            close_portaudio_stream(stream)
            self._device = None

    def read(self) -> list[RawBlock]:
        return self._queue.drain()

    @property
    def running(self) -> bool:
        stream = self._stream
        if stream is None:
            return False
        try:
            return bool(stream.is_active())
        except OSError:
            return False

    @property
    def input_latency_s(self) -> float:
        """PortAudio's figure for the open stream's input latency (for echo cancellation)."""
        stream = self._stream
        try:
            return float(stream.get_input_latency()) if stream is not None else 0.0
        except OSError:
            return 0.0

    @property
    def finished(self) -> bool:
        return False

    @property
    def overflow_count(self) -> int:
        return self._queue.dropped + self._overruns

    @property
    def device(self) -> AudioDevice | None:
        return self._device

    def close(self) -> None:
        """Stop and release PortAudio itself."""
        with self._pa_lock:
            self.stop()
            if self._pa is not None:
                close_portaudio(self._pa)
                self._pa = None
