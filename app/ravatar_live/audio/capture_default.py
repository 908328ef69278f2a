"""Which capture backend the app uses when nothing else is asked for."""

from __future__ import annotations

import logging

from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.errors import BackendUnavailableError

log = logging.getLogger(__name__)


def default_capture() -> AudioCapture:
    """PyAudio when installed, else QtMultimedia.

    Measured (bench/bench_capture_to_wire.py, PulseAudio virtual mic): both add under 1 ms
    median from device block to WebSocket frame, but PyAudio delivers 20 ms blocks where
    QAudioSource needs a 100 ms buffer and then delivers 64 ms blocks (smaller buffers lost
    a third of the audio with PulseAudio), PyAudio does not depend on Qt's audio plugin, and
    under CPU load Qt's PulseAudio stream drops samples where PyAudio's does not (capture_qt).
    """
    try:
        from ravatar_live.audio.capture_pyaudio import PyAudioCapture  # noqa: PLC0415

        return PyAudioCapture()
    except BackendUnavailableError as exc:
        log.info("PyAudio capture unavailable (%s); using QtMultimedia", exc.user_message)
        from ravatar_live.audio.capture_qt import QtAudioCapture  # noqa: PLC0415

        return QtAudioCapture()
