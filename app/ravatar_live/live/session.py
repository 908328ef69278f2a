"""The live session state machine: idle -> connecting -> starting -> live -> ending -> ended/error.

`LiveSession` asks for a license (retrying 503/504 with a countdown the window shows, cancellable),
hands the stream URL (token appended) to whoever shows it, and always ends the license: `end()` is
bounded (about 2 s) so closing the app never hangs, and concurrent calls share one request.

Never leak a license:
- It is journaled the moment /startLiveSession answers, and crossed out only when
  /endLiveSession is acknowledged.
- A start cancelled while its request is on the wire is not forgotten: the answer is awaited in the
  background (bounded) and the license it brings is ended at once. Cancelling during a back-off
  wait stops at once (nothing is on the wire).
- An end that fails (network down, 5xx) is retried with back-off while the app runs
  (`backoff.END_RETRY`); `flush_pending_ends()` gives it one last bounded try at exit, after
  which it stays journaled for the next launch.
- A stream URL that would be mixed content (http:// under an https:// API) is refused, and its
  license ended; so is an http:// stream on another computer (the token would travel
  unencrypted) unless the user allowed that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Signal

from ravatar_live.api.backoff import END_RETRY, BackoffPolicy
from ravatar_live.api.errors import InvalidRequestError, RavatarError
from ravatar_live.api.models import LiveSessionInfo, StreamSize
from ravatar_live.api.urls import require_token_transport, stream_url_with_token
from ravatar_live.live.connection import ServiceConnection
from ravatar_live.live.emergency_end import end_license_blocking
from ravatar_live.live.error_kinds import ErrorKind, classify
from ravatar_live.live.license_journal import LicenseJournal
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.tasks import TaskSet

if TYPE_CHECKING:  # the REST client (aiohttp) loads with the first connection
    from ravatar_live.api.rest import RavatarClient

logger = logging.getLogger(__name__)

DEFAULT_END_TIMEOUT_S = 2.0
#: The stream player lets go of the stream (peer connection, sockets, threads) before the
#: license ends, within this; the end request then gets what is left of the end budget, but at
#: least MIN_END_REQUEST_S, so every exit path still ends the license in about the same time.
STREAM_TEARDOWN_S: Final = 0.5
MIN_END_REQUEST_S: Final = 1.0


def mixed_content_problem(api_url: str, stream_url: str) -> str | None:
    """Why a stream URL must not be shown under this API, in words; None when it is fine."""
    try:
        api_scheme = urlsplit(api_url).scheme.lower()
        stream_scheme = urlsplit(stream_url).scheme.lower()
    except ValueError:
        return "The service sent a stream address the app cannot read."
    if stream_scheme not in ("http", "https"):
        return "The service sent a stream address that is not a web page."
    if api_scheme == "https" and stream_scheme == "http":
        return ("The avatar stream is offered over plain http:// while the RAVATAR service "
                "uses https://. Showing it would mix secure and insecure content and send your "
                "sign-in token unencrypted, so the app refused it (mixed content). Ask the "
                "service operator to serve the stream over https://.")
    return None


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
    late_end = Signal(str)  # license id whose end was acknowledged only after retries

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
        self._background = TaskSet("live session")
        # A start request abandoned on the wire, and the task that ends what it brings.
        self._orphans = TaskSet("abandoned live session requests")
        self._retry_until: float | None = None  # a 503/504 back-off wait ends then (loop clock)
        self._abandoned = False  # the current start was cancelled: no further retries
        # license id -> the task retrying its /endLiveSession in the background
        self._pending_ends: dict[str, asyncio.Task[None]] = {}
        #: How an /endLiveSession that failed is tried again.
        self.end_retry: BackoffPolicy = END_RETRY
        #: Called (bounded) when a live session ends, before /endLiveSession: the stream
        #: players close what they hold for this stream.
        self.stream_teardown: Callable[[], Awaitable[object]] | None = None

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def stream(self) -> LiveStream | None:
        return self._stream

    @property
    def license_id(self) -> str | None:
        return self._stream.license_id if self._stream else None

    @property
    def pending_ends(self) -> list[str]:
        """Licenses whose end was not acknowledged yet and is being retried."""
        return list(self._pending_ends)

    # --- starting ----------------------------------------------------------------------------
    def request_start(self, avatar_id: str, size: StreamSize) -> asyncio.Task[bool] | None:
        """Start in the background (the task is kept); None when a session is already going."""
        if not self._state.can_start or (
                self._start_task is not None and not self._start_task.done()):
            return None
        self._start_task = self._background.spawn(self.start(avatar_id, size))
        return self._start_task

    def cancel_start(self) -> None:
        """Stop waiting for a license (e.g. during the busy countdown)."""
        if self._start_task is not None:
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
            info = await self._request_license(client, avatar_id, size)
            problem = mixed_content_problem(client.api_url, info.streaming_url)
            if problem is not None:
                logger.warning("refused the stream of %s: mixed content", info.license_id)
                await self._end_license(info.license_id, self._end_timeout_s)
                self._fail(ErrorKind.STREAM, problem)
                return False
            try:
                require_token_transport(info.streaming_url,
                                        allow_plain_http=client.allow_plain_http_token)
            except InvalidRequestError as exc:
                logger.warning("refused the stream of %s: %s", info.license_id, exc)
                await self._end_license(info.license_id, self._end_timeout_s)
                self._fail(ErrorKind.STREAM, exc.user_message)
                return False
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
        self._set_state(SessionState.LIVE)
        self.stream_ready.emit(self._stream)
        return True

    async def _request_license(self, client: RavatarClient, avatar_id: str,
                               size: StreamSize) -> LiveSessionInfo:
        """/startLiveSession, journaled the moment it answers. If this is cancelled while the
        request is on the wire, the server may still hand out a license: the request is left
        to finish and that license is ended (see `_settle_orphan`)."""
        loop = asyncio.get_running_loop()
        self._retry_until = None
        self._abandoned = False
        request = loop.create_task(client.start_live_session(avatar_id, size,
                                                             on_retry=self._on_retry))
        request.add_done_callback(self._journal_new_license)
        try:
            return await asyncio.shield(request)
        except asyncio.CancelledError:
            if not request.done():
                self._abandoned = True
                if self._retry_until is not None and loop.time() < self._retry_until:
                    request.cancel()  # waiting out a back-off: nothing is on the wire
                else:
                    self._orphans.spawn(self._settle_orphan(request))
            raise

    def _journal_new_license(self, request: asyncio.Task[LiveSessionInfo]) -> None:
        # A done-callback, registered first: the license is on disk before the caller resumes.
        if request.cancelled() or request.exception() is not None:
            return
        endpoint = self._connection.endpoint
        if self._journal is not None and endpoint is not None and not endpoint.demo:
            self._journal.add(request.result().license_id, endpoint.api_url)

    async def _settle_orphan(self, request: asyncio.Task[LiveSessionInfo]) -> None:
        try:
            async with asyncio.timeout(self._end_timeout_s):
                info = await request
        except (TimeoutError, asyncio.CancelledError):
            request.cancel()
            logger.warning("an abandoned live session request did not finish in time")
            return
        except Exception as exc:
            logger.info("the abandoned live session request failed: %s", exc)
            return
        logger.info("live session %s arrived after starting was cancelled: ending it",
                    info.license_id)
        await self._end_license(info.license_id, self._end_timeout_s)

    def _on_retry(self, attempt: int, delay_s: float, error: RavatarError) -> None:
        if self._abandoned:
            raise asyncio.CancelledError  # the user cancelled: no further attempt
        self._retry_until = asyncio.get_running_loop().time() + delay_s
        self.retry_scheduled.emit(attempt, delay_s, error.user_message)

    # --- ending ------------------------------------------------------------------------------
    async def end(self, timeout_s: float | None = None) -> bool:
        """End the license if one is held; True when the server acknowledged it (or there was
        nothing to end). Waits at most `timeout_s` (default ~2 s); concurrent calls share one
        request."""
        start_task = self._start_task
        if start_task is not None and not start_task.done():
            start_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await start_task
        await self._orphans.wait(2 * self._end_timeout_s)
        if self._end_task is None:
            if self._stream is None:
                return True
            self._end_task = asyncio.get_running_loop().create_task(
                self._end(self._stream, self._end_timeout_s if timeout_s is None else timeout_s))
        return await asyncio.shield(self._end_task)

    async def _end(self, stream: LiveStream, timeout_s: float) -> bool:
        self._set_state(SessionState.ENDING)
        spent = await self._teardown_stream()
        acknowledged = await self._end_license(stream.license_id,
                                               max(MIN_END_REQUEST_S, timeout_s - spent))
        self._stream = None
        self._token = None
        self._end_task = None
        self._set_state(SessionState.ENDED)
        self.ended.emit(stream.license_id, acknowledged)
        return acknowledged

    async def _teardown_stream(self) -> float:
        """Let the stream players close (bounded); returns the seconds it took."""
        teardown = self.stream_teardown
        if teardown is None:
            return 0.0
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            async with asyncio.timeout(STREAM_TEARDOWN_S):
                await teardown()
        except TimeoutError:
            logger.warning("the stream player did not let go within %.1f s; ending anyway",
                           STREAM_TEARDOWN_S)
        except Exception:
            logger.exception("closing the stream player failed; ending the session anyway")
        return loop.time() - began

    async def _end_license(self, license_id: str, timeout_s: float) -> bool:
        """One bounded /endLiveSession; on success the journal entry goes, on failure the end
        is retried in the background. True when acknowledged."""
        if await self._try_end(license_id, timeout_s):
            return True
        self.retry_end_later(license_id)
        return False

    async def _try_end(self, license_id: str, timeout_s: float) -> bool:
        client = self._connection.client
        try:
            if client is None:
                raise RuntimeError("no client")
            async with asyncio.timeout(timeout_s):
                await client.end_live_session(license_id, retry=False)
        except TimeoutError:
            logger.warning("ending live session %s: no answer within %.1f s",
                           license_id, timeout_s)
            return False
        except InvalidRequestError as exc:
            # The service refuses this license id for good; retrying cannot change that.
            logger.warning("ending live session %s was refused: %s", license_id, exc)
        except Exception as exc:
            logger.warning("ending live session %s failed: %s", license_id, exc)
            return False
        logger.info("live session ended")
        if self._journal is not None:
            self._journal.remove(license_id)
        return True

    def retry_end_later(self, license_id: str) -> None:
        """Keep trying to end `license_id` with back-off until acknowledged (it stays journaled
        meanwhile). Also used for licenses left over from a previous run."""
        if license_id in self._pending_ends:
            return
        task = self._background.spawn(self._retry_end(license_id))
        self._pending_ends[license_id] = task
        task.add_done_callback(lambda _t: self._pending_ends.pop(license_id, None))

    async def _retry_end(self, license_id: str) -> None:
        attempt = 0
        while True:
            attempt += 1
            if self.end_retry.gives_up(attempt):
                logger.warning("gave up ending live session %s; it stays journaled",
                               license_id)
                return
            delay = self.end_retry.delay(attempt)
            logger.info("ending live session %s again in %.0f s (try %d)", license_id, delay,
                        attempt + 1)
            await asyncio.sleep(delay)
            if await self._try_end(license_id, max(self._end_timeout_s, 5.0)):
                self.late_end.emit(license_id)
                return

    async def flush_pending_ends(self, timeout_s: float | None = None) -> list[str]:
        """At exit: stop the background retries and give each pending end one last bounded
        try, all at once. Returns the licenses still not ended (they stay journaled)."""
        pending = list(self._pending_ends)
        for task in list(self._pending_ends.values()):
            task.cancel()
        self._pending_ends.clear()
        if not pending:
            return []
        limit = self._end_timeout_s if timeout_s is None else timeout_s
        results = await asyncio.gather(*(self._try_end(lid, limit) for lid in pending))
        left = [lid for lid, ok in zip(pending, results, strict=True) if not ok]
        if left:
            logger.warning("%d live session(s) could not be ended before exit; they stay in "
                           "the journal and are ended at the next launch", len(left))
        return left

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
