"""The player's microphone as the streamer receives it: audio on the offer's sendrecv Opus track,
cut into utterances (a pause ends one, like the chat socket's PCM path) for the recogniser.

`UtteranceCutter` is pure numpy (16 kHz mono float in, s16le utterances out); `MicListener` reads
an aiortc track into it. A muted microphone sends silence (track disabled) or nothing at all:
neither ever starts an utterance, and an utterance in progress ends when the audio stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soxr
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from ravatar_live.simulator.audio import SAMPLE_RATE, float_to_pcm16

log = logging.getLogger(__name__)

# About -36 dBFS: speech into a microphone, well above a quiet room or a muted (silent) track.
SPEECH_RMS = 0.016
PRE_ROLL_S = 0.3  # kept before the first voiced block, so word onsets are not clipped
MIN_VOICED_S = 0.2  # less voiced audio than this is a click or a cough, not an utterance
MAX_UTTERANCE_S = 15.0  # like the official demo's cap on a take


@dataclass(frozen=True)
class CutResult:
    """What one block of audio did: started an utterance and/or finished one (its s16le PCM)."""

    started: bool = False
    finished: bytes | None = None


class UtteranceCutter:
    """An RMS gate with pre-roll and hangover over 16 kHz mono float audio."""

    def __init__(self, gap_s: float, speech_rms: float = SPEECH_RMS) -> None:
        self._gap = round(gap_s * SAMPLE_RATE)
        self._speech_rms = speech_rms
        self._pre_roll: deque[np.ndarray] = deque()
        self._pre_roll_len = 0
        self._blocks: list[np.ndarray] | None = None  # the open utterance
        self._length = 0
        self._voiced = 0
        self._quiet = 0  # samples since the last voiced block
        self.heard_speech = False

    @property
    def open(self) -> bool:
        """An utterance is in progress."""
        return self._blocks is not None

    def feed(self, block: np.ndarray) -> CutResult:
        """Take the next block (any length) of 16 kHz mono float audio."""
        if not len(block):
            return CutResult()
        block = np.nan_to_num(block.astype(np.float32, copy=False))
        voiced = float(np.sqrt(np.mean(block * block))) >= self._speech_rms
        if self._blocks is None:
            if not voiced:
                self._remember(block)
                return CutResult()
            self._blocks = list(self._pre_roll)
            self._length = self._pre_roll_len
            self._pre_roll.clear()
            self._pre_roll_len = 0
            self._voiced = self._quiet = 0
            self.heard_speech = True
            self._add(block, voiced)
            return CutResult(started=True)
        self._add(block, voiced)
        if self._quiet >= self._gap or self._length >= MAX_UTTERANCE_S * SAMPLE_RATE:
            return CutResult(finished=self.flush())
        return CutResult()

    def flush(self) -> bytes | None:
        """End the open utterance now (the audio stopped); its PCM, or None when there was none
        or it was too short to be speech."""
        blocks, self._blocks = self._blocks, None
        if blocks is None or self._voiced < MIN_VOICED_S * SAMPLE_RATE:
            return None
        audio = np.concatenate(blocks)
        # Keep a short tail after the last voiced block, not the whole pause that ended it.
        tail = max(0, self._quiet - round(0.2 * SAMPLE_RATE))
        return float_to_pcm16(audio[: len(audio) - tail] if tail else audio)

    def _add(self, block: np.ndarray, voiced: bool) -> None:
        assert self._blocks is not None
        self._blocks.append(block)
        self._length += len(block)
        if voiced:
            self._voiced += len(block)
            self._quiet = 0
        else:
            self._quiet += len(block)

    def _remember(self, block: np.ndarray) -> None:
        self._pre_roll.append(block)
        self._pre_roll_len += len(block)
        while self._pre_roll and self._pre_roll_len - len(self._pre_roll[0]) >= (
                PRE_ROLL_S * SAMPLE_RATE):
            self._pre_roll_len -= len(self._pre_roll.popleft())


def mono_float(frame: AudioFrame) -> np.ndarray:
    """A decoded audio frame (any format and layout) as mono float32 in [-1, 1]."""
    channels = len(frame.layout.channels)
    data = frame.to_ndarray()
    if data.dtype == np.int16:
        samples = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        samples = data.astype(np.float32) / 2147483648.0
    else:
        samples = data.astype(np.float32)
    if frame.format.is_planar:
        return samples.mean(axis=0) if channels > 1 else samples[0]
    interleaved = samples.reshape(-1)
    return interleaved.reshape(-1, channels).mean(axis=1) if channels > 1 else interleaved


class MicListener:
    """Reads the player's microphone track; reports speech starts and finished utterances through
    the callbacks (called on this loop). `frames`, `heard_speech`, `utterances` are its facts."""

    def __init__(self, track: MediaStreamTrack, gap_s: float,
                 on_speech_start: Callable[[], None],
                 on_utterance: Callable[[bytes], None],
                 on_frame: Callable[[], None] | None = None) -> None:
        self._track = track
        self._on_frame = on_frame
        self._gap_s = gap_s
        self._cutter = UtteranceCutter(gap_s)
        self._on_speech_start = on_speech_start
        self._on_utterance = on_utterance
        self._resampler: soxr.ResampleStream | None = None
        self._rate = 0
        self.frames = 0
        self.utterances = 0

    @property
    def heard_speech(self) -> bool:
        """Whether any unmuted speech arrived."""
        return self._cutter.heard_speech

    async def run(self) -> None:
        """Read until the track ends; an utterance in progress ends when audio stops arriving
        for the pause length (a muted or vanished microphone)."""
        while True:
            try:
                frame = await asyncio.wait_for(self._track.recv(), timeout=self._gap_s)
            except TimeoutError:
                self._finish(self._cutter.flush())
                continue
            except MediaStreamError:
                self._finish(self._cutter.flush())
                return
            if not isinstance(frame, AudioFrame):
                continue  # an encoded packet: aiortc hands decoded frames to listeners
            self.frames += 1
            result = self._cutter.feed(self._to_16k(frame))
            if self._on_frame is not None:
                self._on_frame()
            if result.started:
                self._on_speech_start()
            self._finish(result.finished)

    def _to_16k(self, frame: AudioFrame) -> np.ndarray:
        samples = mono_float(frame)
        if frame.sample_rate == SAMPLE_RATE:
            return samples
        if self._resampler is None or self._rate != frame.sample_rate:
            self._rate = frame.sample_rate
            self._resampler = soxr.ResampleStream(self._rate, SAMPLE_RATE, 1, dtype="float32")
        return np.asarray(self._resampler.resample_chunk(samples), dtype=np.float32)

    def _finish(self, pcm: bytes | None) -> None:
        if pcm is None:
            return
        self.utterances += 1
        log.info("stream microphone: an utterance of %.1f s", len(pcm) / 2 / SAMPLE_RATE)
        self._on_utterance(pcm)
