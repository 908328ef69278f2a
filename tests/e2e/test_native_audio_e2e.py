"""The native player's audio really comes out: a real stream (aiortc streamer sending an Opus
tone after a second of silence) -> NativeStreamPlayer -> each output backend (PortAudio, Qt)
-> PulseAudio's null sink `vsink`, whose monitor we record with `parec`.

Proves: the tone is audible on the sink at 440 Hz; the voice onset is reported; mute and
volume change what comes out; the tap sees exactly the played blocks, timed ahead of now.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from ravatar_live.stream.audio_playback import PlayedBlock
from ravatar_live.stream.connection import ConnectionSettings
from ravatar_live.stream.player import NativeStreamPlayer
from ravatar_live.stream.worker import PlayerSettings
from tests.support.signalling_server import ServerOptions, ServerThread
from tests.support.streamer import TONE_AMPLITUDE
from tests.support.virtual_audio import VirtualAudio

pytestmark = pytest.mark.e2e

WAIT_MS = 30_000
RATE = 48000


def record_sink(seconds: float) -> np.ndarray:
    """`seconds` of what the null sink plays (mono float), read as it arrives."""
    wanted = round(seconds * RATE) * 2
    proc = subprocess.Popen(["parec", "-d", "vsink.monitor", "--raw", "--format=s16le",
                             f"--rate={RATE}", "--channels=1", "--latency-msec=20"],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    data = b""
    try:
        while len(data) < wanted:
            chunk = proc.stdout.read(wanted - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        proc.terminate()
        proc.wait(5)
    assert len(data) == wanted, "parec stopped early"
    return np.frombuffer(data, np.int16).astype(np.float32) / 32768


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0


def peak(samples: np.ndarray) -> float:
    """The tone's amplitude, robust to gaps: a machine too busy for real-time audio drops
    blocks (silence in the recording), which lowers the RMS but not the loud samples' level."""
    return float(np.percentile(np.abs(samples), 99.5))


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / RATE)[int(np.argmax(spectrum))])


class TapLog:
    """Played blocks as the tap sees them (on the audio device's thread)."""

    def __init__(self) -> None:
        self.blocks: list[tuple[float, float, float]] = []  # (played_at, seen_at, rms)
        self._lock = threading.Lock()

    def __call__(self, block: PlayedBlock) -> None:
        level = rms(block.samples.astype(np.float32) / 32768)
        with self._lock:
            self.blocks.append((block.played_at, time.monotonic(), level))


@pytest.fixture
def server() -> Iterator[ServerThread]:
    thread = ServerThread(ServerOptions(codec="H264", voice_after_s=1.0))
    yield thread
    thread.close()


@pytest.fixture(params=["pyaudio", "qt"])
def player(request: pytest.FixtureRequest, qtbot: Any) -> Iterator[NativeStreamPlayer]:
    """The player on each output backend (PortAudio, the default; Qt's QAudioSink, the
    fallback)."""
    settings = PlayerSettings(connection=ConnectionSettings(config_wait_s=0.5,
                                                            streamer_poll_s=0.1),
                              audio_backends=(request.param,))
    made = NativeStreamPlayer(settings)
    yield made
    # The player's stop() needs only a running asyncio loop (no Qt signal delivery).
    assert asyncio.run(made.stop(timeout_s=5.0)) is True


def test_the_avatar_is_heard_on_the_default_output(virtual_mic: VirtualAudio, qtbot: Any,
                                                   server: ServerThread,
                                                   player: NativeStreamPlayer) -> None:
    devices = player.output_devices()
    assert devices, "PulseAudio's null sink should be an output device"
    tap = TapLog()
    player.add_audio_tap(tap)
    problems: list[tuple[str, str]] = []
    player.problem.connect(lambda kind, text: problems.append((kind, text)))
    with qtbot.waitSignal(player.avatar_audio_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    assert problems == []

    heard = record_sink(1.0)
    assert rms(heard) > 0.5 * TONE_AMPLITUDE / np.sqrt(2), f"too quiet: {rms(heard):.4f}"
    assert abs(dominant_hz(heard) - 440) < 5

    # The tap saw the blocks the device played, each due a little after it was handed over.
    ahead = [played - seen for played, seen, _ in tap.blocks[-20:]]
    assert all(0 <= a < 0.5 for a in ahead), ahead
    assert any(level > 0.1 for _, _, level in tap.blocks)

    player.set_volume(0.25)
    quarter = record_sink(1.0)[RATE // 2:]  # the last half second: the new volume for sure
    assert 0.15 < peak(quarter) / peak(heard) < 0.35

    player.set_muted(True)
    after = record_sink(1.5)
    # Silent once the blocks muted at the tap reach the sink (well within the first second).
    assert rms(after[-RATE // 2:]) < 0.001
    assert tap.blocks[-1][2] == 0.0


def test_a_chosen_output_and_a_vanished_one(virtual_mic: VirtualAudio, qtbot: Any,
                                            server: ServerThread, player: NativeStreamPlayer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Playing on a chosen device id; switching mid-stream; an id no longer present falls back
    to the system default instead of going silent."""
    caplog.set_level(logging.INFO, logger="ravatar_live")
    [chosen, *_] = player.output_devices()
    player.set_output_device(chosen.id)
    with qtbot.waitSignal(player.avatar_audio_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    assert rms(record_sink(0.5)) > 0.05
    player.set_output_device(chosen.id.split(":", 1)[0] + ":no-such-device")
    # Reopened on the default (the same null sink here): the tone comes back.
    after = record_sink(2.0)
    assert rms(after[-RATE // 2:]) > 0.05
    assert "the chosen audio output is gone; using the system default" in caplog.text
