"""LinkState / LinkStatus: where the chat link is, for the status chip and banner. No I/O.

``ReconnectingChatSocket`` gives a ``LinkStatus`` to its state listeners on every change (also
``sock.status``):

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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ravatar_live.api.errors import RavatarError


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


StateListener = Callable[[LinkStatus], object]
