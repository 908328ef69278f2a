"""The window never waits on the microphone: with each real capture backend on the PulseAudio
virtual microphone, opening, switching devices and closing leave the event loop free (a loop
heartbeat measures its longest stall; the figure is printed for the closing note)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.settings import VoiceSettings
from ravatar_live.audio.voice import VoiceController
from tests.support.heartbeat import LoopHeartbeat

pytestmark = pytest.mark.e2e

STALL_BOUND_S = 0.5  # the goal is < 50 ms; a loaded 2-core box adds gaps of its own (seen: up
# to ~0.2 s at load 10), while a blocking open (Qt waits up to 5 s) or PortAudio stop (1.6 s
# measured here with PulseAudio) would pass it by far


def make_capture(backend: str) -> AudioCapture:
    if backend == "qt":
        from ravatar_live.audio.capture_qt import QtAudioCapture

        return QtAudioCapture()
    from ravatar_live.audio.capture_pyaudio import PyAudioCapture

    return PyAudioCapture()


class Watch:
    """Events of one controller: microphone phases and audio flowing."""

    def __init__(self, voice: VoiceController) -> None:
        self.opened = asyncio.Event()
        self.heard = asyncio.Event()
        self.errors: list[object] = []
        voice.on_mic_phase.connect(lambda phase: self.opened.set() if phase == "open" else None)
        voice.on_level.connect(lambda _rms, _peak: self.heard.set())
        voice.on_error.connect(self.errors.append)

    async def open_and_hearing(self) -> None:
        await asyncio.wait_for(self.opened.wait(), 15)
        await asyncio.wait_for(self.heard.wait(), 15)  # QtMultimedia's first read can lag
        self.opened.clear()
        self.heard.clear()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["qt", "pyaudio"])
async def test_microphone_open_switch_close_leave_the_loop_free(
        backend: str, virtual_mic: Any, qapp: Any) -> None:
    capture = make_capture(backend)
    devices = capture.list_devices()
    assert devices, f"{backend} sees no microphone"
    voice = VoiceController(capture, VoiceSettings(mode="vad", vad_backend="webrtc"),
                            loop=asyncio.get_running_loop())
    watch = Watch(voice)
    stalls: dict[str, float] = {}
    try:
        beat = LoopHeartbeat(asyncio.get_running_loop()).start()
        voice.start_listening()
        await watch.open_and_hearing()
        stalls["open"] = beat.stop()

        beat = LoopHeartbeat(asyncio.get_running_loop()).start()
        voice.set_device(devices[-1].id)  # from "system default" to a named device
        await watch.open_and_hearing()
        stalls["switch"] = beat.stop()

        beat = LoopHeartbeat(asyncio.get_running_loop()).start()
        voice.stop_listening()
        voice.start_listening()  # runs after the close on the worker: its end marks the close
        await watch.open_and_hearing()
        stalls["close+open"] = beat.stop()
    finally:
        voice.close()
    print(f"{backend}: longest loop stall " + ", ".join(
        f"{what} {s * 1000:.1f} ms" for what, s in stalls.items()))
    assert watch.errors == []
    assert max(stalls.values()) < STALL_BOUND_S, stalls
