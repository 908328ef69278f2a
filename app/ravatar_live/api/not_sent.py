"""NotSent: the report of a voice take or queued messages that will not reach the server whole.

Given to the not-sent listeners of ``ReconnectingChatSocket`` (``SendBuffer`` makes them), once
per take or once for the text/WAV messages left at close. The reasons:

* ``buffer_full``: the line was down and the held audio outgrew the limit;
* ``too_long_to_resend``: the line dropped mid-take after the take outgrew the limit;
* ``closed``: close() or a fatal error with the take unfinished or unsent, or with queued
  messages left (then ``take_id`` is None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


NotSentListener = Callable[[NotSent], object]
