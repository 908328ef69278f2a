"""The redaction filter: a token logged through any path never reaches the log file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ravatar_live.logging_setup import (
    LOG_FILE_NAME,
    REDACTED,
    configure_logging,
    redact,
    shutdown_logging,
)

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjE3MDAwMDAwMDB9"
       ".Zm9vYmFyLXNpZ25hdHVyZS1fLQ")
OPAQUE = "s3cr3t-opaque-Token_value"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    level = root.level
    path = configure_logging(tmp_path / "logs", level=logging.DEBUG)
    assert path == tmp_path / "logs" / LOG_FILE_NAME
    yield path
    shutdown_logging()
    root.setLevel(level)


def _written(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "secret"), [
    (f"jwt {JWT} here", JWT),
    (f"GET wss://h/ws/chat?token={OPAQUE}&v=1", OPAQUE),
    (f"https://h/s?width=1&access_token={OPAQUE}#f", OPAQUE),
    (f"Authorization: Bearer {OPAQUE}", OPAQUE),
    (f"{{'Authorization': 'Bearer {OPAQUE}', 'Accept': 'x'}}", OPAQUE),
    (f'{{"result": "success", "jwt": "{OPAQUE}"}}', OPAQUE),
    (f"header value Bearer {OPAQUE}", OPAQUE),
    # Fragments: a token after "#" (a page that reads it in script), alone or after a route.
    (f"https://h/stream#token={OPAQUE}", OPAQUE),
    (f"https://h/stream?a=1#/player?x=1&token={OPAQUE}", OPAQUE),
    (f"https://h/cb#access_token={OPAQUE}&state=1", OPAQUE),
    # URL-encoded: a stream URL carried as a parameter of another URL, once or twice encoded.
    (f"https://h/login?next=https%3A%2F%2Fs%2Fp%3Ftoken%3D{OPAQUE}%26w%3D1", OPAQUE),
    (f"https://h/login?next=https%253A%252F%252Fs%253Ftoken%253D{OPAQUE}%2526w", OPAQUE),
    (f"redirect=%2Fp%23jwt%3D{OPAQUE}", OPAQUE),
    (f"h=Authorization%3A%20Bearer%20{OPAQUE}&z=1", OPAQUE),
    (f"auth=Bearer%20{OPAQUE}", OPAQUE),
    (f"auth=Bearer+{OPAQUE}&next=1", OPAQUE),
    (f"auth=Bearer%2520{OPAQUE}", OPAQUE),
    (f"encoded jwt %22{JWT}%22", JWT),
])
def test_redact_patterns(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert REDACTED in cleaned
    assert redact(cleaned) == cleaned  # idempotent: several handlers may run it


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "live session license-abc-123 started (1280x720) for avatar Rebecca; tokens: 3"
    assert redact(text) == text


def test_redact_keeps_what_follows_an_encoded_token() -> None:
    cleaned = redact(f"next=https%3A%2F%2Fs%2Fp%3Ftoken%3D{OPAQUE}%26width%3D1280#view")
    assert cleaned.endswith("%26width%3D1280#view")


def test_no_path_leaks_a_token_to_the_file(log_file: Path) -> None:
    log = logging.getLogger("ravatar_live.some.module")  # propagates to the root handlers
    log.info("token in the message %s", JWT)
    log.info("token in args: %s %r", f"wss://h/ws/chat?token={OPAQUE}", {"jwt": OPAQUE})
    log.warning("headers %s", {"Authorization": f"Bearer {OPAQUE}"})
    log.info(f"pre-formatted url https://h/stream/L?width=1&token={OPAQUE}")
    try:
        raise RuntimeError(f"connect failed for ws://h/ws/chat?token={OPAQUE} ({JWT})")
    except RuntimeError:
        log.exception("exception text")
    log.info("with stack %s", "x", stack_info=True, extra={"note": "stack"})
    log.error("broken format %s %s", JWT)  # noqa: PLE1206 - a broken call must still be redacted
    logging.getLogger("aiohttp.client").debug("lib logger %s", JWT)
    text = _written(log_file)
    assert JWT not in text
    assert OPAQUE not in text
    assert text.count(REDACTED) >= 8
    assert "exception text" in text and "RuntimeError" in text
    assert "broken format" in text


def test_stderr_handler_is_redacted_too(capsys: pytest.CaptureFixture[str], log_file: Path
                                        ) -> None:
    # capsys comes first, so configure_logging binds its console handler to the captured stderr.
    logging.getLogger("ravatar_live.x").warning("stderr %s", JWT)
    err = capsys.readouterr().err
    assert f"stderr {REDACTED}" in err
    assert JWT not in err


def test_configure_twice_does_not_duplicate_lines(tmp_path: Path) -> None:
    try:
        configure_logging(tmp_path)
        path = configure_logging(tmp_path)
        assert path is not None
        logging.getLogger("x").warning("once")
        assert _written(path).count("once") == 1
    finally:
        shutdown_logging()


def test_unwritable_log_dir_still_logs_to_stderr(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    try:
        assert configure_logging(blocker / "logs") is None
        assert configure_logging(None) is None
    finally:
        shutdown_logging()
