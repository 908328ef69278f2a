"""Virtual microphone -> real capture backend -> VAD takes -> PCM chunks over the real ChatSocket
-> the real simulator, whose saved audio must match what was played: every voiced 20 ms of it
found nearly intact, in order, with at most a few samples lost (see LOSS_ALLOWED)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from ravatar_live.api.models import ChatContext, StreamSize, pcm_chunk_message
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.ws import ChatSocket
from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.errors import CaptureError
from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.settings import VoiceSettings
from ravatar_live.audio.voice import VoiceController
from ravatar_live.audio.wav import build_wav, read_wav
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator
from tests.support.signal_match import align
from tests.support.speech_synth import compose, espeak_available, synthesize

pytestmark = pytest.mark.e2e

PROJECT_ID = "0123456789abcdef01234567"
USER_ID = "e2e0e2e0e2e0e2e0e2e0e2e0"
# Samples an utterance may lose on the way. PortAudio's stream keeps PulseAudio's default record
# buffer: nothing is lost (1 is slack for a lag read one sample off). Qt 6.12 asks PulseAudio for
# a record buffer of one 64 ms fragment, so when its audio thread is late (a busy machine) the
# server drops samples: 0-18 per utterance with two busy loops (30 utterances) but once 247,
# and 111 at once with four (capture_qt). Speech survives that. What our reader could do wrong
# does not pass: a whole read lost (1024 samples), a block played twice (inserted), a byte out
# of step (nothing intact after it).
LOSS_ALLOWED = {"pyaudio": 1, "qt": 1023}


@dataclass
class Speech:
    path: Path
    utterances: list[Int16Array]


@dataclass
class Live:
    sim: RunningSimulator
    sock: ChatSocket
    ctx: ChatContext


class ChunkSender:
    """One writer task: chunks go out in order, one WebSocket frame each."""

    def __init__(self, sock: ChatSocket, ctx: ChatContext) -> None:
        self._sock, self._ctx = sock, ctx
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.sent = 0

    def put(self, b64: str) -> None:
        self._queue.put_nowait(b64)

    async def _run(self) -> None:
        while True:
            b64 = await self._queue.get()
            await self._sock.send(pcm_chunk_message(self._ctx, b64))
            self.sent += 1
            self._queue.task_done()

    async def drain(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    if not espeak_available():
        pytest.fail("espeak-ng is required for the e2e voice test (apt-get install espeak-ng)")
    utterances = [synthesize("Hello avatar, what can you do for me today?"),
                  synthesize("Please tell me a short story.", voice="en-gb", speed=160)]
    clip = compose(utterances, [2.0], lead_s=0.3, tail_s=1.2)
    path = tmp_path_factory.mktemp("speech") / "two-utterances.wav"
    path.write_bytes(build_wav(clip.samples))
    return Speech(path, utterances)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    sim = await start_simulator(SimulatorConfig(save_audio_dir=tmp_path / "saved",
                                                transcribe=False))
    try:
        async with aiohttp.ClientSession() as http:
            client = RavatarClient(http, sim.base_url, PROJECT_ID, USER_ID)
            conn = await client.connection()
            avatar = conn.live_avatars[0]
            session = await client.start_live_session(avatar.id, StreamSize(640, 360))
            sock = ChatSocket(http, sim.ws_url, client.token)
            await sock.connect()
            ctx = ChatContext(avatar.id, USER_ID, conn.languages[0].code, session=conn.session,
                              license_id=session.license_id)
            try:
                yield Live(sim, sock, ctx)
            finally:
                await sock.close()
                await client.end_live_session(session.license_id)
    finally:
        await sim.close()


def make_capture(backend: str) -> AudioCapture:
    if backend == "qt":
        from ravatar_live.audio.capture_qt import QtAudioCapture

        return QtAudioCapture()
    from ravatar_live.audio.capture_pyaudio import PyAudioCapture

    return PyAudioCapture()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("backend", ["qt", "pyaudio"])
async def test_spoken_takes_reach_the_simulator_intact(
        backend: str, virtual_mic: Any, speech: Speech, live: Live, qapp: Any) -> None:
    capture = make_capture(backend)
    devices = capture.list_devices()
    assert devices and devices[0].is_default, f"{backend} sees no default microphone: {devices}"
    # Transport integrity: the samples played must arrive as they were, so the microphone's
    # echo canceller and noise suppressor (which change them on purpose) are off here.
    voice = VoiceController(capture, VoiceSettings(mode="vad", echo_cancellation=False,
                                                   noise_suppression=False),
                            loop=asyncio.get_running_loop())
    sender = ChunkSender(live.sock, live.ctx)
    voice.on_pcm_chunk.connect(sender.put)
    takes: list[bytes] = []
    errors: list[CaptureError] = []
    two_takes, heard = asyncio.Event(), asyncio.Event()
    voice.on_level.connect(lambda rms, peak: heard.set())
    voice.on_error.connect(errors.append)

    def on_take(wav: bytes, push_to_talk: bool, streamed: bool) -> None:
        assert streamed and not push_to_talk
        takes.append(wav)
        if len(takes) == 2:
            two_takes.set()

    voice.on_take_finished.connect(on_take)
    try:
        voice.start_listening()
        await asyncio.wait_for(heard.wait(), 10)  # QtMultimedia's first read takes 0.5-2.4 s
        await virtual_mic.play_async(speech.path)
        await asyncio.wait_for(two_takes.wait(), 10)
        await sender.drain()
        utterances = await live.sim.wait_for_utterances(2, within_s=10)
    finally:
        voice.close()
        await sender.close()
    assert errors == []
    assert len(takes) == 2, "one take per utterance"
    assert [u.source for u in utterances] == ["pcm", "pcm"]
    assert capture.overflow_count == 0
    for utt, reference in zip(utterances, speech.utterances, strict=True):
        assert utt.saved_path is not None
        saved = read_wav(utt.saved_path)
        received = np.rint(saved.samples[:, 0] * 32768)
        found = align(received, reference)
        summary = (f"{backend}: {found.matched:.0%} of the voiced windows intact, "
                   f"{found.lost} samples lost, {found.inserted} inserted")
        assert found.matched >= 0.8, summary
        assert found.inserted <= 1, summary  # 1: slack, as for the loss
        assert found.lost <= LOSS_ALLOWED[backend], summary
