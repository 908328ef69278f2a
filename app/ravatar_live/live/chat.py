"""The conversation: sends typed text and voice takes, turns server messages into turns.

Messages carry the current avatar, language, `/connection` session and, while live, the LicenseId
(Live Mode). A voice reply's leading quote (what the server heard) becomes the user's turn, the
rest the avatar's.

Sending never waits for the network: while the chat link reconnects, text is queued and a voice
take is held whole (ServiceConnection); whatever is finally given up arrives as `send_failed`
with words saying what was lost. Server input is untrusted: unknown frames are logged at debug
and dropped, and shown text is capped so a hostile or broken server cannot flood the window.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any, Final

from PySide6.QtCore import QObject, Signal, Slot

from ravatar_live.api.models import (
    ChatContext,
    EventMessage,
    IncomingReply,
    ServerMessage,
    SystemNotice,
    Unrecognised,
    pcm_chunk_message,
    text_message,
    wav_message,
)
from ravatar_live.api.not_sent import NotSent
from ravatar_live.live.connection import ServiceConnection
from ravatar_live.live.error_kinds import ErrorKind, classify
from ravatar_live.live.session import LiveSession

logger = logging.getLogger(__name__)

#: Longest reply / notice shown; the rest is cut (a reply this long is a broken server).
MAX_REPLY_CHARS: Final = 20_000
MAX_NOTICE_CHARS: Final = 2_000
QUEUED_NOTICE: Final = ("The chat connection is down: your message will be sent as soon as it "
                        "is back.")


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " […]"


class ChatService(QObject):
    user_turn = Signal(str, str)  # text, how it was said: "typed" | "voice"
    avatar_turn = Signal(str)  # reply text
    notice = Signal(str)  # a system notice from the server
    send_failed = Signal(str, str)  # ErrorKind value, plain-words message

    def __init__(self, connection: ServiceConnection, session: LiveSession,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._connection = connection
        self._session = session
        self.avatar_id = ""
        self.language = "en"
        self.user_id = ""
        connection.message_received.connect(self.on_server_message)
        connection.not_sent.connect(self._on_not_sent)

    def context(self) -> ChatContext:
        info = self._connection.info
        return ChatContext(avatar_id=self.avatar_id, user_id=self.user_id,
                           language=self.language,
                           session=info.session if info is not None else None,
                           license_id=self._session.license_id)

    # --- sending -----------------------------------------------------------------------------
    def send_text(self, text: str) -> None:
        """Show the turn and send it; failures arrive as `send_failed`."""
        try:
            message = text_message(self.context(), text)
        except Exception as exc:
            self._report(exc)
            return
        if self._send(message):
            self.user_turn.emit(text.strip(), "typed")
            if not self._connection.link_up:
                self.notice.emit(QUEUED_NOTICE)

    def tell(self, text: str) -> None:
        """A notice from the app itself (shown like a server notice, muted)."""
        self.notice.emit(text)

    def begin_take(self) -> None:
        """A voice take starts: hold its chunks until it is delivered whole."""
        self._connection.begin_take()

    def end_take(self) -> None:
        self._connection.end_take()

    def send_pcm_chunk(self, pcm_b64: str) -> None:
        if self._session.license_id is None:
            return  # a chunk from a take that outlived the session: nowhere to send it
        try:
            message = pcm_chunk_message(self.context(), pcm_b64)
        except Exception as exc:
            self._report(exc)
            return
        self._send(message)

    def send_wav(self, wav: bytes, push_to_talk: bool) -> None:
        try:
            message = wav_message(self.context(), base64.b64encode(wav).decode("ascii"),
                                  push_to_talk=push_to_talk)
        except Exception as exc:
            self._report(exc)
            return
        self._send(message)

    def _send(self, message: Mapping[str, Any]) -> bool:
        # Queued in order on the one chat link; the network is never awaited here.
        try:
            self._connection.send_nowait(message)
        except Exception as exc:
            self._report(exc)
            return False
        return True

    def _report(self, exc: BaseException) -> None:
        kind, text = classify(exc)
        logger.warning("sending a chat message failed: %s", exc)
        self.send_failed.emit(kind.value, text)

    @Slot(object)
    def _on_not_sent(self, report: NotSent) -> None:
        # In the conversation too: a banner may be replaced a moment later (e.g. by the reason
        # the connection closed), and a lost turn must stay visible.
        self.notice.emit(report.user_message)
        self.send_failed.emit(ErrorKind.UNREACHABLE.value, report.user_message)

    # --- receiving ---------------------------------------------------------------------------
    @Slot(object)
    def on_server_message(self, message: ServerMessage) -> None:
        if isinstance(message, IncomingReply):
            # Sizes only: what people say stays out of the log.
            logger.info("reply received (%d chars%s)", len(message.text),
                        ", with transcript" if message.transcript else "")
            if message.transcript:
                self.user_turn.emit(_capped(message.transcript, MAX_NOTICE_CHARS), "voice")
            if message.text:
                self.avatar_turn.emit(_capped(message.text, MAX_REPLY_CHARS))
        elif isinstance(message, SystemNotice):
            self.notice.emit(_capped(message.text, MAX_NOTICE_CHARS))
        elif isinstance(message, EventMessage):
            if message.text:
                self.notice.emit(_capped(message.text, MAX_NOTICE_CHARS))
        elif isinstance(message, Unrecognised):
            logger.debug("ignored a server message: %s", message.reason[:200])
