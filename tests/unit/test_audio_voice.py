"""VoiceController: the three modes, streaming vs WAV, taps, caps, mode switches, device errors.

Most tests use ``ManualCapture``, a stand-in microphone the test feeds block by block: a real
device cannot be driven with sample-exact timing in a unit test (the real QtMultimedia and
PyAudio backends are exercised in tests/e2e with a PulseAudio virtual microphone). The hands-free
tests replay real espeak-ng speech through the real FileReplayCapture.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from ravatar_live.audio.capture import AudioDevice, BlockQueue, CaptureListener, RawBlock
from ravatar_live.audio.capture_file import FileReplayCapture
from ravatar_live.audio.errors import CaptureError, DeviceLostError, DeviceNotFoundError
from ravatar_live.audio.pcm import CHUNK_BYTES, CHUNK_SAMPLES
from ravatar_live.audio.resample import CaptureFormat
from ravatar_live.audio.settings import TakeSettings, VoiceSettings
from ravatar_live.audio.voice import VoiceController
from ravatar_live.audio.wav import parse_wav
from tests.support.heartbeat import LoopHeartbeat
from tests.support.speech_synth import Clip, compose, espeak_available, synthesize


class ManualCapture:
    """A microphone the test drives: ``deliver`` plays as if the device just produced it."""

    backend_name = "manual"

    def __init__(self, devices: tuple[str, ...] = ("mic-a", "mic-b")) -> None:
        self.devices = devices
        self.queue = BlockQueue(32000, 10.0)
        self.listener: CaptureListener | None = None
        self._device: AudioDevice | None = None
        self.t = 0.0

    def list_devices(self) -> list[AudioDevice]:
        return [AudioDevice(d, d.upper(), i == 0) for i, d in enumerate(self.devices)]

    def start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        if device_id is not None and device_id not in self.devices:
            raise DeviceNotFoundError("That microphone is not connected.")
        self.listener = listener
        self._device = self.list_devices()[self.devices.index(device_id or self.devices[0])]
        return CaptureFormat(16000, 1)

    def stop(self) -> None:
        self.listener = None
        self._device = None

    def read(self) -> list[RawBlock]:
        return self.queue.drain()

    def deliver(self, samples: np.ndarray) -> None:
        assert self.listener is not None, "the controller did not open the microphone"
        if self.queue.push(samples.astype("<i2").tobytes(), self.t):
            self.listener.audio_available()

    running = property(lambda self: self.listener is not None)
    finished = property(lambda self: False)
    overflow_count = property(lambda self: self.queue.dropped)
    device = property(lambda self: self._device)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self, voice: VoiceController) -> None:
        self.states: list[str] = []
        self.chunks: list[str] = []
        self.takes: list[tuple[bytes, bool, bool]] = []
        self.errors: list[CaptureError] = []
        self.levels: list[tuple[float, float]] = []
        self.started = 0
        self.yields: list[bool] = []  # the avatar asked to pause for the user, and to resume
        self.ended = asyncio.Event()
        self.error_seen = asyncio.Event()
        voice.on_state.connect(self.states.append)
        voice.on_pcm_chunk.connect(self.chunks.append)
        voice.on_take_finished.connect(lambda w, p, s: self.takes.append((w, p, s)))
        voice.on_error.connect(self._error)
        voice.on_level.connect(lambda r, p: self.levels.append((r, p)))
        voice.on_take_started.connect(self._start)
        voice.on_source_ended.connect(self.ended.set)
        voice.on_avatar_yield.connect(self.yields.append)

    def _error(self, error: CaptureError) -> None:
        self.errors.append(error)
        self.error_seen.set()

    def _start(self) -> None:
        self.started += 1


async def wait_phase(voice: VoiceController, phase: str = "open", timeout_s: float = 10) -> None:
    """Until the microphone (opened or closed on its worker thread) reaches ``phase``."""
    if voice.mic_phase == phase:
        return
    reached = asyncio.Event()

    def seen(now: str) -> None:
        if now == phase:
            reached.set()

    voice.on_mic_phase.connect(seen)
    try:
        await asyncio.wait_for(reached.wait(), timeout_s)
    finally:
        voice.on_mic_phase.disconnect(seen)


async def settle() -> None:
    """Let the loop run every callback scheduled so far (drains are FIFO before this one)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.call_soon_threadsafe(fut.set_result, None)
    await fut


def noise(seconds: float, amp: float = 3000.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * 16000)) * amp).astype(np.int16)


def wav_samples(wav: bytes) -> np.ndarray:
    return np.rint(parse_wav(wav).samples[:, 0] * 32768).astype(np.int16)


