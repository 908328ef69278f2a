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
               level_rms: float = 0.06, trim: bool = True) -> Int16Array:
    """16 kHz mono int16 speech, trimmed to the voiced span, scaled to ``level_rms`` (active);
    ``trim=False``: as espeak-ng made it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthError("espeak-ng is not installed (Debian: apt-get install espeak-ng).")
    try:
        proc = subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout",
                               text], capture_output=True, check=True, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        raise SpeechSynthError("espeak-ng failed to speak.", detail=str(exc)) from exc
    raw = wav_to_wire(parse_wav(proc.stdout))
    return trim_and_level(raw, level_rms=level_rms, what=text) if trim else raw


def trim_and_level(samples: Int16Array, *, level_rms: float, what: str) -> Int16Array:
    """Cut a synthesiser's silent margins (so the span is the true speech span) and scale the
    active part to ``level_rms``."""
    x = samples.astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(x) > _SILENCE)
    if loud.size == 0:
        raise SpeechSynthError("The synthesiser produced silence.", detail=what)
    x = x[loud[0] : loud[-1] + 1]
    active = x[np.abs(x) > _SILENCE]
    x *= level_rms / float(np.sqrt(np.mean(active * active)))
    return float_to_int16(x)


def silent_runs(samples: Int16Array, *, hop: int = 160,
                floor_db: float = -30.0) -> list[tuple[int, int]]:
    """(start, end) sample spans inside the signal where every 10 ms frame is ``floor_db``
    below the signal's active level: the synthesiser's own pauses (commas, stop closures)."""
    x = samples.astype(np.float32) / 32768.0
    n = x.size // hop
    frame_rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    quiet = frame_rms < np.sqrt(np.mean(x * x)) * 10 ** (floor_db / 20)
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, q in enumerate(quiet):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if start > 0:  # inside the speech, not a margin
                runs.append((start * hop, i * hop))
            start = None
    return runs


def stretch_pauses(samples: Int16Array, pauses_s: list[float], *,
                   min_gap_s: float = 0.06) -> Int16Array | None:
    """Replace the ``len(pauses_s)`` longest pauses the synthesiser made (in time order) by
    silences of the given lengths; None unless each is at least ``min_gap_s`` and half as long
    again as any other gap.
    A sentence spoken whole with commas keeps the engine's own phrase-boundary prosody (a
    continuation tune, no final fall) before each pause, as a person's would."""
    if not pauses_s:
        return samples
    by_length = sorted(silent_runs(samples), key=lambda r: r[1] - r[0], reverse=True)
    longest = by_length[: len(pauses_s)]
    shortest = min((e - s for s, e in longest), default=0)
    next_longest = max((e - s for s, e in by_length[len(pauses_s) :]), default=0)
    # Each pause must stand out from the stop closures (gaps of 20-60 ms inside words).
    if (len(longest) < len(pauses_s) or shortest < min_gap_s * SAMPLE_RATE
            or shortest < 1.5 * next_longest):
        return None
    out: list[Int16Array] = []
    pos = 0
    for (start, end), pause in zip(sorted(longest), pauses_s, strict=True):
        out += [samples[pos:start], silence(pause)]
        pos = end
    out.append(samples[pos:])
    return np.concatenate(out)


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
