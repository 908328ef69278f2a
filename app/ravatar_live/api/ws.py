"""ChatSocket: the RAVATAR chat WebSocket (`/ws/chat?token=<JWT>`, PROTOCOL.md section 4).

One writer (sends are serialised by a lock), one reader (`messages()`: iterate it from a single
task), aiohttp's heartbeat pings, a clean close. A 403 at the upgrade renews the token once and
retries once, else AuthError.

Reconnection lives in `reconnect.ReconnectingChatSocket`, which wraps this class. The hooks it
uses: `connect()` may be called again after the connection ended, `send_encoded()` writes a frame
that was serialised earlier (so a queued message is validated when it is queued), and
`closed_by_client`, `close_code` and `last_error` tell whether an ended `messages()` loop was our
own close, a dropped line or a missed heartbeat (`aiohttp.ServerTimeoutError`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp
from yarl import URL

from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    ServiceUnreachableError,
    error_for_status,
)
from ravatar_live.api.models import ServerMessage, Unrecognised, parse_server_message
from ravatar_live.api.urls import without_secrets, ws_url_with_token

log = logging.getLogger(__name__)

TokenProvider = Callable[[], Awaitable[str]]
#: token_refresher(rejected_token) -> a new token.
TokenRefresher = Callable[[str], Awaitable[str]]

# Replies may carry inline audio as base64; aiohttp's 4 MiB default is too small for that.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def encode_message(message: Mapping[str, Any]) -> str:
    """One outgoing message as a compact JSON text frame; InvalidRequestError if it cannot be."""
    try:
        return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequestError("The message could not be encoded.",
                                  detail=str(exc)) from exc


def decode_frame(data: str | bytes) -> ServerMessage:
    """One received frame as a ServerMessage (never raises). Frames this client does not
    understand are logged at debug (reason and size only: they may hold user speech or text)
    and returned as `Unrecognised` so the caller can ignore them."""
    message = parse_server_message(data)
    if isinstance(message, Unrecognised):
        log.debug("ignored a chat frame (%s, %d chars)", message.reason, len(message.raw))
    return message


class ChatSocket:
    """A chat WebSocket. `connect()`, `send()`, `async for m in messages()`, `close()`."""

    def __init__(self, http: aiohttp.ClientSession, ws_url: str, token_provider: TokenProvider,
                 *, heartbeat_s: float | None = 20.0,
                 token_refresher: TokenRefresher | None = None,
                 connect_timeout_s: float = 15.0, close_timeout_s: float = 5.0) -> None:
        self._http = http
        self._ws_url = ws_url
        self._token_provider = token_provider
        # Without a refresher we can only ask the provider again (it may know a newer token).
        self._token_refresher = token_refresher
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self._close_timeout_s = close_timeout_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self.closed_by_client = False
        self.last_error: BaseException | None = None

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        return self._ws is not None and not self._ws.closed

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once closed (1000 normal, 1006 dropped), else None."""
        return self._ws.close_code if self._ws is not None else None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the socket (no-op when open). AuthError when the token is refused twice."""
        if self.connected:
            return
        self.closed_by_client = False
        self.last_error = None
        token = await self._token_provider()
        try:
            self._ws = await self._open(token)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status != 403:
                raise error_for_status(exc.status, "WebSocket upgrade refused") from None
            log.info("chat socket: token refused at the upgrade, renewing it and retrying once")
            renew = self._token_refresher
            token = await (renew(token) if renew is not None else self._token_provider())
            try:
                self._ws = await self._open(token)
            except aiohttp.WSServerHandshakeError as again:
                if again.status == 403:
                    raise AuthError(
                        "The chat service refused the sign-in even after renewing it.",
                        detail="WebSocket upgrade answered 403 twice", status=403) from None
                raise error_for_status(again.status, "WebSocket upgrade refused") from None
        log.info("chat socket connected to %s", without_secrets(self._ws_url))

    async def _open(self, token: str) -> aiohttp.ClientWebSocketResponse:
        # encoded=True: the token is already percent-encoded once; yarl must not touch it again.
        url = URL(ws_url_with_token(self._ws_url, token), encoded=True)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                return await self._http.ws_connect(
                    url, heartbeat=self._heartbeat_s, max_msg_size=MAX_MESSAGE_BYTES,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self._close_timeout_s))
        except aiohttp.WSServerHandshakeError:
            raise
        except TimeoutError:
            raise ServiceUnreachableError(
                f"The chat service did not answer within {self._connect_timeout_s:g} seconds.",
                detail="WebSocket connect timed out") from None
        except aiohttp.ClientConnectorError as exc:
            raise ServiceUnreachableError(
                f"Could not connect to the chat service at {url.host}:{url.port}.",
                detail=str(exc.os_error)) from None
        except aiohttp.ClientError as exc:
            # `from None`: aiohttp's exception text includes the URL, token and all.
            raise ServiceUnreachableError(
                "Could not open the chat connection.", detail=type(exc).__name__) from None

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send one JSON message (built by the models' builders). Serialised: one writer."""
        await self.send_encoded(encode_message(message))

    async def send_encoded(self, data: str) -> None:
        """Send one frame already made by `encode_message()`."""
        async with self._send_lock:
            ws = self._ws
            if ws is None or ws.closed:
                raise ServiceUnreachableError("The chat connection is not open.")
            try:
                await ws.send_str(data)
            except (ConnectionError, aiohttp.ClientError) as exc:
                self.last_error = exc
                raise ServiceUnreachableError("The chat connection was lost while sending.",
                                              detail=type(exc).__name__) from None

    async def messages(self) -> AsyncIterator[ServerMessage]:
        """Parsed server messages until the socket closes. Iterate from one task only."""
        ws = self._ws
        if ws is None:
            raise ServiceUnreachableError("The chat connection is not open.")
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                yield decode_frame(msg.data)
            elif msg.type == aiohttp.WSMsgType.ERROR:
                self.last_error = msg.data if isinstance(msg.data, BaseException) else None
                if isinstance(msg.data, aiohttp.ServerTimeoutError):
                    log.warning("chat socket: the server stopped answering heartbeats")
                else:
                    log.warning("chat socket error: %s", type(msg.data).__name__)
                break
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                              aiohttp.WSMsgType.CLOSED):
                break
        if self.last_error is None and isinstance(ws.exception(), BaseException):
            # A heartbeat timeout that fired while nobody was waiting in receive() only shows here.
            self.last_error = ws.exception()
        if not self.closed_by_client:
            log.info("chat socket closed by the server or the network (code %s)", ws.close_code)

    async def close(self) -> None:
        """Close the socket cleanly (idempotent)."""
        self.closed_by_client = True
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()
            log.info("chat socket closed")
