"""Synthetic speech (espeak-ng) with known boundaries: for demos, the bench and the tests.

``synthesize`` speaks a phrase and trims the synthesiser's silent margins so its span is the true
speech span. ``compose`` lays utterances out on a timeline with known gaps and returns the
ground truth; ``mix_noise`` adds noise at a chosen SNR relative to the speech.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from ravatar_live.audio.errors import AudioError
from ravatar_live.audio.pcm import SAMPLE_RATE, Float32Array, Int16Array, float_to_int16
from ravatar_live.audio.resample import wav_to_wire
from ravatar_live.audio.wav import parse_wav

_SILENCE = 0.004  # |x| below this (about -48 dBFS) counts as the synthesiser's silence


class SpeechSynthError(AudioError):
    """espeak-ng is missing or failed."""


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def synthesize(text: str, *, voice: str = "en-us", speed: int = 175, pitch: int = 50,
               level_rms: float = 0.06) -> Int16Array:
    """16 kHz mono int16 speech, trimmed to the voiced span, scaled to ``level_rms`` (active)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthError("espeak-ng is not installed (Debian: apt-get install espeak-ng).")
    try:
        proc = subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout",
                               text], capture_output=True, check=True, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        raise SpeechSynthError("espeak-ng failed to speak.", detail=str(exc)) from exc
    x = wav_to_wire(parse_wav(proc.stdout)).astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(x) > _SILENCE)
    if loud.size == 0:
        raise SpeechSynthError("espeak-ng produced silence.", detail=text)
    x = x[loud[0] : loud[-1] + 1]
    active = x[np.abs(x) > _SILENCE]
    x *= level_rms / float(np.sqrt(np.mean(active * active)))
    return float_to_int16(x)


@dataclass(frozen=True, slots=True)
class Segment:
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Clip:
    """A composed signal with the true speech segments (one per utterance)."""

    samples: Int16Array
    truth: tuple[Segment, ...]

    @property
    def duration_s(self) -> float:
        return self.samples.size / SAMPLE_RATE


def silence(seconds: float) -> Int16Array:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.int16)


def join_with_pause(parts: list[Int16Array], pause_s: float) -> Int16Array:
    """One utterance with hesitation pauses inside it (still one take)."""
    out: list[Int16Array] = []
    for i, part in enumerate(parts):
        if i:
            out.append(silence(pause_s))
        out.append(part)
    return np.concatenate(out)


def compose(utterances: list[Int16Array], gaps_s: list[float], *, lead_s: float = 1.0,
            tail_s: float = 1.5) -> Clip:
    """lead silence, utterance, gap, utterance, ..., tail silence."""
    if len(gaps_s) != max(0, len(utterances) - 1):
        raise ValueError("need one gap between each pair of utterances")
    pieces: list[Int16Array] = [silence(lead_s)]
    truth: list[Segment] = []
    pos = pieces[0].size
    for i, utt in enumerate(utterances):
        truth.append(Segment(pos / SAMPLE_RATE, (pos + utt.size) / SAMPLE_RATE))
        pieces.append(utt)
        pos += utt.size
        gap = silence(gaps_s[i] if i < len(gaps_s) else tail_s)
        pieces.append(gap)
        pos += gap.size
    return Clip(np.concatenate(pieces), tuple(truth))


def pink_noise(n: int, rng: np.random.Generator) -> Float32Array:
    """1/f noise by shaping white noise in the frequency domain, unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return (x / np.sqrt(np.mean(x * x))).astype(np.float32)


def mix_noise(clip: Clip, snr_db: float, rng: np.random.Generator, *,
              kind: str = "pink") -> Clip:
    """Noise everywhere (also in the silences) at ``snr_db`` below the speech's active RMS."""
    x = clip.samples.astype(np.float32) / 32768.0
    active = x[np.abs(x) > _SILENCE]
    speech_rms = float(np.sqrt(np.mean(active * active))) if active.size else 0.05
    noise = pink_noise(x.size, rng) if kind == "pink" else \
        rng.standard_normal(x.size).astype(np.float32)
    noise *= speech_rms / (10 ** (snr_db / 20))
    return Clip(float_to_int16(x + noise), clip.truth)
