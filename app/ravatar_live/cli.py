"""Command-line options: they override the saved settings for one run and are never saved."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ravatar_live import APP_NAME, __version__
from ravatar_live.api.ids import AVATAR_ID, LANGUAGE_CODE, PROJECT_ID, USER_ID
from ravatar_live.settings import (
    MAX_STREAM_HEIGHT,
    MAX_STREAM_WIDTH,
    STREAM_PLAYER_CHOICES,
    VOICE_MODES,
    Settings,
    SettingsError,
    StreamPlayerChoice,
    VoiceMode,
    parse_dimension,
    validate_avatar_id,
    validate_http_url,
    validate_language,
    validate_project_id,
    validate_user_id,
    validate_ws_url,
)

EXIT_AFTER_ENV = "RAVATAR_LIVE_EXIT_AFTER_S"


@dataclass(frozen=True)
class CliOptions:
    """What the command line asked for; None means "use the saved setting"."""

    api_url: str | None = None
    ws_url: str | None = None
    project_id: str | None = None
    user_id: str | None = None
    avatar: str | None = None
    language: str | None = None
    width: int | None = None
    height: int | None = None
    voice_mode: VoiceMode | None = None
    stream_player: StreamPlayerChoice | None = None
    start: bool = False
    demo: bool = False
    settings_path: Path | None = None
    log_dir: Path | None = None
    log_level: int = logging.INFO
    exit_after_s: float | None = None


def _arg_type(check: Callable[[str], object], label: str) -> Callable[[str], object]:
    """Adapt a SettingsError-raising validator to argparse's type= (readable error, exit 2)."""

    def convert(text: str) -> object:
        try:
            return check(text)
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(exc.user_message) from None

    convert.__name__ = label
    return convert


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="ravatar-live",
        description=f"{APP_NAME}: talk to a RAVATAR 3D avatar in Live Mode. Without a project id "
        "it runs against the bundled simulator (demo mode). Options override the saved "
        "settings for this run only and are never saved; an \"app default\" is the value "
        "used until one is saved.",
        epilog=f"Environment: {EXIT_AFTER_ENV}=SECONDS (a number >= 0) closes the app after that "
        "long, ending the live session first.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    conn = parser.add_argument_group("connection (override the saved settings for this run)")
    conn.add_argument("--api-url", metavar="URL", type=_arg_type(
        lambda t: validate_http_url(t, "API URL"), "URL"),
        help=f"REST base URL: http:// or https:// and a host (app default {defaults.api_url})")
    conn.add_argument("--ws-url", metavar="URL", type=_arg_type(validate_ws_url, "URL"),
                      help="chat WebSocket URL: ws:// or wss:// and a host (default: derived "
                      "from the API URL, path /ws/chat)")
    conn.add_argument("--project-id", metavar="ID", type=_arg_type(validate_project_id, "ID"),
                      help=f"RAVATAR project id: {PROJECT_ID.shape} (default: the saved "
                      "one; none means demo mode)")
    conn.add_argument("--user-id", metavar="ID", type=_arg_type(validate_user_id, "ID"),
                      help=f"your user id: {USER_ID.shape} (default: made once "
                      "and kept)")
    conn.add_argument("--demo", action="store_true",
                      help="use the embedded simulator even when a project is configured")
    live = parser.add_argument_group("live session")
    live.add_argument("--avatar", metavar="ID", type=_arg_type(validate_avatar_id, "ID"),
                      help=f"avatar id as /connection lists it: {AVATAR_ID.shape} (default: the "
                      "first avatar with Live Mode)")
    live.add_argument("--language", metavar="CODE", type=_arg_type(validate_language, "CODE"),
                      help=f"language code such as en or en-US: {LANGUAGE_CODE.shape} "
                      f"(app default {defaults.language})")
    live.add_argument("--width", metavar="PX", type=_arg_type(
        lambda t: parse_dimension(t, "Width", MAX_STREAM_WIDTH), "PX"),
        help=f"stream width in pixels, 1-{MAX_STREAM_WIDTH} (app default {defaults.stream_width})")
    live.add_argument("--height", metavar="PX", type=_arg_type(
        lambda t: parse_dimension(t, "Height", MAX_STREAM_HEIGHT), "PX"),
        help=f"stream height in pixels, 1-{MAX_STREAM_HEIGHT} (app default "
        f"{defaults.stream_height})")
    live.add_argument("--voice-mode", choices=VOICE_MODES,
                      help="how you talk when the session starts: push-to-talk (hold a button "
                      "or key), vad (hands-free) or record (click to start and stop) (app default "
                      f"{defaults.voice_mode})")
    live.add_argument("--stream-player", choices=STREAM_PLAYER_CHOICES,
                      help="what shows the avatar's video: web (the stream page in the built-in "
                      "browser, which cannot play H.264), native (the app's own player: H.264 "
                      "and VP8) or auto (what worked last time for the stream's server, else "
                      "web, switching to the other when one cannot show the video) (app default "
                      f"{defaults.stream_player})")
    live.add_argument("--start", action="store_true", help="start the live session at launch")
    misc = parser.add_argument_group("app")
    misc.add_argument("--settings", metavar="FILE", type=Path,
                      help="settings file to use instead of the per-user one (created if "
                      "missing)")
    misc.add_argument("--log-dir", metavar="DIR", type=Path,
                      help="where to write the log file (default: the per-user log folder)")
    misc.add_argument("--log-level", default="INFO",
                      choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                      help="how much to log (default INFO)")
    return parser


def parse_args(argv: Sequence[str] | None = None,
               environ: dict[str, str] | None = None) -> CliOptions:
    """Parse argv (exits with status 2 and a readable message on bad input, like argparse)."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    exit_after: float | None = None
    raw_exit = env.get(EXIT_AFTER_ENV, "").strip()
    if raw_exit:
        try:
            exit_after = float(raw_exit)
        except ValueError:
            parser.error(f"{EXIT_AFTER_ENV} must be a number of seconds, not {raw_exit!r}")
        if exit_after < 0:
            parser.error(f"{EXIT_AFTER_ENV} must not be negative")
    return CliOptions(
        api_url=ns.api_url, ws_url=ns.ws_url, project_id=ns.project_id, user_id=ns.user_id,
        avatar=ns.avatar, language=ns.language, width=ns.width, height=ns.height,
        voice_mode=ns.voice_mode, stream_player=ns.stream_player,
        start=ns.start, demo=ns.demo, settings_path=ns.settings,
        log_dir=ns.log_dir, log_level=getattr(logging, ns.log_level), exit_after_s=exit_after,
    )


def apply_overrides(settings: Settings, options: CliOptions) -> Settings:
    """The settings for this run: saved values with the command line's on top."""
    changes: dict[str, object] = {}
    for option, field in (("api_url", "api_url"), ("ws_url", "ws_url"),
                          ("project_id", "project_id"), ("user_id", "user_id"),
                          ("avatar", "avatar_id"), ("language", "language"),
                          ("width", "stream_width"), ("height", "stream_height"),
                          ("voice_mode", "voice_mode"), ("stream_player", "stream_player")):
        value = getattr(options, option)
        if value is not None:
            changes[field] = value
    # --demo is not applied here: it is a per-run switch (see CliOptions.demo), so saving the
    # settings during a demo run never forgets the configured project.
    return settings.replace(**changes).validate()
