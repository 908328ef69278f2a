"""ReconnectingChatSocket: the chat WebSocket that comes back by itself. No Qt.

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
  the reconnect. A full queue raises ``SendQueueFullError`` (a ServiceUnreachableError with a
  readable ``user_message``); after ``close()`` it raises ServiceUnreachableError.
* Voice takes streamed as Live PCM: ``take_id = sock.begin_take()`` on the VoiceController's
  ``on_take_started``; ``sock.send_nowait(pcm_chunk_message(ctx, b64))`` per ``on_pcm_chunk``
  (a chunk without an open take opens one); ``sock.end_take()`` on ``on_take_finished``. The
  chunks of a take are kept until the take is finished and fully written; if the line drops
  before that, the WHOLE take is sent again, in order, after the reconnect (the server may also
  have heard the fragment sent before the drop: RAVATAR has no take id to deduplicate with).
  At most ``max_take_s`` (60 s) of audio is held. A take that cannot be delivered whole is
  reported once to the not-sent listeners with ``NotSent(reason, take_id, messages)``:
  ``buffer_full`` (the line was down and the held audio outgrew the limit),
  ``too_long_to_resend`` (the line dropped mid-take after the take outgrew the limit), or
  ``closed`` (close() or a fatal error with the take unfinished or unsent). Later chunks of a
  reported take are dropped until ``end_take()``. Queued text/WAV messages left at close are
  reported the same way with ``take_id=None``.

State, for the status chip / banner (``LinkStatus``, also ``sock.status``):

==============  ===============================================================================
state           meaning (``status.user_message`` gives ready-made words)
==============  ===============================================================================
idle            built, not started
connecting      an attempt is in flight (``attempt`` 0 = the first connection, n = nth retry)
connected       open; queued messages and held takes are being flushed
reconnecting    waiting ``next_delay_s`` (until ``retry_at`` on ``clock``) before attempt
                ``attempt``; ``error`` says why the line was lost ("Reconnecting in 3 s…")
closed          for good: after ``close()`` (``error`` None) or a fatal error (``error`` set:
                AuthError when the token is refused even after one refresh, PaymentError,
                InvalidRequestError). ``messages()`` then ends.
==============  ===============================================================================

Reconnects follow an unexpected close, a dropped line, or a missed heartbeat (the server
accepted the socket but stopped answering pings: aiohttp closes it after ``1.5 * heartbeat_s``).
Delays are exponential with full jitter: ``rng() * min(cap_s, base_s * 2**(attempt-1))``
(``BackoffPolicy``; defaults 0.5 s base, 15 s cap, no attempt limit). A 403 at the upgrade
renews the token once per attempt (ChatSocket does that). ``close()`` never reconnects.
Listeners are plain callables run on the loop thread; one that raises is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import aiohttp

from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    PaymentError,
    RavatarError,
    ServiceUnreachableError,
)
from ravatar_live.api.models import ServerMessage
from ravatar_live.api.ws import ChatSocket, encode_message

if TYPE_CHECKING:
    from ravatar_live.api.rest import RavatarClient

log = logging.getLogger(__name__)

#: 16 kHz mono s16le (PROTOCOL.md section 4).
PCM_BYTES_PER_S: Final = 32_000
PCM_FIELD: Final = "audio_base64_pcm"

# Errors that another attempt cannot fix: the user must change something first.
_FATAL_ERRORS = (AuthError, PaymentError, InvalidRequestError)


class SendQueueFullError(ServiceUnreachableError):
    """Too many messages are waiting for the connection to come back."""

    default_message = ("The chat connection is down and too many messages are waiting. "
                       "Please wait until it is back.")


# --- back-off --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential back-off with full jitter (AWS Architecture Blog, "Exponential Backoff And
    Jitter"): spreading retries uniformly keeps many clients from reconnecting in lockstep after
    a server restart."""

    base_s: float = 0.5
    cap_s: float = 15.0
    #: Give up (close with the last error) after this many failed attempts; None = never.
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and math.isfinite(self.base_s)):
            raise InvalidRequestError("The reconnect base delay must be a positive number.")
        if not (self.cap_s >= self.base_s and math.isfinite(self.cap_s)):
            raise InvalidRequestError(
                "The reconnect delay cap must be at least the base delay.")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise InvalidRequestError("The reconnect attempt limit must be at least 1.")

    def ceiling(self, attempt: int) -> float:
        """The largest delay before attempt `attempt` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 64)  # 2**64 * base is past any cap; no overflow
        return min(self.cap_s, self.base_s * 2.0 ** exponent)

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """A delay drawn uniformly from [0, ceiling(attempt)) with `rng()` in [0, 1)."""
        return min(max(rng(), 0.0), 1.0) * self.ceiling(attempt)

    def gives_up(self, attempt: int) -> bool:
        """True when attempt number `attempt` must not be made."""
        return self.max_attempts is not None and attempt > self.max_attempts


# --- state and reports -------------------------------------------------------------------------
class LinkState(StrEnum):
    """Where the chat link is; see the module docstring."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkStatus:
    """One state change, as given to the state listeners."""

    state: LinkState
    #: 0 for the first connection; n for the nth attempt after the line was lost.
    attempt: int = 0
    #: Seconds until the next attempt (state reconnecting only).
    next_delay_s: float | None = None
    #: When that attempt starts, on the socket's `clock` (for a countdown).
    retry_at: float | None = None
    #: Why the line was lost / the attempt failed / the link closed (None for a normal close).
    error: RavatarError | None = None

    @property
    def user_message(self) -> str:
        """Words for the status banner."""
        if self.state is LinkState.CONNECTED:
            return "Connected."
        if self.state is LinkState.IDLE:
            return "Not connected yet."
        if self.state is LinkState.CONNECTING:
            return ("Connecting to the chat service…" if self.attempt == 0
                    else f"Reconnecting (attempt {self.attempt})…")
        if self.state is LinkState.RECONNECTING:
            delay = self.next_delay_s or 0.0
            when = f"in {math.ceil(delay)} s…" if delay >= 0.5 else "now…"
            return f"The chat connection was lost. Reconnecting {when}"
        return self.error.user_message if self.error is not None else "Disconnected."


