"""PortAudio (PyAudio) output: PortAudio's callback thread pulls each block from `render`.

Device ids are ``pyaudio:<host api>:<device name>`` (indexes change as devices come and go),
like the capture backend's.
"""

from __future__ import annotations

import logging
from typing import Any

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.audio.portaudio import close_portaudio, close_portaudio_stream, open_portaudio
from ravatar_live.audio.portaudio_clock import PortAudioClock
from ravatar_live.stream.audio_output import BLOCK_FRAMES, CHANNELS, RATE
from ravatar_live.stream.audio_playback import Render
from ravatar_live.stream.errors import NoOutputDeviceError, PlaybackError

logger = logging.getLogger(__name__)

try:
    import pyaudio
except ImportError:  # optional extra: the Qt backend is used instead
    pyaudio = None


class PyAudioOutput:
    backend_name = "pyaudio"

    def __init__(self) -> None:
        if pyaudio is None:
            raise PlaybackError("PyAudio is not installed (pip install 'ravatar-live[pyaudio]').")
        self._pa: Any = open_portaudio()
        self._stream: Any = None

    def _outputs(self) -> list[tuple[AudioDevice, dict[str, Any]]]:
        pa = self._pa
        try:
            default_index = pa.get_default_output_device_info()["index"]
        except OSError:
            default_index = -1
        found: list[tuple[AudioDevice, dict[str, Any]]] = []
        for i in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(i)
            if int(info.get("maxOutputChannels", 0)) < 1:
                continue
            api = pa.get_host_api_info_by_index(info["hostApi"])["name"]
            found.append((AudioDevice(f"pyaudio:{api}:{info['name']}",
                                      f"{info['name']} ({api})", i == default_index), info))
        found.sort(key=lambda pair: not pair[0].is_default)
        return found

    def list_devices(self) -> list[AudioDevice]:
        return [device for device, _ in self._outputs()]

    def open(self, device_id: str | None, render: Render) -> AudioDevice:
        self._close_stream()
        outputs = self._outputs()
        if not outputs:
            raise NoOutputDeviceError(
                "No audio output device was found, so the avatar cannot be heard.")
        match = [pair for pair in outputs if device_id is None or pair[0].id == device_id]
        if not match:
            raise PlaybackError("The chosen speaker is not connected any more.",
                                detail=str(device_id))
        device, info = match[0]
        channels = CHANNELS
        clock = PortAudioClock()

        def on_block(_in: bytes | None, frames: int, time_info: Any, _status: int
                     ) -> tuple[bytes, int]:
            # PortAudio's thread. The DAC time is on the stream's clock; its distance from the
            # stream's "now" (when PortAudio called, before this Python got the GIL) is how far
            # ahead of the speaker this block is.
            called = time_info.get("current_time", 0.0)
            ahead = time_info.get("output_buffer_dac_time", 0.0) - called
            played_at = clock.callback_time(called) + (ahead if 0.0 < ahead < 1.0 else 0.0)
            data = render(frames, played_at)
            return data, pyaudio.paContinue

        try:
            self._stream = self._pa.open(
                format=pyaudio.paInt16, channels=channels, rate=RATE, output=True,
                output_device_index=info["index"], frames_per_buffer=BLOCK_FRAMES,
                stream_callback=on_block)
        except (OSError, ValueError) as exc:
            self._stream = None
            raise PlaybackError(f"The speaker {device.name} could not be opened.",
                                detail=str(exc)) from exc
        logger.info("playing the avatar's audio on %s (PortAudio, latency %.0f ms)",
                    device.name, 1000 * self._stream.get_output_latency())
        return device

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close_portaudio_stream(stream)

    def close(self) -> None:
        self._close_stream()
        if self._pa is not None:
            close_portaudio(self._pa)
            self._pa = None
