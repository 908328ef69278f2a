"""The conversation: sends typed text and voice takes, turns server messages into turns.

Messages carry the current avatar, language, `/connection` session and, while live, the LicenseId
(Live Mode). A voice reply's leading quote (what the server heard) becomes the user's turn, the
rest the avatar's.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

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
from ravatar_live.live.connection import ServiceConnection
from ravatar_live.live.error_kinds import classify
from ravatar_live.live.session import LiveSession

logger = logging.getLogger(__name__)


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
        self._tasks: set[asyncio.Task[None]] = set()
        connection.message_received.connect(self.on_server_message)

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
        self.user_turn.emit(text.strip(), "typed")
        self._spawn(message)

    def send_pcm_chunk(self, pcm_b64: str) -> None:
        if self._session.license_id is None:
            return  # a chunk from a take that outlived the session: nowhere to send it
        try:
            self._spawn(pcm_chunk_message(self.context(), pcm_b64))
        except Exception as exc:
            self._report(exc)

    def send_wav(self, wav: bytes, push_to_talk: bool) -> None:
        try:
            message = wav_message(self.context(), base64.b64encode(wav).decode("ascii"),
                                  push_to_talk=push_to_talk)
        except Exception as exc:
            self._report(exc)
            return
        self._spawn(message)

    def _spawn(self, message: dict[str, Any]) -> None:
        # The socket has one writer and keeps order, so messages go out in the order spawned.
        task = asyncio.get_running_loop().create_task(self._send(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, message: dict[str, Any]) -> None:
        try:
            await self._connection.send(message)
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: BaseException) -> None:
        kind, text = classify(exc)
        logger.warning("sending a chat message failed: %s", exc)
        self.send_failed.emit(kind.value, text)

    # --- receiving ---------------------------------------------------------------------------
    @Slot(object)
    def on_server_message(self, message: ServerMessage) -> None:
        if isinstance(message, IncomingReply):
            # Sizes only: what people say stays out of the log.
            logger.info("reply received (%d chars%s)", len(message.text),
                        ", with transcript" if message.transcript else "")
            if message.transcript:
                self.user_turn.emit(message.transcript, "voice")
            if message.text:
                self.avatar_turn.emit(message.text)
        elif isinstance(message, SystemNotice):
            self.notice.emit(message.text)
        elif isinstance(message, EventMessage):
            if message.text:
                self.notice.emit(message.text)
        elif isinstance(message, Unrecognised):
            logger.info("ignored a server message: %s", message.reason)
