"""``ravatar-live-takes FILE.wav``: the app's VAD and take logic, with its defaults, on a file.

Prints one JSON object per take: ``{"start_s": ..., "end_s": ..., "closed_s": ...}``, where
``closed_s`` is when the take was closed (hangover included). Any WAV rate or channel count; it
converts to 16 kHz mono exactly like the capture path.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from ravatar_live.audio.errors import AudioError
from ravatar_live.audio.resample import wav_to_wire
from ravatar_live.audio.settings import (
    RMS_BASELINE_TAKES,
    VAD_BACKENDS,
    TakeSettings,
    VoiceSettings,
)
from ravatar_live.audio.takes import find_takes
from ravatar_live.audio.vad import make_vad
from ravatar_live.audio.wav import read_wav


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
    return p


def settings_from_args(args: argparse.Namespace) -> TakeSettings:
    base = RMS_BASELINE_TAKES if args.backend == "rms" else TakeSettings()
    overrides = {name: getattr(args, name) for name in (
        "threshold", "release_delta", "start_ms", "preroll_ms", "min_speech_ms", "hangover_ms",
        "max_take_s") if getattr(args, name) is not None}
    return replace(base, **overrides).validated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        samples = wav_to_wire(read_wav(args.file))
        vad = make_vad(args.backend, webrtc_aggressiveness=args.aggressiveness)
        takes = find_takes(samples, vad, settings)
    except AudioError as exc:
        print(f"ravatar-live-takes: {exc.user_message}"
              + (f" ({exc.detail})" if exc.detail else ""), file=sys.stderr)
        return 2
    for take in takes:
        print(json.dumps(take.as_json_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
