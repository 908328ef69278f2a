"""``ravatar-live-takes FILE.wav``: the app's VAD and take logic, with its defaults, on a file.

Prints one JSON object per take: ``{"start_s": ..., "end_s": ..., "closed_s": ...}``, where
``closed_s`` is when the take was closed (the pause that ended it included). Any WAV rate or
channel count; it converts to 16 kHz mono exactly like the capture path. The end-of-turn model
judges each pause as in the app (``--wait-for-finish``, default balanced; ``off`` = the plain
hangover); its verdicts count as arriving after the time each judgement took here.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from ravatar_live.audio.errors import AudioError
from ravatar_live.audio.resample import wav_to_wire
from ravatar_live.audio.settings import (
    DEFAULT_TURN_PATIENCE,
    RMS_BASELINE_TAKES,
    TURN_PATIENCES,
    TURN_PRESETS,
    VAD_BACKENDS,
    TakeSettings,
    VoiceSettings,
)
from ravatar_live.audio.takes import find_takes
from ravatar_live.audio.turn_judge import InlineJudge
from ravatar_live.audio.turn_model import SmartTurnModel
from ravatar_live.audio.turn_weights import TurnModelUnavailableError
from ravatar_live.audio.vad import make_vad
from ravatar_live.audio.wav import read_wav

WAIT_CHOICES = (*TURN_PATIENCES, "off")


def build_parser() -> argparse.ArgumentParser:
    d = VoiceSettings()
    t = d.takes
    p = argparse.ArgumentParser(
        prog="ravatar-live-takes",
        description="Find voice takes in a WAV file with RAVATAR Live's VAD and take logic.")
    p.add_argument("file", help="a WAV file (any sample rate, any channel count)")
    p.add_argument("--backend", choices=VAD_BACKENDS, default=d.vad_backend,
                   help="voice detector (default %(default)s; 'rms' = the web demo's gate, "
                        "with its own 900 ms / no pre-roll take settings unless overridden)")
    p.add_argument("--aggressiveness", type=int, choices=(0, 1, 2, 3),
                   default=d.webrtc_aggressiveness, help="webrtc only (default %(default)s)")
    p.add_argument("--threshold", type=float, help=f"speech probability (default {t.threshold})")
    p.add_argument("--release-delta", type=float,
                   help=f"hysteresis below threshold (default {t.release_delta})")
    p.add_argument("--start-ms", type=int, help=f"speech to start a take (default {t.start_ms})")
    p.add_argument("--preroll-ms", type=int,
                   help=f"audio kept before the start (default {t.preroll_ms})")
    p.add_argument("--min-speech-ms", type=int,
                   help=f"shorter takes are dropped (default {t.min_speech_ms})")
    p.add_argument("--hangover-ms", type=int,
                   help=f"silence that ends a take (default {t.hangover_ms})")
    p.add_argument("--max-take-s", type=float, help=f"take length cap (default {t.max_take_s})")
    p.add_argument("--wait-for-finish", choices=WAIT_CHOICES,
                   help=f"end-of-turn model preset (default {DEFAULT_TURN_PATIENCE}; 'off' and "
                        "the rms backend: the hangover alone)")
    return p


def settings_from_args(args: argparse.Namespace) -> TakeSettings:
    base = RMS_BASELINE_TAKES if args.backend == "rms" else TakeSettings()
    overrides: dict[str, object] = {name: getattr(args, name) for name in (
        "threshold", "release_delta", "start_ms", "preroll_ms", "min_speech_ms", "hangover_ms",
        "max_take_s") if getattr(args, name) is not None}
    if args.wait_for_finish is not None:
        overrides["turn"] = TURN_PRESETS.get(args.wait_for_finish)  # "off" -> None
    return replace(base, **overrides).validated()  # type: ignore[arg-type]


def load_judge(settings: TakeSettings) -> InlineJudge | None:
    """The model as the app runs it, or None (with a note) when it is off or cannot load."""
    if settings.turn is None:
        return None
    try:
        return InlineJudge(SmartTurnModel())
    except TurnModelUnavailableError as exc:
        print(f"ravatar-live-takes: {exc.user_message} ({exc.detail}); using the plain "
              "hangover", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        samples = wav_to_wire(read_wav(args.file))
        vad = make_vad(args.backend, webrtc_aggressiveness=args.aggressiveness)
        takes = find_takes(samples, vad, settings, judge=load_judge(settings))
    except AudioError as exc:
        print(f"ravatar-live-takes: {exc.user_message}"
              + (f" ({exc.detail})" if exc.detail else ""), file=sys.stderr)
        return 2
    for take in takes:
        print(json.dumps(take.as_json_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
