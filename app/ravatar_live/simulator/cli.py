"""`ravatar-live-simulator`: run the local RAVATAR stand-in until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from ravatar_live.simulator.config import (
    FORCEABLE_START_STATUSES,
    STREAM_VIDEO_CODECS,
    SimulatorConfig,
)
from ravatar_live.simulator.server import start_simulator

log = logging.getLogger(__name__)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    defaults = SimulatorConfig()
    p = argparse.ArgumentParser(
        prog="ravatar-live-simulator",
        description="A local stand-in for the RAVATAR API (REST, chat WebSocket) with a Pixel "
                    "Streaming instance per live session.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port, 0 for any free one "
                   "(default %(default)s)")
    p.add_argument("--max-licenses", type=int, default=defaults.max_licenses,
                   help="concurrent live sessions before 503 busy (default %(default)s)")
    p.add_argument("--license-idle-timeout", type=_positive,
                   default=defaults.license_idle_timeout_s, metavar="SECONDS",
                   help="reclaim a live session idle this long (default %(default)s)")
    p.add_argument("--utterance-gap", type=_positive, default=defaults.utterance_gap_s,
                   metavar="SECONDS",
                   help="a PCM pause this long ends an utterance (default %(default)s)")
    p.add_argument("--save-audio-dir", type=Path, default=None, metavar="DIR",
                   help="save every voice utterance there as 16 kHz mono WAV")
    p.add_argument("--deny-framing", action="store_true",
                   help="send X-Frame-Options: DENY and CSP frame-ancestors 'none' on the stream "
                        "page (to test how the client handles an unframeable stream)")
    p.add_argument("--force-start-status", type=int,
                   choices=sorted(FORCEABLE_START_STATUSES), default=None,
                   help="make every /startLiveSession answer with this status")
    p.add_argument("--token-ttl", type=_positive, default=defaults.token_ttl_s,
                   metavar="SECONDS", help="JWT lifetime (default %(default)s)")
    p.add_argument("--reply-delay", type=_non_negative, default=defaults.reply_delay_s,
                   metavar="SECONDS", help="wait before each chat reply (default %(default)s)")
    p.add_argument("--project", action="append", default=None, metavar="ID",
                   help="accept only this project id (repeatable; default: any well-formed id)")
    p.add_argument("--no-transcribe", action="store_true",
                   help="skip speech recognition; replies just describe the audio")
    p.add_argument("--no-webrtc", action="store_true",
                   help="draw the avatar in the stream page (canvas) instead of streaming it "
                        "over WebRTC")
    p.add_argument("--video-codec", choices=sorted(STREAM_VIDEO_CODECS),
                   default=defaults.stream_video_codec,
                   help="video codec the streams offer, like Unreal's: H264 offers H.264 only "
                        "(QtWebEngine cannot decode it: a black stream there), VP8 only VP8, "
                        "negotiate both, streaming what the player's answer lists first "
                        "(default %(default)s)")
    p.add_argument("--stream-fps", type=_positive, default=defaults.stream_fps, metavar="FPS",
                   help="WebRTC frame rate, 1-30 (default %(default)s)")
    p.add_argument("--stream-max-height", type=int, default=defaults.stream_max_height,
                   metavar="PIXELS", help="encode at most this tall; bigger sessions are scaled "
                   "down (default %(default)s)")
    p.add_argument("--no-stream-voice", action="store_true",
                   help="keep the stream's audio silent (no espeak-ng speech)")
    p.add_argument("--stream-ping", type=_positive, default=defaults.stream_ping_interval_s,
                   metavar="SECONDS", help="signalling pings to each player this often "
                   "(default %(default)s)")
    p.add_argument("--old-stream-page", action="store_true",
                   help="the stream page never answers the microphone commands (no "
                        "ravatar-ps-mic-ready/-state), like RAVATAR's older page")
    p.add_argument("--hostile", action="store_true",
                   help="hostile mode: send random frames (arbitrary JSON, wrong types, huge "
                        "strings, binary, invalid UTF-8, unknown types) around every real chat "
                        "frame, to test a client's robustness")
    p.add_argument("--hostile-per-message", type=int, default=defaults.hostile_frames_per_message,
                   metavar="N", help="hostile frames before each real frame (default %(default)s)")
    p.add_argument("--hostile-spray", type=_non_negative, default=defaults.hostile_spray_per_s,
                   metavar="PER_S", help="also send this many hostile frames per second while a "
                   "chat socket is open (default %(default)s)")
    p.add_argument("--hostile-spray-limit", type=int, default=None, metavar="N",
                   help="spray at most this many hostile frames per chat socket (default: no "
                   "limit)")
    p.add_argument("--hostile-seed", type=int, default=None, metavar="SEED",
                   help="seed the hostile frames, to replay a run")
    p.add_argument("--tls-cert", type=Path, default=None, metavar="PEM",
                   help="serve HTTPS/WSS with this certificate chain (needs --tls-key)")
    p.add_argument("--tls-key", type=Path, default=None, metavar="PEM",
                   help="the private key for --tls-cert")
    p.add_argument("--stream-origin", default=None, metavar="URL",
                   help="hand out stream URLs on this origin (e.g. http://127.0.0.1:9000) "
                        "instead of the one the client used")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Turn parsed arguments into a config (ValueError for impossible combinations)."""
    return SimulatorConfig(
        host=args.host, port=args.port, max_licenses=args.max_licenses,
        token_ttl_s=args.token_ttl, license_idle_timeout_s=args.license_idle_timeout,
        utterance_gap_s=args.utterance_gap, save_audio_dir=args.save_audio_dir,
        deny_framing=args.deny_framing,
        projects=frozenset(args.project) if args.project else None,
        reply_delay_s=args.reply_delay, force_start_status=args.force_start_status,
        transcribe=not args.no_transcribe, stream_webrtc=not args.no_webrtc,
        stream_video_codec=args.video_codec, stream_fps=args.stream_fps,
        stream_max_height=args.stream_max_height, stream_voice=not args.no_stream_voice,
        stream_ping_interval_s=args.stream_ping, page_mic_handshake=not args.old_stream_page,
        hostile=args.hostile, hostile_frames_per_message=args.hostile_per_message,
        hostile_spray_per_s=args.hostile_spray, hostile_spray_limit=args.hostile_spray_limit,
        hostile_seed=args.hostile_seed,
        tls_cert=args.tls_cert, tls_key=args.tls_key, stream_origin=args.stream_origin)


async def serve(config: SimulatorConfig, stop: asyncio.Event) -> None:
    """Run until `stop` is set."""
    sim = await start_simulator(config)
    print(sim.base_url, flush=True)
    print(f"chat WebSocket: {sim.ws_url}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await sim.close()


async def _main_async(config: SimulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no add_signal_handler
            loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def parse_command_line(argv: list[str] | None) -> tuple[argparse.Namespace, SimulatorConfig]:
    """Parse and validate; bad input exits with status 2 and a usage message (argparse)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args, config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints the base URL on stdout, serves until Ctrl-C / SIGTERM."""
    args, config = parse_command_line(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_main_async(config))
    except OSError as exc:
        print(f"ravatar-live-simulator: cannot listen on {args.host}:{args.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the handler was installed
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
