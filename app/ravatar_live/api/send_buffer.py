"""SendBuffer: what waits to be written to the chat socket, and the audio of takes that may
have to be sent again. Pure bookkeeping (no I/O), so it is tested on its own.

* Text/WAV messages are queued (at most ``max_messages``) while the line is down and written in
  order after the reconnect. A full queue raises ``SendQueueFullError`` (a
  ServiceUnreachableError with a readable ``user_message``); after ``close()`` adding raises
  ServiceUnreachableError.
* Voice takes streamed as Live PCM (``begin_take()`` / PCM chunk messages / ``end_take()``; a
  chunk without an open take opens one): the chunks of a take are kept until the take is
  finished and fully written; if the line drops before that (``line_lost()``), the WHOLE take
  is queued again, in order (the server may also have heard the fragment sent before the drop:
  RAVATAR has no take id to deduplicate with). At most ``max_take_bytes`` of audio is held. A
  take that cannot be delivered whole is reported once with a ``NotSent`` (see
  ravatar_live.api.not_sent); later chunks of a reported take are dropped until
  ``end_take()``. Queued text/WAV messages left at close are reported the same way with
  ``take_id=None``.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ravatar_live.api.errors import InvalidRequestError, ServiceUnreachableError
from ravatar_live.api.not_sent import NotSent, NotSentReason
from ravatar_live.api.ws import encode_message

log = logging.getLogger(__name__)

#: 16 kHz mono s16le (PROTOCOL.md section 4).
PCM_BYTES_PER_S: Final = 32_000
PCM_FIELD: Final = "audio_base64_pcm"


class SendQueueFullError(ServiceUnreachableError):
    """Too many messages are waiting for the connection to come back."""

    default_message = ("The chat connection is down and too many messages are waiting. "
                       "Please wait until it is back.")


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

