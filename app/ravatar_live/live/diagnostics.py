""""Save diagnostics…": one zip for support, with a README saying what each file is.

Inside: the recent log files, versions (app, Qt, Chromium, Python, OS, media libraries), the
settings, the audio devices, the last stream statistics and the per-turn latency CSV. Every text
goes through the log's redaction on the way in (`logging_setup.redact`): the logs were redacted
when written and the settings hold no token, but a support bundle must not rely on either.

`gather_versions` and `write_diagnostics` block (files, device lists): run them off the GUI
thread. Nothing here imports Qt widgets.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ravatar_live import APP_NAME, __version__
from ravatar_live.audio.capture import AudioDevice
from ravatar_live.logging_setup import redact
from ravatar_live.settings import Settings
from ravatar_live.stream.stats import StreamStats

logger = logging.getLogger(__name__)

#: Newest log text kept per file: a support bundle stays small enough to mail.
MAX_LOG_BYTES: Final = 4 * 1024 * 1024
LOG_DIR: Final = "logs"
FILES: Final = {
    "README.txt": "this list",
    "versions.txt": "the versions of the app, Qt, Chromium (the built-in browser), Python, the "
                    "operating system and the media libraries",
    "settings.json": "the settings this run uses (the sign-in token is never a setting; "
                     "anything that looks like one is replaced by [REDACTED])",
    "audio-devices.txt": "the microphones and speakers the app can see",
    "stream-statistics.json": "the last figures of the avatar's stream (codec, frames, frame "
                              "rate, size, bitrate, round trip), or null when there was none",
    "turn-latencies.csv": "how long the avatar took to answer each turn of this run",
    f"{LOG_DIR}/": "the app's recent log files, newest first (tokens removed)",
}


@dataclass(frozen=True)
class DiagnosticsContent:
    """Everything a bundle holds, gathered by the caller from the running app."""

    settings: Settings
    versions: dict[str, str]
    microphones: Sequence[AudioDevice] = ()
    speakers: Sequence[AudioDevice] = ()
    stream_stats: StreamStats | None = None
    turn_latencies_csv: str = ""
    log_files: Sequence[Path] = ()
    notes: Sequence[str] = field(default_factory=tuple)  # e.g. "no speakers listed: why"


def gather_versions() -> dict[str, str]:
    """Versions worth knowing when something goes wrong (Qt's are asked of Qt itself)."""
    from PySide6 import __version__ as pyside_version  # noqa: PLC0415
    from PySide6.QtCore import qVersion  # noqa: PLC0415

    versions = {APP_NAME: __version__, "Qt": qVersion(), "PySide6": pyside_version}
    try:
        from PySide6.QtWebEngineCore import qWebEngineChromiumVersion  # noqa: PLC0415

        versions["Chromium (built-in browser)"] = str(qWebEngineChromiumVersion())
    except ImportError:
        versions["Chromium (built-in browser)"] = "not available"
    versions["Python"] = sys.version.replace("\n", " ")
    versions["OS"] = platform.platform()
    from importlib import metadata  # noqa: PLC0415  (only when asked: ~20 ms at start)

    for package in ("aiortc", "av", "aiohttp", "numpy", "onnxruntime", "pynput", "PyAudio"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def settings_without_secrets(settings: Settings) -> dict[str, object]:
    """The settings as JSON-ready values, each string passed through the redaction."""
    values = dataclasses.asdict(settings)
    return {name: redact(value) if isinstance(value, str) else value
            for name, value in values.items()}


def _devices_text(content: DiagnosticsContent) -> str:
    lines = ["Microphones:"]
    lines += [f"  {d.name}{' (default)' if d.is_default else ''}  [{d.id}]"
              for d in content.microphones] or ["  none found"]
    lines += ["", "Speakers:"]
    lines += [f"  {d.name}{' (default)' if d.is_default else ''}  [{d.id}]"
              for d in content.speakers] or ["  none found"]
    lines += ["", f"Microphone chosen in Settings: {content.settings.microphone_id or 'default'}",
              f"Speaker chosen in Settings: {content.settings.speaker_id or 'default'}"]
    return "\n".join(lines) + "\n"


def _log_tail(path: Path) -> str:
    """The newest MAX_LOG_BYTES of a log file, as text, redacted again."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - MAX_LOG_BYTES))
        text = handle.read().decode("utf-8", errors="replace")
    return redact(text)


def _readme(content: DiagnosticsContent, logs: list[str]) -> str:
    lines = [f"{APP_NAME} diagnostics, saved {time.strftime('%Y-%m-%d %H:%M:%S %z')}.",
             "Send this file to whoever helps you; it holds no password or sign-in token.", "",
             "What each file is:"]
    lines += [f"  {name:24} {about}" for name, about in FILES.items()]
    if logs:
        lines += [f"  {name}" for name in logs]
    else:
        lines += ["  (no log file: this run logs to the terminal only)"]
    if content.notes:
        lines += ["", "Notes:", *(f"  {note}" for note in content.notes)]
    return "\n".join(lines) + "\n"


def write_diagnostics(path: Path, content: DiagnosticsContent) -> list[str]:
    """Write the zip to `path` (via a temporary file, so a failure leaves no half zip); the
    names inside. Raises OSError when it cannot be written."""
    stats = dataclasses.asdict(content.stream_stats) if content.stream_stats else None
    entries: dict[str, str] = {
        "versions.txt": "".join(f"{name}: {value}\n" for name, value in
                                content.versions.items()),
        "settings.json": json.dumps(settings_without_secrets(content.settings), indent=2) + "\n",
        "audio-devices.txt": _devices_text(content),
        "stream-statistics.json": json.dumps(stats, indent=2) + "\n",
        "turn-latencies.csv": content.turn_latencies_csv,
    }
    logs: list[str] = []
    for log_file in content.log_files:
        try:
            entries[f"{LOG_DIR}/{log_file.name}"] = _log_tail(log_file)
        except OSError as exc:  # a rotated file may vanish meanwhile: say so, keep the rest
            logger.info("log file %s not included: %s", log_file.name, exc.strerror or exc)
            continue
        logs.append(f"{LOG_DIR}/{log_file.name}")
    entries = {"README.txt": _readme(content, logs), **entries}
    partial = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, text in entries.items():
                bundle.writestr(name, redact(text))
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    logger.info("diagnostics saved (%d files)", len(entries))
    return list(entries)