class NotSentReason(StrEnum):
    """Why something the caller sent will not reach the server whole."""

    BUFFER_FULL = "buffer_full"
    TOO_LONG_TO_RESEND = "too_long_to_resend"
    CLOSED = "closed"


@dataclass(frozen=True)
class NotSent:
    """A take (take_id set) or queued messages (take_id None) that were given up."""

    reason: NotSentReason
    take_id: int | None
    #: The messages still held when they were given up (for a take: its chunk messages).
    messages: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)

    @property
    def user_message(self) -> str:
        """Words for the conversation pane."""
        if self.take_id is not None:
            if self.reason is NotSentReason.BUFFER_FULL:
                return ("Your voice message was not sent: the connection was down for longer "
                        "than the app can hold your speech.")
            if self.reason is NotSentReason.TOO_LONG_TO_RESEND:
                return ("Your voice message was cut off when the connection dropped, and it "
                        "was too long to send again.")
            return "Your voice message was not sent because the chat connection closed."
        count = len(self.messages)
        noun = "message was" if count == 1 else "messages were"
        return f"{count} {noun} not sent because the chat connection closed."


StateListener = Callable[[LinkStatus], object]
NotSentListener = Callable[[NotSent], object]


# --- what waits to be written ------------------------------------------------------------------
def pcm_bytes_of(message: Mapping[str, Any]) -> int:
    """Decoded size of a PCM chunk message's audio (0 for any other message)."""
    b64 = message.get(PCM_FIELD)
    if not isinstance(b64, str):
        return 0
    return len(b64.rstrip("=")) * 3 // 4


@dataclass(eq=False)
class _Item:
    seq: int
    frame: str
    message: Mapping[str, Any]
    take: _Take | None = None
    pcm_bytes: int = 0
    written: bool = False


@dataclass(eq=False)
class _Take:
    take_id: int
    #: Chunks held for a resend (all of them while `resendable`, else only the unwritten ones).
    chunks: list[_Item] = field(default_factory=list)
    pending: int = 0  # chunks in the outbox, not yet written
    finished: bool = False
    resendable: bool = True
    given_up: bool = False


