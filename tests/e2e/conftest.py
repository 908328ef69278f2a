"""End-to-end fixtures: a PulseAudio virtual microphone for the whole session
(tests/support/virtual_audio.py; the app's own output goes to `vsink` too, as it always has here).

It is started when this conftest loads (before any Qt or PortAudio code can cache "no audio
server") and found by every client through the PULSE_* variables set here.
"""

from __future__ import annotations

import os

import pytest

from tests.support.virtual_audio import VirtualAudio, start_virtual_audio

_PULSE: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    try:
        audio = start_virtual_audio(default_sink="vsink")
    except RuntimeError as exc:
        _PULSE["mic"] = str(exc)
        return
    os.environ.update(audio.env)  # every client of this process and its children finds it
    _PULSE["mic"] = audio


def pytest_unconfigure(config: pytest.Config) -> None:
    mic = _PULSE.pop("mic", None)
    if isinstance(mic, VirtualAudio):
        mic.stop()


@pytest.fixture(scope="session")
def virtual_mic() -> VirtualAudio:
    mic = _PULSE.get("mic")
    if not isinstance(mic, VirtualAudio):
        pytest.fail(f"The PulseAudio virtual microphone is not available: {mic}")
    return mic
