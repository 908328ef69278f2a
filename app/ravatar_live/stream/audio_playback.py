"""The avatar's voice from decoded Opus frames to the audio device: buffering, volume, mute,
level, voice onset, and a tap of exactly what was played. No Qt.

Threads: the player thread `push()`es decoded frames; the output backend's device thread calls
`render()` for every block it needs (PortAudio's callback, or a QAudioSink's thread). The two
meet in a small locked FIFO that starts playing once `prefill_s` is buffered (so network jitter
does not click) and keeps the latency near that: it skips the oldest audio when more than
`max_buffer_s` piles up, or when more than the prefill stayed queued for half a second (the
device stalled - PulseAudio's first second can - or the sender's clock runs fast against the
sound card's). Skipped audio still counts for levels and onsets.

The tap (`add_tap`) is for an echo canceller: each `PlayedBlock` holds the samples the device was
given (after volume and mute) and the monotonic time their first sample is due at the speaker.
Taps run on the device thread and must return at once.

Levels and onsets are taken from the stream's audio as it is played, before volume and mute:
muting the avatar must not hide when it starts talking (per-turn latency keeps working).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

from ravatar_live.stream.audio_output import CHANNELS, RATE
from ravatar_live.stream.voice_onset import VoiceOnsetDetector, rms_level

logger = logging.getLogger(__name__)

LEVEL_SMOOTHING = 0.3  # weight of the newest block in the reported level


@dataclass(frozen=True, slots=True)
class PlayedBlock:
    """Audio handed to the device: int16 samples shaped (frames, channels)."""

    samples: np.ndarray
    sample_rate: int
    played_at: float  # time.monotonic() when the first sample is due at the speaker


PlaybackTap = Callable[[PlayedBlock], None]
Render = Callable[[int, float], bytes]  # (frames wanted, monotonic time they play) -> int16 bytes


class PlaybackBuffer:
    """Thread-safe FIFO of int16 (frames, channels) blocks with prefill and latency control.

    Latency stays near the prefill: a hard cap (`max_frames`) when writes pile up, and, when the
    least amount queued over the last `adjust_frames` played stayed above prefill + `slack`
    (after the device stalled, or its clock runs slow), the surplus oldest audio is skipped.
    Skipped audio goes to `on_skip` (outside the lock), so level analysis still sees it."""

    def __init__(self, prefill_frames: int, max_frames: int, *,
                 on_skip: Callable[[np.ndarray], None] | None = None,
                 adjust_frames: int = RATE // 2, slack_frames: int = RATE // 25) -> None:
        self._blocks: deque[np.ndarray] = deque()
        self._queued = 0
        self._lock = threading.Lock()
        self._prefill = prefill_frames
        self._max = max(max_frames, prefill_frames)
        self._on_skip = on_skip
        self._adjust_frames = adjust_frames
        self._slack = slack_frames
        self._window_read = 0
        self._window_min: int | None = None
        self._priming = True
        self.underruns = 0
        self.dropped_frames = 0

    @property
    def queued_frames(self) -> int:
        with self._lock:
            return self._queued

    def write(self, block: np.ndarray) -> None:
        with self._lock:
            self._blocks.append(block)
            self._queued += len(block)
            skipped = self._skip(self._queued - self._max) if self._queued > self._max else []
        self._report(skipped)

    def read(self, frames: int) -> np.ndarray:
        """`frames` frames; silence where there is no audio (yet)."""
        out = np.zeros((frames, CHANNELS), np.int16)
        skipped: list[np.ndarray] = []
        with self._lock:
            if self._priming:
                if self._queued < self._prefill:
                    return out
                self._priming = False
            filled = 0
            while filled < frames and self._blocks:
                block = self._blocks[0]
                take = min(frames - filled, len(block))
                out[filled:filled + take] = block[:take]
                filled += take
                if take == len(block):
                    self._blocks.popleft()
                else:
                    self._blocks[0] = block[take:]
                self._queued -= take
            if filled < frames:  # ran dry: wait for a prefill again before playing on
                self.underruns += 1
                self._priming = True
                self._window_read, self._window_min = 0, None
            else:
                skipped = self._follow_latency(frames)
        self._report(skipped)
        return out

    def _follow_latency(self, frames: int) -> list[np.ndarray]:
        lowest = self._queued if self._window_min is None else min(self._window_min,
                                                                   self._queued)
        self._window_min = lowest
        self._window_read += frames
        if self._window_read < self._adjust_frames:
            return []
        self._window_read, self._window_min = 0, None
        surplus = lowest - self._prefill
        return self._skip(surplus) if surplus > self._slack else []

    def _skip(self, frames: int) -> list[np.ndarray]:
        """Remove the oldest `frames` frames (lock held); returns them."""
        skipped: list[np.ndarray] = []
        while frames > 0 and self._blocks:
            block = self._blocks[0]
            take = min(frames, len(block))
            skipped.append(block[:take])
            if take == len(block):
                self._blocks.popleft()
            else:
                self._blocks[0] = block[take:]
            self._queued -= take
            self.dropped_frames += take
            frames -= take
        return skipped

    def _report(self, skipped: list[np.ndarray]) -> None:
        if self._on_skip is not None:
            for block in skipped:
                self._on_skip(block)

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._queued = 0
            self._priming = True
            self._window_read, self._window_min = 0, None


class AudioPlayback:
    """Buffer, volume, mute, level, onset and taps between the player and an output backend."""

    def __init__(self, on_onset: Callable[[], None], *, prefill_s: float = 0.06,
                 max_buffer_s: float = 0.3) -> None:
        self._on_onset = on_onset
        self.buffer = PlaybackBuffer(round(prefill_s * RATE), round(max_buffer_s * RATE),
                                     on_skip=self._analyse)
        self._analysis_lock = threading.Lock()  # fed by the device thread and, on skips, ours
        self._resampler: av.AudioResampler | None = None
        self._taps: tuple[PlaybackTap, ...] = ()
        self._detector = VoiceOnsetDetector()
        self._volume = 1.0
        self._muted = False
        self._level: float | None = None
        self.frames_played = 0

    # --- settings (any thread) -----------------------------------------------------------------
    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, volume: float) -> None:
        """Linear gain 0..1 (values outside are clamped; NaN is refused)."""
        if math.isnan(volume):
            raise ValueError("the volume must be a number between 0 and 1")
        self._volume = min(1.0, max(0.0, float(volume)))

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)

    def add_tap(self, tap: PlaybackTap) -> None:
        self._taps = (*self._taps, tap)

    def remove_tap(self, tap: PlaybackTap) -> None:
        self._taps = tuple(t for t in self._taps if t is not tap)

    @property
    def level(self) -> float | None:
        """The stream's recent audio level (RMS, 0..1), None before any audio."""
        return self._level

    # --- player thread ---------------------------------------------------------------------------
    def samples_of(self, frame: av.AudioFrame) -> np.ndarray:
        """int16 (frames, 2) at 48 kHz from a decoded frame (libopus gives exactly that)."""
        if frame.format.name != "s16" or frame.layout.name != "stereo" \
                or frame.sample_rate != RATE:
            if self._resampler is None:
                self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
            converted = self._resampler.resample(frame)
            if not converted:
                return np.zeros((0, CHANNELS), np.int16)
            return np.concatenate([f.to_ndarray().reshape(-1, CHANNELS) for f in converted])
        return frame.to_ndarray().reshape(-1, CHANNELS)

    def push(self, frame: av.AudioFrame) -> None:
        """Queue a decoded frame for the device."""
        self.buffer.write(self.samples_of(frame))

    def analyse_unplayed(self, frame: av.AudioFrame) -> None:
        """No device: keep the level and onsets from the audio as it arrives."""
        block = self.samples_of(frame)
        self._analyse(block)

    def reset(self) -> None:
        """A new connection: drop old audio; earlier sound does not count as quiet."""
        self.buffer.clear()
        with self._analysis_lock:
            self._detector.reset()

    # --- device thread ---------------------------------------------------------------------------
    def render(self, frames: int, played_at: float) -> bytes:
        """The next `frames` frames for the device, as int16 stereo bytes."""
        block = self.buffer.read(frames)
        self._analyse(block)
        gain = 0.0 if self._muted else self._volume
        if gain != 1.0:
            block = (block.astype(np.float32) * gain).astype(np.int16)
        self.frames_played += frames
        taps = self._taps
        if taps:
            played = PlayedBlock(block, RATE, played_at)
            for tap in taps:
                try:
                    tap(played)
                except Exception:  # one broken consumer must not silence the avatar
                    logger.exception("an audio tap failed; it is removed")
                    self.remove_tap(tap)
        return block.tobytes()

    def _analyse(self, block: np.ndarray) -> None:
        """Level and onset of the next stretch of the stream (played, or skipped to keep the
        latency down: the stream's timeline has no holes for the onset's quiet time)."""
        if not len(block):
            return
        level = rms_level(block)
        with self._analysis_lock:
            previous = self._level
            self._level = level if previous is None \
                else previous + LEVEL_SMOOTHING * (level - previous)
            onset = self._detector.feed(level, len(block) / RATE)
        if onset:
            self._on_onset()
