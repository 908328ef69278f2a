"""The avatar's voice for the WebRTC audio track: espeak-ng speech as 48 kHz mono int16.

espeak-ng is optional: without it the track carries silence and only the mouth moves.
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import subprocess
import wave

import numpy as np
import soxr

from ravatar_live.simulator.audio import float_to_int16

log = logging.getLogger(__name__)

RATE = 48000  # the WebRTC audio track's rate (Opus)
MAX_SPOKEN_CHARS = 600  # a reply longer than this is cut: synthesis time grows with length
SYNTH_TIMEOUT_S = 10.0


def espeak_path() -> str | None:
    """Where espeak-ng is, or None when it is not installed."""
    return shutil.which("espeak-ng")


def speakable(text: str) -> str:
    """The part of a reply worth saying aloud: no leading ">quote" of the user's words (the
    transcript a voice reply starts with), whitespace folded, at most MAX_SPOKEN_CHARS."""
    if text.startswith(">"):
        _quote, _sep, rest = text.partition("\n\n")
        text = rest
    text = " ".join(text.split())
    return text[:MAX_SPOKEN_CHARS]


def wav_to_track_samples(wav_bytes: bytes) -> np.ndarray:
    """A 16-bit mono WAV (espeak's output) as 48 kHz int16 samples."""
    with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        frames = wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(f"expected 16-bit speech, got {8 * width}-bit")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(1)
    if rate != RATE and len(samples):
        samples = soxr.resample(samples, rate, RATE)
    return float_to_int16(samples)


async def synthesize(text: str, voice: str = "en-us",
                     words_per_minute: int = 165) -> np.ndarray | None:
    """Speak `text` with espeak-ng; None when espeak-ng is missing, fails or there is nothing to
    say. The text goes in on stdin so that nothing in it can be read as an option.

    espeak-ng runs from a worker thread, not as an asyncio child: a reply cut off while it is
    spoken (barge-in, the stream closing) then leaves no pipe transport tied to the loop, which
    once outlived a closed loop and raised from the garbage collector in a later test."""
    exe = espeak_path()
    spoken = speakable(text)
    if exe is None or not spoken:
        return None
    try:
        proc = await asyncio.to_thread(
            subprocess.run, [exe, "-v", voice, "-s", str(words_per_minute), "--stdout", "--stdin"],
            input=spoken.encode("utf-8"), capture_output=True, timeout=SYNTH_TIMEOUT_S,
            check=False)
    except subprocess.TimeoutExpired:
        log.warning("espeak-ng took longer than %.0f s; the avatar stays silent", SYNTH_TIMEOUT_S)
        return None
    except OSError as exc:
        log.warning("espeak-ng could not run (%s); the avatar stays silent", exc)
        return None
    out = proc.stdout
    if proc.returncode != 0 or not out:
        log.warning("espeak-ng failed (exit %s); the avatar stays silent", proc.returncode)
        return None
    try:
        return wav_to_track_samples(out)
    except (wave.Error, EOFError, ValueError) as exc:
        log.warning("espeak-ng gave unreadable audio (%s); the avatar stays silent", exc)
        return None