@pytest.fixture(scope="module")
def two_utterances() -> Clip:
    if not espeak_available():
        pytest.fail("espeak-ng is required (Debian: apt-get install espeak-ng)")
    return compose([synthesize("Hello there, how are you doing today?"),
                    synthesize("Please tell me a story.", voice="en-gb")], [1.5], tail_s=1.0)


# ------------------------------------------------------------------ hands-free (vad)
async def test_vad_mode_streams_one_take_per_utterance(two_utterances: Clip) -> None:
    capture = FileReplayCapture(two_utterances.samples, realtime=False, tail_silence_s=0.5)
    # The audio processing off: the wire must carry the very samples of the source.
    voice = VoiceController(capture, VoiceSettings(mode="vad", echo_cancellation=False,
                                                   noise_suppression=False),
                            loop=asyncio.get_running_loop())
    rec = Recorder(voice)
    voice.start_listening()
    await asyncio.wait_for(rec.ended.wait(), 30)
    assert len(rec.takes) == 2 and rec.started == 2
    assert all(streamed and not ptt for _, ptt, streamed in rec.takes)
    assert rec.states[:5] == ["opening", "listening", "speech", "sending", "listening"]
    # the chunks are exactly the takes' audio, cut in 4096 samples, the last one padded
    wire = b"".join(base64.b64decode(c) for c in rec.chunks)
    assert all(len(base64.b64decode(c)) == CHUNK_BYTES for c in rec.chunks)
    take_audio = [wav_samples(w) for w, _, _ in rec.takes]
    expected = b""
    for audio in take_audio:
        padded = -audio.size % CHUNK_SAMPLES
        expected += audio.astype("<i2").tobytes() + b"\0\0" * padded
    assert wire == expected
    # the pre-roll is there: each take starts before its utterance and holds it whole
    src = two_utterances.samples
    for audio, truth in zip(take_audio, two_utterances.truth, strict=True):
        utterance = src[round(truth.start_s * 16000) : round(truth.end_s * 16000)]
        lead = int(np.flatnonzero(audio)[0])   # silence before the first syllable
        assert lead >= 0.2 * 16000
        assert np.array_equal(audio[lead : lead + utterance.size], utterance)
    assert rec.levels and all(0 <= r <= p <= 1 for r, p in rec.levels)


async def test_vad_mode_as_wav_blobs(two_utterances: Clip) -> None:
    capture = FileReplayCapture(two_utterances.samples, realtime=False, tail_silence_s=0.5)
    settings = VoiceSettings(mode="vad", stream_pcm=False)
    voice = VoiceController(capture, settings, loop=asyncio.get_running_loop())
    rec = Recorder(voice)
    voice.start_listening()
    await asyncio.wait_for(rec.ended.wait(), 30)
    assert rec.chunks == []
    assert [(p, s) for _, p, s in rec.takes] == [(False, False), (False, False)]
    assert parse_wav(rec.takes[0][0]).sample_rate == 16000


async def test_noise_bursts_shorter_than_the_minimum_are_not_takes() -> None:
    capture = ManualCapture()
    voice = VoiceController(capture, VoiceSettings(mode="vad", vad_backend="rms", takes=replace(
        TakeSettings(), min_speech_ms=300)), loop=asyncio.get_running_loop())
    rec = Recorder(voice)
    voice.start_listening()
    await wait_phase(voice)
    capture.deliver(np.zeros(8000, np.int16))
    capture.deliver(noise(0.15))            # a click-like burst
    capture.deliver(np.zeros(16000, np.int16))
    await settle()
    assert "speech" in rec.states and rec.states[-1] == "listening"
    assert rec.takes == [] and rec.chunks == [] and rec.started == 0


# ------------------------------------------------------------------ push-to-talk
async def test_push_to_talk_take_is_sent_with_the_flag() -> None:
    capture, clock = ManualCapture(), FakeClock()
    voice = VoiceController(capture, VoiceSettings(mode="push-to-talk"),
                            loop=asyncio.get_running_loop(), clock=clock)
    rec = Recorder(voice)
    voice.start_listening()
    assert voice.state == "opening"
    await wait_phase(voice)
    assert voice.state == "idle"
    voice.press()
    assert voice.state == "recording"
    capture.deliver(noise(0.15))   # 2400 samples, within the first 200 ms: nothing goes out yet
    capture.deliver(noise(0.15))   # 4800 in total: a full chunk's worth, still held back
    await settle()
    assert rec.chunks == [] and rec.started == 0
    clock.now += 0.25
    capture.deliver(noise(0.5))
    await settle()
    assert rec.started == 1 and len(rec.chunks) == 3   # 12800 samples -> 3 full chunks
    clock.now += 0.5
    voice.release()
    assert len(rec.chunks) == 4                        # the padded remainder, at once
    [(wav, ptt, streamed)] = rec.takes
    assert ptt and streamed and wav_samples(wav).size == 12800
    assert rec.states[-2:] == ["sending", "idle"]


