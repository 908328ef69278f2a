"""PortAudio (PyAudio) start, stop and stream close, shared by the capture and playback backends.

PortAudio's initialisation and termination are process-wide and not thread-safe, and the
microphone (its worker thread) and the avatar's playback (the player's thread) each start one:
measured, two at once made PortAudio abort the process ("InitializeHostApis: Assertion
`defaultInputDevice < deviceCount' failed") while PulseAudio devices came and went. So both go
through one lock here.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ravatar_live.audio.native_chatter import route_native_audio_chatter

try:
    import pyaudio
except ImportError:  # optional extra: the callers check and fall back to Qt
    pyaudio = None

_portaudio_lock = threading.Lock()


def open_portaudio() -> Any:
    """A `pyaudio.PyAudio` (PortAudio initialised), one thread at a time."""
    route_native_audio_chatter()
    with _portaudio_lock:
        return pyaudio.PyAudio()


def close_portaudio(pa: Any) -> None:
    """Terminate what `open_portaudio` started, one thread at a time."""
    with _portaudio_lock:
        pa.terminate()


def close_portaudio_stream(stream: Any) -> None:
    """Stop and close a PortAudio stream (None: nothing); a device already gone is not an
    error here."""
    if stream is None:
        return
    with contextlib.suppress(OSError):
        stream.stop_stream()
    with contextlib.suppress(OSError):
        stream.close()