class SendBuffer:
    """Everything waiting to be written to the chat socket, in order, and the audio of takes
    that may have to be sent again. Pure bookkeeping (no I/O), so it is tested on its own.

    The writer loop asks `head()`, writes it and calls `mark_written()`. `line_lost()` puts the
    written chunks of unfinished takes back in front, in their original order."""

    def __init__(self, *, max_messages: int = 100, max_take_bytes: int = 60 * PCM_BYTES_PER_S,
                 on_not_sent: Callable[[NotSent], None] | None = None) -> None:
        if max_messages < 1:
            raise InvalidRequestError("The send queue must hold at least one message.")
        if max_take_bytes < 1:
            raise InvalidRequestError("The voice buffer must hold some audio.")
        self.max_messages = max_messages
        self.max_take_bytes = max_take_bytes
        self._on_not_sent = on_not_sent
        self._outbox: deque[_Item] = deque()
        self._takes: list[_Take] = []  # not yet delivered whole, oldest first
        self._current: _Take | None = None
        self._seq = itertools.count()
        self._take_ids = itertools.count(1)
        self._held_bytes = 0
        self._pending_messages = 0
        #: True while a writer drains the buffer (the link is connected).
        self.online = False
        self.closed = False

    # --- views ---
    @property
    def pending_messages(self) -> int:
        """Text/WAV messages not yet written."""
        return self._pending_messages

    @property
    def held_audio_bytes(self) -> int:
        """PCM bytes held for takes not yet delivered whole."""
        return self._held_bytes

    @property
    def current_take_id(self) -> int | None:
        """The open take, if any."""
        return self._current.take_id if self._current is not None else None

    def __len__(self) -> int:
        return len(self._outbox)

    # --- producer side ---
    def _check_open(self) -> None:
        if self.closed:
            raise ServiceUnreachableError("The chat connection is closed.")

    def add(self, message: Mapping[str, Any]) -> None:
        """Queue one message; PCM chunks go to the open take (opening one if needed)."""
        self._check_open()
        frame = encode_message(message)
        if PCM_FIELD in message:
            self._add_chunk(message, frame)
            return
        if not self.online and self._pending_messages >= self.max_messages:
            raise SendQueueFullError(detail=f"{self._pending_messages} messages waiting")
        self._outbox.append(_Item(next(self._seq), frame, message))
        self._pending_messages += 1

    def begin_take(self) -> int:
        """Open a new take (finishing an open one) and return its id."""
        self._check_open()
        self.end_take()
        take = _Take(next(self._take_ids))
        self._takes.append(take)
        self._current = take
        return take.take_id

    def end_take(self) -> int | None:
        """Finish the open take; its id, or None when no take was open."""
        take, self._current = self._current, None
        if take is None:
            return None
        take.finished = True
        if not take.given_up:
            self._retire_if_done(take)
        return take.take_id

    def _add_chunk(self, message: Mapping[str, Any], frame: str) -> None:
        take = self._current
        if take is None:
            self.begin_take()
            take = self._current
            assert take is not None
        if take.given_up:
            log.debug("dropped a chunk of take %d (already reported as not sent)", take.take_id)
            return
        size = pcm_bytes_of(message)
        if take.resendable and self._held_bytes + size > self.max_take_bytes:
            if not self.online:
                self._give_up(take, NotSentReason.BUFFER_FULL)
                return
            # The line is up: keep streaming, but this take can no longer be resent whole.
            take.resendable = False
            for chunk in [c for c in take.chunks if c.written]:
                self._release(take, chunk)
        item = _Item(next(self._seq), frame, message, take, size)
        take.chunks.append(item)
        take.pending += 1
        self._held_bytes += size
        self._outbox.append(item)

    # --- writer side ---
    def head(self) -> _Item | None:
        """The next frame to write, or None."""
        return self._outbox[0] if self._outbox else None

    def mark_written(self, item: _Item) -> None:
        """`item` (the head) reached the socket."""
        if self._outbox and self._outbox[0] is item:
            self._outbox.popleft()
        elif item in self._outbox:  # defensive: the buffer changed while it was being written
            self._outbox.remove(item)
        else:
            return
        item.written = True
        take = item.take
        if take is None:
            self._pending_messages -= 1
            return
        take.pending -= 1
        if not take.resendable:
            self._release(take, item)
        self._retire_if_done(take)

    def line_lost(self) -> None:
        """The link dropped: queue the held takes again in full, give up those that cannot be."""
        self.online = False
        resend: list[_Item] = []
        for take in list(self._takes):
            if not take.resendable:
                self._give_up(take, NotSentReason.TOO_LONG_TO_RESEND)
                continue
            for chunk in take.chunks:
                if chunk.written:
                    chunk.written = False
                    take.pending += 1
                    resend.append(chunk)
        if resend:
            self._outbox = deque(sorted([*resend, *self._outbox], key=lambda i: i.seq))
            log.info("holding %d chunk(s) of %d take(s) to send again after the reconnect",
                     len(resend), len({c.take for c in resend}))

    def close(self) -> None:
        """Closed for good: report every take and message that did not get out whole."""
        if self.closed:
            return
        self.closed = True
        self.online = False
        for take in list(self._takes):
            self._give_up(take, NotSentReason.CLOSED)
        leftovers = tuple(i.message for i in self._outbox if i.take is None)
        self._outbox.clear()
        self._pending_messages = 0
        self._current = None
        if leftovers:
            self._report(NotSent(NotSentReason.CLOSED, None, leftovers))

    # --- internals ---
    def _release(self, take: _Take, chunk: _Item) -> None:
        take.chunks.remove(chunk)
        self._held_bytes -= chunk.pcm_bytes

    def _retire_if_done(self, take: _Take) -> None:
        if take.finished and take.pending == 0:
            self._drop(take)

    def _drop(self, take: _Take) -> None:
        self._held_bytes -= sum(c.pcm_bytes for c in take.chunks)
        take.chunks.clear()
        take.pending = 0
        if take in self._takes:
            self._takes.remove(take)

    def _give_up(self, take: _Take, reason: NotSentReason) -> None:
        messages = tuple(c.message for c in take.chunks)
        unsent = {id(c) for c in take.chunks if not c.written}
        if unsent:
            self._outbox = deque(i for i in self._outbox if id(i) not in unsent)
        take.given_up = True
        self._drop(take)
        log.warning("take %d not sent whole (%s)", take.take_id, reason.value)
        self._report(NotSent(reason, take.take_id, messages))

    def _report(self, report: NotSent) -> None:
        if self._on_not_sent is not None:
            self._on_not_sent(report)


# --- the socket ------------------------------------------------------------------------------
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
        self.backoff = backoff or BackoffPolicy()
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