async def test_waiting_for_a_press_the_microphone_goes_only_to_the_meter_uncleaned() -> None:
    """Push-to-talk idle: nobody needs the audio cleaned (audio/capture_apm.py), only its level;
    a press, and hands-free listening, need every frame cleaned."""
    capture, clock = ManualCapture(), FakeClock()
    voice = VoiceController(capture, VoiceSettings(mode="push-to-talk"),
                            loop=asyncio.get_running_loop(), clock=clock)
    rec = Recorder(voice)
    voice.start_listening()
    await wait_phase(voice)
    capture.deliver(noise(1.0))
    await settle()
    assert (voice.echo.frames, voice.echo.frames_waited) == (100, 100)
    assert rec.levels  # the meter still moves
    voice.press()
    capture.deliver(noise(0.5))
    await settle()
    assert (voice.echo.frames, voice.echo.frames_waited) == (150, 100)
    clock.now += 0.5
    voice.release()
    voice.set_mode("vad")
    capture.deliver(noise(0.5))
    await settle()
    assert (voice.echo.frames, voice.echo.frames_waited) == (200, 100)
    assert len(rec.takes) == 1


async def test_a_tap_sends_nothing() -> None:
    capture, clock = ManualCapture(), FakeClock()
    voice = VoiceController(capture, VoiceSettings(), loop=asyncio.get_running_loop(),
                            clock=clock)
    rec = Recorder(voice)
    voice.press()                   # opens the mic by itself
    assert voice.state == "recording"
    await wait_phase(voice)
    capture.deliver(noise(0.19))
    clock.now += 0.19
    voice.release()
    assert rec.takes == [] and rec.chunks == [] and voice.state == "idle"


async def test_push_to_talk_is_capped() -> None:
    capture, clock = ManualCapture(), FakeClock()
    settings = VoiceSettings(takes=replace(TakeSettings(), max_take_s=1.0))
    voice = VoiceController(capture, settings, loop=asyncio.get_running_loop(), clock=clock)
    rec = Recorder(voice)
    voice.press()
    await wait_phase(voice)
    clock.now += 0.3
    capture.deliver(noise(1.5))
    await settle()
    [(wav, ptt, _)] = rec.takes
    assert ptt and wav_samples(wav).size == 16000 and voice.state == "idle"
    voice.release()                 # the capped take already went: release is a no-op
    assert len(rec.takes) == 1


# ------------------------------------------------------------------ record-and-send
async def test_record_and_send() -> None:
    capture = ManualCapture()
    voice = VoiceController(capture, VoiceSettings(mode="record", stream_pcm=False),
                            loop=asyncio.get_running_loop())
    rec = Recorder(voice)
    voice.start_recording()
    assert rec.started == 1
    await wait_phase(voice)
    capture.deliver(noise(1.0))
    voice.stop_recording()          # what was captured before the click is included
    [(wav, ptt, streamed)] = rec.takes
    assert not ptt and not streamed and wav_samples(wav).size == 16000
    voice.start_recording()
    capture.deliver(noise(0.1))     # too short to be a recording
    voice.stop_recording()
    assert len(rec.takes) == 1


# ------------------------------------------------------------------ switching while live
async def test_modes_switch_while_live() -> None:
    capture, clock = ManualCapture(), FakeClock()
    voice = VoiceController(capture, VoiceSettings(mode="vad", vad_backend="rms"),
                            loop=asyncio.get_running_loop(), clock=clock)
    rec = Recorder(voice)
    voice.start_listening()
    await wait_phase(voice)
    capture.deliver(np.zeros(4000, np.int16))
    capture.deliver(noise(1.0))                 # a hands-free take is under way
    await settle()
    assert voice.state == "speech"
    voice.set_mode("push-to-talk")              # finishes that take and stops listening
    assert len(rec.takes) == 1 and voice.state == "idle"
    capture.deliver(noise(1.0))                 # no VAD in push-to-talk: no take
    await settle()
    assert len(rec.takes) == 1
    voice.set_mode("vad")
    assert voice.state == "listening" and voice.mic_open
    voice.press()                               # push-to-talk works in vad mode too
    clock.now += 0.5
    capture.deliver(noise(0.5))
    voice.release()
    assert rec.takes[-1][1] is True and voice.state == "listening"


