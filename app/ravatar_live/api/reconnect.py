"""ReconnectingChatSocket: the chat WebSocket that comes back by itself. No Qt.

The parts it is built from, each in its own module (the names of the last three are re-exported
here):

* ravatar_live.api.backoff: ``BackoffPolicy``, the delay before each attempt (``CHAT_RECONNECT``);
* ravatar_live.api.link_status: ``LinkState`` / ``LinkStatus``, the state table below;
* ravatar_live.api.send_buffer: ``SendBuffer``, the queue and the takes held for a resend;
* ravatar_live.api.not_sent: ``NotSent`` / ``NotSentReason``, what was given up and why.

Guide for the UI
================

Build one per service connection, on the loop thread (qasync), from the REST client::

    from ravatar_live.api.reconnect import ReconnectingChatSocket, LinkState

    sock = ReconnectingChatSocket.from_client(client, ws_url=endpoint.ws_url)
    sock.add_state_listener(banner.show_link)      # (LinkStatus) -> see below
    sock.add_not_sent_listener(chat.show_not_sent) # (NotSent) -> tell the user what was lost
    await sock.connect()      # first attempt: raises RavatarError (and closes) if it fails
    # or sock.start()         # no waiting: the first attempt is retried like a reconnect
    reader = loop.create_task(read(sock))          # keep a reference

    async def read(sock):
        async for message in sock.messages():      # ServerMessage; survives reconnects,
            chat.show(message)                     # ends only after close() / a fatal error

Sending never waits for the network and never fails because the line is down:

* ``sock.send_nowait(text_message(ctx, "Hi"))`` (or ``await sock.send(...)``): written at once
  when connected, else queued (at most ``max_queued_messages``, 100) and sent in order after
  the reconnect. A full queue raises ``SendQueueFullError``; after ``close()`` it raises
  ServiceUnreachableError.
* Voice takes streamed as Live PCM: ``take_id = sock.begin_take()`` on the VoiceController's
  ``on_take_started``; ``sock.send_nowait(pcm_chunk_message(ctx, b64))`` per ``on_pcm_chunk``;
  ``sock.end_take()`` on ``on_take_finished``. A take cut by a dropped line is sent again WHOLE
  after the reconnect; at most ``max_take_s`` (60 s) of audio is held. A take (or queued
  messages) that cannot be delivered whole is reported once to the not-sent listeners with
  ``NotSent(reason, take_id, messages)``. The details are in ravatar_live.api.send_buffer.

State, for the status chip / banner: ``LinkStatus`` (also ``sock.status``), whose states are
listed in ravatar_live.api.link_status; ``status.user_message`` gives ready-made words.

Reconnects follow an unexpected close, a dropped line, or a missed heartbeat (the server
accepted the socket but stopped answering pings: aiohttp closes it after ``1.5 * heartbeat_s``).
Delays come from a ``BackoffPolicy``, by default ``CHAT_RECONNECT`` (exponential with full
jitter, 0.5 s base, 15 s cap, no attempt limit). A 403 at the upgrade renews the token once per
attempt (ChatSocket does that). ``close()`` never reconnects.
Listeners are plain callables run on the loop thread; one that raises is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from ravatar_live.api.backoff import CHAT_RECONNECT, BackoffPolicy
from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    PaymentError,
    RavatarError,
    ServiceUnreachableError,
)
from ravatar_live.api.link_status import LinkState, LinkStatus, StateListener
from ravatar_live.api.models import ServerMessage
from ravatar_live.api.not_sent import NotSent, NotSentListener, NotSentReason
from ravatar_live.api.send_buffer import (
    PCM_BYTES_PER_S,
    PCM_FIELD,
    SendBuffer,
    SendQueueFullError,
    pcm_bytes_of,
)
from ravatar_live.api.ws import ChatSocket

if TYPE_CHECKING:
    from ravatar_live.api.rest import RavatarClient

# Names other modules and tests import from here, from before the split.
__all__ = [
    "PCM_BYTES_PER_S",
    "PCM_FIELD",
    "BackoffPolicy",
    "LinkState",
    "LinkStatus",
    "NotSent",
    "NotSentListener",
    "NotSentReason",
    "ReconnectingChatSocket",
    "SendBuffer",
    "SendQueueFullError",
    "StateListener",
    "pcm_bytes_of",
]

log = logging.getLogger(__name__)

# Errors that another attempt cannot fix: the user must change something first.
_FATAL_ERRORS = (AuthError, PaymentError, InvalidRequestError)


def _as_link_error(exc: BaseException) -> RavatarError:
    if isinstance(exc, RavatarError):
        return exc
    return ServiceUnreachableError("The chat connection failed.", detail=type(exc).__name__)


def _loss_error(sock: ChatSocket) -> ServiceUnreachableError:
    """Why a connected line ended, in words."""
    if isinstance(sock.last_error, aiohttp.ServerTimeoutError):
        return ServiceUnreachableError("The chat service stopped answering.",
                                       detail="no answer to the heartbeat ping")
    if isinstance(sock.last_error, ServiceUnreachableError):
        return sock.last_error
    return ServiceUnreachableError("The chat connection was lost.",
                                   detail=f"close code {sock.close_code}")


class ReconnectingChatSocket:
    """A ChatSocket that reconnects with back-off, queues while down and never loses a take
    silently. See the module docstring for the full guide."""

    def __init__(self, socket: ChatSocket, *, backoff: BackoffPolicy | None = None,
                 max_queued_messages: int = 100, max_take_s: float = 60.0,
                 rng: Callable[[], float] = random.random,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 on_state: StateListener | None = None,
                 on_not_sent: NotSentListener | None = None) -> None:
        if not (max_take_s > 0 and math.isfinite(max_take_s)):
            raise InvalidRequestError("The voice buffer length must be a positive number.")
        self._socket = socket
        self.backoff = backoff or CHAT_RECONNECT
        self._rng = rng
        self._sleep = sleep
        self._clock = clock
        self._state_listeners: list[StateListener] = [on_state] if on_state else []
        self._not_sent_listeners: list[NotSentListener] = [on_not_sent] if on_not_sent else []
        self._buffer = SendBuffer(max_messages=max_queued_messages,
                                  max_take_bytes=round(max_take_s * PCM_BYTES_PER_S),
                                  on_not_sent=self._emit_not_sent)
        self._status = LinkStatus(LinkState.IDLE)
        # None ends messages(): the link is closed for good.
        self._incoming: asyncio.Queue[ServerMessage | None] = asyncio.Queue()
        self._wake = asyncio.Event()  # something was queued for the writer
        self._changed = asyncio.Event()  # state changed (for wait_connected)
        self._task: asyncio.Task[None] | None = None
        self._finished = False
        #: Connection attempts made (the first included) and successful reconnections.
        self.attempts = 0
        self.reconnects = 0

    @classmethod
    def from_client(cls, client: RavatarClient, *, ws_url: str | None = None,
                    heartbeat_s: float = 20.0, **options: Any) -> Self:
        """Wrap `client.chat_socket(...)`: tokens come from, and are renewed through, the
        REST client. `options` are this class's keyword arguments."""
        return cls(client.chat_socket(ws_url=ws_url, heartbeat_s=heartbeat_s), **options)

    # --- views ---
    @property
    def status(self) -> LinkStatus:
        """The latest state change."""
        return self._status

    @property
    def state(self) -> LinkState:
        return self._status.state

    @property
    def connected(self) -> bool:
        """True while the link is open."""
        return self._status.state is LinkState.CONNECTED

    @property
    def pending_messages(self) -> int:
        """Text/WAV messages waiting to be written."""
        return self._buffer.pending_messages

    @property
    def held_audio_s(self) -> float:
        """Seconds of take audio held for a possible resend."""
        return self._buffer.held_audio_bytes / PCM_BYTES_PER_S

    @property
    def current_take_id(self) -> int | None:
        return self._buffer.current_take_id

    # --- listeners ---
    def add_state_listener(self, listener: StateListener) -> None:
        self._state_listeners.append(listener)

    def remove_state_listener(self, listener: StateListener) -> None:
        self._state_listeners = [f for f in self._state_listeners if f != listener]

    def add_not_sent_listener(self, listener: NotSentListener) -> None:
        self._not_sent_listeners.append(listener)

    def remove_not_sent_listener(self, listener: NotSentListener) -> None:
        self._not_sent_listeners = [f for f in self._not_sent_listeners if f != listener]

    def _emit_not_sent(self, report: NotSent) -> None:
        for listener in list(self._not_sent_listeners):
            try:
                listener(report)
            except Exception:
                log.exception("a not-sent listener failed")

    def _set_status(self, status: LinkStatus) -> None:
        self._status = status
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in list(self._state_listeners):
            try:
                listener(status)
            except Exception:
                log.exception("a link state listener failed")

    # --- lifecycle ---
    def start(self) -> None:
        """Connect in the background; the first attempt is retried like a reconnect."""
        if self._finished:
            raise ServiceUnreachableError("The chat connection is closed.")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise(online=False))

    async def connect(self) -> None:
        """Open the link, then keep it open. If this first attempt fails, the error is raised
        and the socket is closed for good. Returns at once when already started."""
        if self._task is not None:
            await self.wait_connected()
            return
        if self._finished:
            raise ServiceUnreachableError("The chat connection is closed.")
        self._set_status(LinkStatus(LinkState.CONNECTING))
        self.attempts += 1
        try:
            await self._socket.connect()
        except BaseException as exc:
            self._finish(_as_link_error(exc) if isinstance(exc, Exception) else None)
            raise
        if self._finished:  # close() ran while the first attempt was in flight
            await self._socket.close()
            raise ServiceUnreachableError("The chat connection was closed while connecting.")
        self._go_online()
        self._task = asyncio.get_running_loop().create_task(self._supervise(online=True))

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until connected. Raises the closing error (or ServiceUnreachableError) if the
        link closes instead, TimeoutError after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            while True:
                status = self._status
                if status.state is LinkState.CONNECTED:
                    return
                if status.state is LinkState.CLOSED:
                    raise status.error or ServiceUnreachableError(
                        "The chat connection is closed.")
                await self._changed.wait()

    async def close(self) -> None:
        """Close for good (idempotent): no reconnect, held takes and queued messages are
        reported as not sent, `messages()` ends."""
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._socket.close()
        self._finish(None)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def _finish(self, error: RavatarError | None) -> None:
        if self._finished:
            return
        self._finished = True
        self._buffer.close()
        self._incoming.put_nowait(None)
        if error is not None:
            log.warning("chat link closed for good: %s", error)
        self._set_status(LinkStatus(LinkState.CLOSED, error=error))

    # --- sending ---
    def send_nowait(self, message: Mapping[str, Any]) -> None:
        """Queue one message (see the module docstring); never waits for the network."""
        self._buffer.add(message)
        self._wake.set()

    async def send(self, message: Mapping[str, Any]) -> None:
        """`send_nowait`, for code written against ChatSocket.send."""
        self.send_nowait(message)

    def begin_take(self) -> int:
        """Open a voice take (finishing an open one); its id appears in NotSent reports."""
        return self._buffer.begin_take()

    def end_take(self) -> int | None:
        """Finish the open take (its id), or None when none was open."""
        take_id = self._buffer.end_take()
        self._wake.set()
        return take_id

    # --- receiving ---
    async def messages(self) -> AsyncIterator[ServerMessage]:
        """Every server message across reconnects; ends once the link is closed for good.
        Iterate from one task only."""
        while True:
            item = await self._incoming.get()
            if item is None:
                self._incoming.put_nowait(None)  # a later iteration ends too
                return
            yield item

    # --- the supervisor ---
    def _go_online(self) -> None:
        self._buffer.online = True
        self._wake.set()
        self._set_status(LinkStatus(LinkState.CONNECTED))
        log.info("chat link connected (%d message(s) queued, %.1f s of voice held)",
                 self._buffer.pending_messages, self.held_audio_s)

    async def _supervise(self, *, online: bool) -> None:
        attempt = 0
        while True:
            if not online:
                self._set_status(LinkStatus(LinkState.CONNECTING, attempt=attempt))
                self.attempts += 1
                try:
                    await self._socket.connect()
                except Exception as exc:
                    error = _as_link_error(exc)
                    if not isinstance(exc, RavatarError):
                        log.warning("chat connect failed unexpectedly: %r", exc)
                    attempt += 1
                    if isinstance(error, _FATAL_ERRORS) or self.backoff.gives_up(attempt):
                        self._finish(error)
                        return
                    await self._wait_before(attempt, error)
                    continue
                if attempt > 0:
                    self.reconnects += 1
                self._go_online()
            online = False
            error = await self._serve()
            self._buffer.line_lost()
            attempt = 1
            await self._wait_before(attempt, error)

    async def _wait_before(self, attempt: int, error: RavatarError) -> None:
        delay = self.backoff.delay(attempt, self._rng)
        log.info("chat link down (%s); attempt %d in %.2f s", error, attempt, delay)
        self._set_status(LinkStatus(LinkState.RECONNECTING, attempt=attempt, next_delay_s=delay,
                                    retry_at=self._clock() + delay, error=error))
        await self._sleep(delay)

    async def _serve(self) -> RavatarError:
        """Read and write until the line ends; why it ended."""
        sock = self._socket
        loop = asyncio.get_running_loop()
        reader = loop.create_task(self._read(sock))
        writer = loop.create_task(self._write(sock))
        try:
            done, _ = await asyncio.wait((reader, writer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            writer.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
        failed = writer.exception() if writer in done and not writer.cancelled() else None
        with contextlib.suppress(Exception):
            await sock.close()  # a writer failure can leave the aiohttp socket half open
        if failed is not None:
            return _as_link_error(failed)
        return _loss_error(sock)

    async def _read(self, sock: ChatSocket) -> None:
        async for message in sock.messages():
            self._incoming.put_nowait(message)

    async def _write(self, sock: ChatSocket) -> None:
        while True:
            item = self._buffer.head()
            if item is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            await sock.send_encoded(item.frame)
            self._buffer.mark_written(item)
