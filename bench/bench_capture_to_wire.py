"""Capture-to-wire latency through the real pipeline, per capture backend.

A PulseAudio virtual microphone (null sink + remap source, as in tests/e2e) plays espeak-ng speech;
the backend captures it, the VoiceController (record mode, PCM streaming) chunks it, and a single
writer sends each chunk as a Live Mode message over the real ChatSocket to the real simulator.
Measured per chunk: from the moment the block holding the chunk's last sample arrived from the
device to the moment its WebSocket frame was written. Also: time to the first audio after open.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import numpy as np
from PySide6.QtCore import QCoreApplication

from ravatar_live.api.models import ChatContext, StreamSize, pcm_chunk_message
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.ws import ChatSocket
from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.settings import VoiceSettings
from ravatar_live.audio.voice import VoiceController
from ravatar_live.audio.wav import build_wav
from ravatar_live.simulator.server import SimulatorConfig, start_simulator
from tests.support.speech_synth import compose, synthesize
from tests.support.virtual_audio import virtual_audio_in_this_process

PROJECT_ID = "0123456789abcdef01234567"
USER_ID = "bench0bench0bench0bench0"


def make_capture(name: str) -> AudioCapture:
    if name == "qt":
        from ravatar_live.audio.capture_qt import QtAudioCapture

        return QtAudioCapture()
    from ravatar_live.audio.capture_pyaudio import PyAudioCapture

    return PyAudioCapture()


async def measure(name: str, wav: Path) -> None:
    sim = await start_simulator(SimulatorConfig(transcribe=False))
    try:
        async with aiohttp.ClientSession() as http:
            client = RavatarClient(http, sim.base_url, PROJECT_ID, USER_ID)
            conn = await client.connection()
            avatar = conn.live_avatars[0]
            live = await client.start_live_session(avatar.id, StreamSize(640, 360))
            sock = ChatSocket(http, sim.ws_url, client.token)
            await sock.connect()
            ctx = ChatContext(avatar.id, USER_ID, conn.languages[0].code, session=conn.session,
                              license_id=live.license_id)
            queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
            latencies: list[float] = []

            async def writer() -> None:
                while True:
                    b64, captured_at = await queue.get()
                    await sock.send(pcm_chunk_message(ctx, b64))
                    latencies.append(time.monotonic() - captured_at)
                    queue.task_done()

            capture = make_capture(name)
            voice = VoiceController(capture, VoiceSettings(mode="record"),
                                    loop=asyncio.get_running_loop())
            voice.on_pcm_chunk.connect(
                lambda b64: queue.put_nowait((b64, voice.last_chunk_captured_at)))
            heard = asyncio.Event()
            voice.on_level.connect(lambda rms, peak: heard.set())
            task = asyncio.get_running_loop().create_task(writer())
            t_open = time.monotonic()
            voice.start_listening()
            await asyncio.wait_for(heard.wait(), 15)
            first_audio = time.monotonic() - t_open
            voice.start_recording()
            proc = await asyncio.create_subprocess_exec("paplay", "-d", "vsink", str(wav))
            await proc.wait()
            voice.stop_recording()
            await queue.join()
            voice.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await sock.close()
            await client.end_live_session(live.license_id)
        ms = np.array(latencies) * 1000
        print(f"  {name:<8} chunks {ms.size:3d}  P50 {np.percentile(ms, 50):6.2f} ms  "
              f"P99 {np.percentile(ms, 99):6.2f} ms  max {ms.max():6.2f} ms  "
              f"first audio after open {first_audio * 1000:5.0f} ms  "
              f"overflows {capture.overflow_count}")
    finally:
        await sim.close()


def main() -> None:
    with virtual_audio_in_this_process() as audio:  # RuntimeError says what to install
        app = QCoreApplication.instance() or QCoreApplication([])
        phrases = ["The quick brown fox jumps over the lazy dog.",
                   "She sells sea shells by the sea shore.",
                   "How much wood would a woodchuck chuck if a woodchuck could chuck wood?"]
        clip = compose([synthesize(p) for p in phrases], [0.3, 0.3], lead_s=0.2, tail_s=0.3)
        wav = audio.run_dir / "speech.wav"
        wav.write_bytes(build_wav(clip.samples))
        print(f"capture-to-wire ({clip.duration_s:.1f} s of speech per backend, "
              "chunk = 4096 samples):")
        for name in ("pyaudio", "qt"):
            asyncio.run(measure(name, wav))
        del app


if __name__ == "__main__":
    main()
