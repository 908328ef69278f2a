"""The live session state machine: idle -> connecting -> starting -> live -> ending -> ended/error.

`LiveSession` asks for a license (retrying 503/504 with a countdown the window shows, cancellable),
hands the stream URL (token appended) to whoever shows it, and always ends the license: `end()` is
bounded (about 2 s) so closing the app never hangs, and concurrent calls share one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ravatar_live.api.errors import RavatarError
from ravatar_live.api.models import StreamSize
from ravatar_live.api.urls import stream_url_with_token
from ravatar_live.live.connection import ServiceConnection
from ravatar_live.live.emergency_end import end_license_blocking
from ravatar_live.live.error_kinds import ErrorKind, classify
from ravatar_live.live.license_journal import LicenseJournal
from ravatar_live.live.states import ConnectionState, SessionState

logger = logging.getLogger(__name__)

DEFAULT_END_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class LiveStream:
    """What the stream view needs. `url` carries the token: never log it."""

    license_id: str
    url: str
    size: StreamSize

    def __repr__(self) -> str:  # keep the token out of any accidental log line
        return f"LiveStream(license_id={self.license_id!r}, size={self.size})"


class LiveSession(QObject):
    state_changed = Signal(str)  # SessionState value
    retry_scheduled = Signal(int, float, str)  # attempt, seconds until the retry, why
    failed = Signal(str, str)  # ErrorKind value, plain-words message
    stream_ready = Signal(object)  # LiveStream
    ended = Signal(str, bool)  # license id, True when the server acknowledged the end

    def __init__(self, connection: ServiceConnection,
                 ensure_connected: Callable[[], Awaitable[bool]], *,
                 journal: LicenseJournal | None = None,
                 end_timeout_s: float = DEFAULT_END_TIMEOUT_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._connection = connection
        self._ensure_connected = ensure_connected
        self._journal = journal
        self._end_timeout_s = end_timeout_s
        self._state = SessionState.IDLE
        self._stream: LiveStream | None = None
        self._token: str | None = None  # kept in memory only, for the emergency end
        self._start_task: asyncio.Task[bool] | None = None
        self._end_task: asyncio.Task[bool] | None = None

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def stream(self) -> LiveStream | None:
        return self._stream

    @property
    def license_id(self) -> str | None:
        return self._stream.license_id if self._stream else None

    # --- starting ----------------------------------------------------------------------------
    def request_start(self, avatar_id: str, size: StreamSize) -> asyncio.Task[bool] | None:
        """Start in the background (the task is kept); None when a session is already going."""
        if not self._state.can_start or self._start_task is not None:
            return None
        self._start_task = asyncio.get_running_loop().create_task(self.start(avatar_id, size))
        self._start_task.add_done_callback(self._forget_start_task)
        return self._start_task

    def _forget_start_task(self, task: asyncio.Task[bool]) -> None:
        if self._start_task is task:
            self._start_task = None

    def cancel_start(self) -> None:
        """Stop waiting for a license (e.g. during the busy countdown)."""
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()

    async def start(self, avatar_id: str, size: StreamSize) -> bool:
        """Get a license and announce the stream; False (and `failed`) when it cannot."""
        if not self._state.can_start:
            return False
        try:
            if self._connection.state is not ConnectionState.CONNECTED:
                self._set_state(SessionState.CONNECTING)
                if not await self._ensure_connected():
                    self._fail(ErrorKind.UNREACHABLE,
                               "Not connected to the RAVATAR service, so no session can start.")
                    return False
            client = self._connection.client
            if client is None:
                self._fail(ErrorKind.UNREACHABLE, "Not connected to the RAVATAR service.")
                return False
            self._set_state(SessionState.STARTING)
            info = await client.start_live_session(avatar_id, size, on_retry=self._on_retry)
            token = await client.token()
            url = stream_url_with_token(info.streaming_url, token)
        except asyncio.CancelledError:
            logger.info("starting the live session was cancelled")
            self._set_state(SessionState.IDLE)
            raise
        except Exception as exc:
            kind, message = classify(exc)
            logger.warning("starting the live session failed: %s", exc)
            self._fail(kind, message)
            return False
        self._token = token
        self._stream = LiveStream(info.license_id, url, size)
        endpoint = self._connection.endpoint
        if self._journal is not None and endpoint is not None and not endpoint.demo:
            self._journal.add(info.license_id, endpoint.api_url)
        self._set_state(SessionState.LIVE)
        self.stream_ready.emit(self._stream)
        return True

    def _on_retry(self, attempt: int, delay_s: float, error: RavatarError) -> None:
        self.retry_scheduled.emit(attempt, delay_s, error.user_message)

    # --- ending ------------------------------------------------------------------------------
    async def end(self, timeout_s: float | None = None) -> bool:
        """End the license if one is held; True when the server acknowledged it (or there was
        nothing to end). Waits at most `timeout_s` (default ~2 s); concurrent calls share one
        request."""
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._start_task
        if self._end_task is None:
            if self._stream is None:
                return True
            self._end_task = asyncio.get_running_loop().create_task(
                self._end(self._stream, self._end_timeout_s if timeout_s is None else timeout_s))
        return await asyncio.shield(self._end_task)

    async def _end(self, stream: LiveStream, timeout_s: float) -> bool:
        self._set_state(SessionState.ENDING)
        client = self._connection.client
        acknowledged = False
        try:
            if client is None:
                raise RuntimeError("no client")
            async with asyncio.timeout(timeout_s):
                await client.end_live_session(stream.license_id, retry=False)
            acknowledged = True
        except TimeoutError:
            logger.warning("ending live session %s: no answer within %.1f s",
                           stream.license_id, timeout_s)
        except Exception as exc:
            logger.warning("ending live session %s failed: %s", stream.license_id, exc)
        if acknowledged:
            logger.info("live session ended")
            if self._journal is not None:
                self._journal.remove(stream.license_id)
        self._stream = None
        self._token = None
        self._end_task = None
        self._set_state(SessionState.ENDED)
        self.ended.emit(stream.license_id, acknowledged)
        return acknowledged

    def end_blocking(self, timeout_s: float | None = None) -> bool:
        """Synchronous last resort when the event loop cannot run any more (log-out, quit)."""
        stream, token, endpoint = self._stream, self._token, self._connection.endpoint
        if stream is None or token is None or endpoint is None:
            return True
        ok = end_license_blocking(endpoint.api_url, token, stream.license_id,
                                  self._end_timeout_s if timeout_s is None else timeout_s)
        if ok and self._journal is not None:
            self._journal.remove(stream.license_id)
        self._stream = None
        self._token = None
        self._set_state(SessionState.ENDED)
        return ok

    # --- internals ---------------------------------------------------------------------------
    def _fail(self, kind: ErrorKind, message: str) -> None:
        self._set_state(SessionState.ERROR)
        self.failed.emit(kind.value, message)

    def _set_state(self, state: SessionState) -> None:
        if state is not self._state:
            logger.debug("session state: %s -> %s", self._state.value, state.value)
            self._state = state
            self.state_changed.emit(state.value)
