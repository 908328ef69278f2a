"""Audio output backends for the avatar's voice: one small protocol, two implementations.

- `PyAudioOutput` (PortAudio): PortAudio's own thread calls our callback for each 20 ms block.
- `QtAudioOutput` (Qt Multimedia): a QAudioSink in pull mode on its own QThread (which runs a Qt
  event loop), reading from a QIODevice that calls the same render function.

Both ask for 48 kHz stereo int16 (what Opus decodes to) and call `render(frames, played_at)`
on their device thread; nothing runs on the GUI thread. `open_output()` tries the backends in
order of preference (measured in bench_native_player: see `DEFAULT_BACKENDS`) and raises
NoOutputDeviceError when there is no output device at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.stream.errors import NoOutputDeviceError, PlaybackError

if TYPE_CHECKING:
    from ravatar_live.stream.audio_playback import Render

logger = logging.getLogger(__name__)

RATE = 48000  # Opus decodes to 48 kHz
CHANNELS = 2
BLOCK_FRAMES = 960  # 20 ms, one Opus frame: the block size output backends ask for

# Preference order, measured in bench_native_player (PulseAudio null sink, 2-core box): both
# cost ~3 % of a core; PortAudio pulls a steady 20 ms block, QAudioSink ~85 ms at a time (coarser
# timing for the echo canceller's reference, more audio in flight). PortAudio first; Qt when
# PyAudio is not installed or finds no device.
DEFAULT_BACKENDS = ("pyaudio", "qt")


class AudioOutput(Protocol):
    backend_name: str

    def list_devices(self) -> list[AudioDevice]:
        """Output devices, the system default first."""
        ...

    def open(self, device_id: str | None, render: Render) -> AudioDevice:
        """Start playing from `render` on `device_id` (None = the system default). Raises
        NoOutputDeviceError / PlaybackError."""
        ...

    def close(self) -> None:
        """Stop and release the device; safe to call twice."""
        ...


def make_backend(name: str) -> AudioOutput:
    """The backend called `name` ("pyaudio" or "qt"); PlaybackError when it cannot run here.
    Imported here, when sound is first played: they load PyAV and Qt Multimedia, which a window
    that only shows the web view never needs (~0.2 s of start-up)."""
    if name == "pyaudio":
        from ravatar_live.stream.audio_output_pyaudio import PyAudioOutput  # noqa: PLC0415

        return PyAudioOutput()
    if name == "qt":
        from ravatar_live.stream.audio_output_qt import QtAudioOutput  # noqa: PLC0415

        return QtAudioOutput()
    raise PlaybackError(f"There is no audio output backend called {name!r}.")


def list_output_devices(backends: Sequence[str] = DEFAULT_BACKENDS) -> list[AudioDevice]:
    """The output devices of the first backend that works here (may be empty). Blocks briefly
    (PortAudio initialises): call it when the user opens a device list."""
    for name in backends:
        try:
            backend = make_backend(name)
        except PlaybackError:
            continue
        try:
            return backend.list_devices()
        finally:
            backend.close()
    return []


def open_output(device_id: str | None, render: Render,
                backends: Sequence[str] = DEFAULT_BACKENDS) -> tuple[AudioOutput, AudioDevice]:
    """Open the first backend that works. A device id names its backend ("pyaudio:..." or
    "qt:..."); an id no backend knows any more falls back to the system default."""
    errors: list[PlaybackError] = []
    wanted = [b for b in backends if device_id and device_id.startswith(f"{b}:")]
    order = wanted + [b for b in backends if b not in wanted]
    for name in order:
        try:
            backend = make_backend(name)
        except PlaybackError as exc:
            logger.info("audio output backend %s unavailable: %s", name, exc)
            errors.append(exc)
            continue
        chosen = device_id if name in wanted else None
        try:
            try:
                return backend, backend.open(chosen, render)
            except PlaybackError:
                if chosen is None:
                    raise
                logger.warning("the chosen audio output is gone; using the system default")
                return backend, backend.open(None, render)
        except PlaybackError as exc:
            logger.info("audio output backend %s could not open: %s", name, exc)
            backend.close()
            errors.append(exc)
    if errors and all(isinstance(e, NoOutputDeviceError) for e in errors):
        raise errors[0]
    opened = [e for e in errors if not isinstance(e, NoOutputDeviceError)]
    raise opened[0] if opened else NoOutputDeviceError(
        "No audio output device was found, so the avatar cannot be heard.")
