"""Logging for the app: stderr plus a rotating file, with secrets redacted on every handler.

`RedactingFilter` rewrites each record before any handler formats it: the message is formatted
once with its args, scrubbed, and stored back with `args = None`; exception and stack text are
scrubbed too. It removes JWTs (three base64url segments starting "eyJ"), `token=`/`jwt=` values
in a query or a `#fragment`, `"token": "..."`-style pairs, `Authorization: Bearer ...` values,
and the URL-encoded forms of these (`token%3D...`, `Bearer%20...`, also encoded twice), which
appear when a URL is itself a parameter of another URL.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

LOG_FILE_NAME = "ravatar-live.log"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MAX_LOG_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 5
REDACTED = "[REDACTED]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWT anywhere: header.payload.signature, the header being base64url of '{"...'.
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # Authorization header values, whatever the scheme: "Authorization: Bearer x",
    # "'Authorization': 'Bearer x'".
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?\s*(?:bearer\s+|basic\s+|token\s+)?)"
                r"[^\s'\",;}]+"), rf"\1{REDACTED}"),
    # A bare "Bearer x" (e.g. a header value logged on its own).
    (re.compile(r"(?i)\b(bearer\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    # Query and fragment parameters: token=, access_token=, jwt= (up to the next &, #, space or
    # quote), after ?, &, # or the start of a word.
    (re.compile(r"(?i)((?:^|(?<=[?&;#\s,(\"']))(?:[a-z_]*token|jwt)=)[^&#\s\"',;)]+"),
     rf"\1{REDACTED}"),
    # The same, URL-encoded once or more ("token%3D", "token%253D"): up to an encoded & or #.
    (re.compile(r"(?i)((?:[a-z_]*token|jwt)%(?:25)*3D)(?:(?!%(?:25)*(?:26|23))"
                r"[^&#\s\"',;)])+"), rf"\1{REDACTED}"),
    # Encoded Authorization values: "Authorization%3A%20Bearer%20x", "Bearer%20x", "Bearer+x".
    (re.compile(r"(?i)(authorization%(?:25)*3A(?:%(?:25)*20|\+)*)"
                r"(?!\[REDACTED\]|%(?:25)*20|\+)(?:(?!%(?:25)*(?:26|23))[^&#\s\"',;)])+"),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)(\bbearer(?:%(?:25)*20|\+)+)(?!\[REDACTED\])"
                r"(?:(?!%(?:25)*(?:26|23))[^&#\s\"',;)])+"), rf"\1{REDACTED}"),
    # Key/value pairs in dict reprs and JSON: "jwt": "x", 'token': 'x'.
    (re.compile(r"(?i)(['\"](?:[a-z_]*token|jwt)['\"]\s*:\s*['\"])[^'\"]+"), rf"\1{REDACTED}"),
)


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by [REDACTED]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record's message, args, exception and stack text. Never drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw parts, scrubbed
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# Handlers configure_logging installed, so calling it again replaces rather than duplicates.
_installed: list[logging.Handler] = []


def log_files() -> list[Path]:
    """The log file `configure_logging` writes and its rotated backups that exist, newest first
    (empty when the app logs to stderr only)."""
    found: list[Path] = []
    for handler in _installed:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            base = Path(handler.baseFilename)
            candidates = [base, *(base.with_name(f"{base.name}.{n}")
                                  for n in range(1, handler.backupCount + 1))]
            found += [path for path in candidates if path.is_file()]
    return found


def shutdown_logging() -> None:
    """Remove and close the handlers `configure_logging` installed (for exit and tests)."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()


def configure_logging(log_dir: Path | None, level: int = logging.INFO) -> Path | None:
    """Log to stderr and, when `log_dir` is given, to a rotating file in it.

    Returns the log file's path, or None when there is no file (no dir, or it cannot be created;
    that is reported on stderr, the app still runs). Every root handler gets the redaction filter.
    """
    shutdown_logging()
    root = logging.getLogger()
    formatter = logging.Formatter(LOG_FORMAT)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    _installed.append(console)
    log_path: Path | None = None
    file_error: OSError | None = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            candidate = log_dir / LOG_FILE_NAME
            file_handler = logging.handlers.RotatingFileHandler(
                candidate, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
        except OSError as exc:
            file_error = exc
        else:
            file_handler.setFormatter(formatter)
            _installed.append(file_handler)
            log_path = candidate
    for handler in _installed:
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if file_error is not None:
        logging.getLogger(__name__).warning("cannot write a log file in %s: %s", log_dir,
                                            file_error)
    return log_path
