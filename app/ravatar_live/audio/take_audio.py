"""A take being assembled (all its audio for the WAV, its chunker for streaming) and how it goes
out: the chunks while it is spoken, the padded tail and the WAV when it ends."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ravatar_live.audio.listeners import Listeners
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array, PcmChunk, PcmChunker
from ravatar_live.audio.wav import build_wav

log = logging.getLogger(__name__)


class TakeAudio:
    """A take's samples so far. ``manual``: push-to-talk or a recording (else hands-free);
    ``upto``: for hands-free takes, the absolute history index added so far."""

    def __init__(self, *, manual: bool, push_to_talk: bool, started_wall: float) -> None:
        self.manual = manual
        self.push_to_talk = push_to_talk
        self.started_wall = started_wall
        self.confirmed = False
        self.echo_check = False  # confirmed by the VAD, held until judged not to be echo
        self.echo_judged_at = 0  # its length when last judged
        self.echo_likeness = 0.0  # the highest judged so far
        self.upto = 0
        self.parts: list[Int16Array] = []
        self.samples = 0
        self.chunker = PcmChunker()
        self.streamed_chunks = 0

    def add(self, samples: Int16Array) -> None:
        if samples.size:
            self.parts.append(samples)
            self.samples += samples.size

    def audio(self) -> Int16Array:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int16)

    def chunks(self, samples: Int16Array, arrived_at: float) -> list[PcmChunk]:
        """The whole 4096-sample chunks that ``samples`` completes."""
        return self.chunker.push(samples, arrived_at) if samples.size else []

    def tail(self) -> PcmChunk | None:
        """The padded remainder: the end of speech goes out at once."""
        return self.chunker.flush()

    @property
    def kind(self) -> str:
        return "push-to-talk" if self.push_to_talk else ("manual" if self.manual else "vad")


class TakeOutput:
    """Sends takes: chunks on ``on_pcm_chunk`` (when ``stream_pcm()``), ``on_take_started`` once
    a take is confirmed, ``on_take_finished(wav, push_to_talk, streamed)`` at its end."""

    def __init__(self, stream_pcm: Callable[[], bool]) -> None:
        self.on_take_started: Listeners[[]] = Listeners("take_started")
        self.on_pcm_chunk: Listeners[[str]] = Listeners("pcm_chunk")
        self.on_take_finished: Listeners[[bytes, bool, bool]] = Listeners("take_finished")
        self._stream_pcm = stream_pcm
        self.last_chunk_captured_at = 0.0  # monotonic arrival of the last chunk's final sample

    def confirm(self, take: TakeAudio, arrived_at: float = 0.0) -> None:
        """The take is real: say so and stream what it holds so far."""
        take.confirmed = True
        self.on_take_started.emit()
        self.stream(take, take.audio(), arrived_at)

    def stream(self, take: TakeAudio, samples: Int16Array, arrived_at: float) -> None:
        if self._stream_pcm():
            for chunk in take.chunks(samples, arrived_at):
                self._send(take, chunk)

    def finish(self, take: TakeAudio) -> None:
        streamed = self._stream_pcm()
        if streamed:
            tail = take.tail()
            if tail is not None:
                self._send(take, tail)
        audio = take.audio()
        log.info("take finished: %.2f s, %s, %s", audio.size / SAMPLE_RATE, take.kind,
                 f"streamed in {take.streamed_chunks} chunks" if streamed else "as WAV")
        self.on_take_finished.emit(build_wav(audio), take.push_to_talk, streamed)

    def _send(self, take: TakeAudio, chunk: PcmChunk) -> None:
        take.streamed_chunks += 1
        self.last_chunk_captured_at = chunk.last_sample_at
        self.on_pcm_chunk.emit(chunk.base64)