# ------------------------------------------------------------------ devices and errors
async def test_unknown_device_is_a_readable_error_and_another_works() -> None:
    capture = ManualCapture()
    voice = VoiceController(capture, VoiceSettings(mode="vad"), loop=asyncio.get_running_loop())
    rec = Recorder(voice)
    assert [d.id for d in voice.list_devices()] == ["mic-a", "mic-b"]
    voice.set_device("gone")
    voice.start_listening()
    await asyncio.wait_for(rec.error_seen.wait(), 10)
    assert isinstance(rec.errors[0], DeviceNotFoundError)
    assert "not connected" in rec.errors[0].user_message and voice.state == "idle"
    assert voice.mic_phase == "closed"
    voice.set_device("mic-b")
    voice.start_listening()
    await wait_phase(voice)
    assert voice.state == "listening"
    assert capture.device is not None and capture.device.id == "mic-b"


async def test_a_device_that_stops_delivering_is_reported_and_replaceable() -> None:
    capture = ManualCapture()
    settings = VoiceSettings(mode="vad", stall_timeout_s=0.3, first_audio_timeout_s=0.3)
    voice = VoiceController(capture, settings, loop=asyncio.get_running_loop())
    rec = Recorder(voice)
    voice.start_listening()
    await wait_phase(voice)
    capture.deliver(np.zeros(1600, np.int16))   # then silence from the "unplugged" device
    await asyncio.wait_for(rec.error_seen.wait(), 5)
    assert isinstance(rec.errors[0], DeviceLostError)
    assert not voice.mic_open and voice.state == "idle"
    voice.set_device("mic-b")
    voice.start_listening()                     # no restart needed
    await wait_phase(voice)
    assert voice.state == "listening"


async def test_a_listener_that_raises_does_not_break_audio() -> None:
    capture = ManualCapture()
    voice = VoiceController(capture, VoiceSettings(mode="record"),
                            loop=asyncio.get_running_loop())
    voice.on_take_started.connect(lambda: 1 / 0)
    rec = Recorder(voice)
    voice.start_recording()
    await wait_phase(voice)
    capture.deliver(noise(0.5))
    voice.stop_recording()
    assert len(rec.takes) == 1


# ------------------------------------------------------------------ never waiting on the device
class SlowCapture(ManualCapture):
    """A device whose open and close block like QtMultimedia's and PortAudio's can (seconds with
    PulseAudio); here a fixed 0.75 s each so a blocked loop cannot go unnoticed."""

    def __init__(self) -> None:
        super().__init__()
        self.block_s = 0.75
        self.threads: set[str] = set()

    def start(self, device_id: str | None, listener: CaptureListener) -> CaptureFormat:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.block_s)  # the blocking device call being simulated, not a wait
        return super().start(device_id, listener)

    def stop(self) -> None:
        time.sleep(self.block_s)
        super().stop()


async def test_opening_switching_and_closing_never_stall_the_loop() -> None:
    capture = SlowCapture()
    voice = VoiceController(capture, VoiceSettings(mode="vad", vad_backend="rms"),
                            loop=asyncio.get_running_loop())
    states: list[str] = []
    voice.on_state.connect(states.append)
    beat = LoopHeartbeat(asyncio.get_running_loop()).start()
    voice.start_listening()
    assert voice.state == "opening"
    await wait_phase(voice)
    assert voice.state == "listening" and capture.device is not None
    voice.set_device("mic-b")                      # switch: closes and opens on the worker
    assert voice.mic_phase == "opening"
    await wait_phase(voice)
    assert capture.device is not None and capture.device.id == "mic-b"
    voice.stop_listening()
    assert voice.mic_phase == "closed" and voice.state == "idle"
    voice.start_listening()                        # queued behind the close: runs after it
    await wait_phase(voice)
    stall = beat.stop()
    voice.close()
    print(f"longest loop stall while opening/switching/closing a 0.75 s device: "
          f"{stall * 1000:.1f} ms over {beat.beats} beats")
    # Each blocking call takes 0.75 s on the worker while the loop keeps beating; half that is
    # a bound a loaded 2-core machine keeps (its idle loop shows 20-40 ms gaps) and a blocked
    # loop cannot.
    assert stall < capture.block_s / 2, f"the loop stalled {stall * 1000:.0f} ms"
    assert threading.current_thread().name not in capture.threads
    assert states[:2] == ["opening", "listening"] and states.count("opening") == 3


async def test_a_stale_open_does_not_revive_a_closed_microphone() -> None:
    """Closed while still opening: the late result is ignored and the device ends closed."""
    capture = SlowCapture()
    voice = VoiceController(capture, VoiceSettings(mode="vad", vad_backend="rms"),
                            loop=asyncio.get_running_loop())
    phases: list[str] = []
    voice.on_mic_phase.connect(phases.append)
    voice.start_listening()
    voice.stop_listening()
    assert voice.mic_phase == "closed"
    voice.start_listening()                       # a third request, so we know when all ran
    await wait_phase(voice)
    assert phases == ["opening", "closed", "opening", "open"]
    voice.stop_listening()
    voice.close()                                 # waits (bounded) for the close to run
    assert capture.listener is None
