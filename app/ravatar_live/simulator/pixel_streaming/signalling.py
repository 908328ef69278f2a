"""Epic's Pixel Streaming signalling (UE 5.x protocol) for one player's WebSocket.

JSON text frames, each with a `type`. On open the server sends `config {peerConnectionOptions,
protocolVersion}` and `playerCount {count}`. Then:
    listStreamers            -> streamerList {ids}
    subscribe {streamerId}   -> the streamer's offer {sdp, sfu}; an unknown id: subscribeFailed
    answer {sdp}             the player's answer (video may be rejected: port 0)
    iceCandidate {candidate: {candidate, sdpMid, sdpMLineIndex, usernameFragment?}}  trickled
    ping {time}              -> pong {time}; the server pings too, every few seconds
    unsubscribe              closes the player's peer
When the stream goes away the player gets `streamerDisconnected` and the socket closes.
Unknown types, bad JSON and binary frames are logged and ignored; nothing a player sends can end
the connection. Without WebRTC (the canvas page) a subscribe is refused with subscribeFailed, and
the activity (listening / thinking / speaking / session end) goes out as ACTIVITY_TYPE messages,
a type no real client knows (clients ignore unknown types).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from ravatar_live.simulator.pixel_streaming.players import Player, PlayerBook
from ravatar_live.simulator.pixel_streaming.spec import InstanceSpec

if TYPE_CHECKING:
    from ravatar_live.simulator.pixel_streaming.streamer import StreamerPeer

log = logging.getLogger(__name__)

PROTOCOL_VERSION = "1.0.0"
ACTIVITY_TYPE = "ravatarSimulatorActivity"
MAX_FRAME_BYTES = 1024 * 1024


class PlayerChannel:
    """Serves one player's signalling socket until it closes (or the instance stops)."""

    def __init__(self, spec: InstanceSpec, book: PlayerBook, ws: web.WebSocketResponse,
                 new_peer: Callable[[], StreamerPeer] | None,
                 on_count_changed: Callable[[], Awaitable[None]]) -> None:
        self._spec = spec
        self._book = book
        self._ws = ws
        self._new_peer = new_peer  # None in canvas mode
        self._on_count_changed = on_count_changed
        self.player: Player = book.join()
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "listStreamers": self._list_streamers, "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe, "answer": self._answer,
            "iceCandidate": self._ice_candidate, "ping": self._ping, "pong": self._pong,
        }

    async def run(self) -> None:
        """Greet, then read frames until the socket closes; the peer closes with it."""
        pinger = asyncio.get_running_loop().create_task(self._ping_forever())
        try:
            await self.send({"type": "config", "protocolVersion": PROTOCOL_VERSION,
                             "peerConnectionOptions": {"iceServers": []}})
            await self._on_count_changed()
            async for frame in self._ws:
                if frame.type == WSMsgType.TEXT:
                    await self._handle_text(frame.data)
                elif frame.type == WSMsgType.BINARY:
                    log.info("player %s: ignored a binary frame", self.player.player_id)
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger
            facts = self.player.describe()  # before its peer goes: what tests ask afterwards
            await self._close_peer()
            self._book.leave(self.player, facts)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message (logged by type); a closing socket is not an error."""
        if self._ws.closed:
            return
        self._book.note(self.player, "out", str(message.get("type")))
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._ws.send_str(json.dumps(message))

    async def close(self, reason: str) -> None:
        """The stream is gone: say so, close the peer and the socket."""
        await self.send({"type": "streamerDisconnected"})
        await self._close_peer()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._ws.close(code=1001, message=reason.encode()[:100])

    async def drop(self) -> None:
        """Close the socket and the peer without a word, as a network failure would."""
        await self._close_peer()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._ws.close(code=1012, message=b"connection dropped")

    async def on_activity(self, event: dict[str, object]) -> None:
        """Follow the simulator's activity: the peer's avatar, or the canvas page's."""
        peer = self.player.peer
        if peer is not None:
            peer.on_event(event)
        elif self._new_peer is None:
            await self.send({"type": ACTIVITY_TYPE, **event})

    # --- receiving ---------------------------------------------------------------------------
    async def _handle_text(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.info("player %s: ignored a frame that is not JSON", self.player.player_id)
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(kind, str):
            log.info("player %s: ignored a message without a string type",
                     self.player.player_id)
            return
        self._book.note(self.player, "in", kind)
        handler = self._handlers.get(kind)
        if handler is None:
            log.info("player %s: ignored a %r message", self.player.player_id, kind[:40])
            return
        try:
            await handler(message)
        except Exception as exc:  # a bad message costs that message, never the connection
            log.warning("player %s: could not handle %s: %s", self.player.player_id, kind, exc)

    async def _list_streamers(self, _message: dict[str, Any]) -> None:
        await self.send({"type": "streamerList", "ids": [self._spec.streamer_id]})

    async def _subscribe(self, message: dict[str, Any]) -> None:
        wanted = message.get("streamerId")
        if wanted != self._spec.streamer_id:
            await self.send({"type": "subscribeFailed",
                             "message": f"no streamer with id {str(wanted)[:80]!r}"})
            return
        if self._new_peer is None:
            await self.send({"type": "subscribeFailed",
                             "message": "this simulator streams no WebRTC (aiortc missing or "
                                        "switched off)"})
            return
        await self._close_peer()
        peer = self._new_peer()
        self.player.peer = peer
        sdp = await peer.offer()
        await self.send({"type": "offer", "sdp": sdp, "sfu": False})

    async def _unsubscribe(self, _message: dict[str, Any]) -> None:
        await self._close_peer()

    async def _answer(self, message: dict[str, Any]) -> None:
        sdp, peer = message.get("sdp"), self.player.peer
        if peer is None or not isinstance(sdp, str):
            raise ValueError("an answer needs an sdp string and a subscription")
        try:
            await peer.accept_answer(sdp)
        except Exception:
            await self._close_peer()  # the half-negotiated peer is useless
            raise

    async def _ice_candidate(self, message: dict[str, Any]) -> None:
        candidate, peer = message.get("candidate"), self.player.peer
        if peer is None or not isinstance(candidate, dict):
            raise ValueError("iceCandidate needs a candidate object and a subscription")
        line = candidate.get("candidate")
        if not isinstance(line, str):
            raise ValueError("iceCandidate.candidate.candidate must be a string")
        if not line:
            return  # the player's end of candidates
        await peer.add_ice_candidate(line, candidate.get("sdpMid"),
                                     candidate.get("sdpMLineIndex"))

    async def _ping(self, message: dict[str, Any]) -> None:
        await self.send({"type": "pong", "time": message.get("time")})

    async def _pong(self, _message: dict[str, Any]) -> None:
        self.player.pongs_received += 1

    # --- the rest ----------------------------------------------------------------------------
    async def _ping_forever(self) -> None:
        while True:
            await asyncio.sleep(self._spec.ping_interval_s)
            self.player.pings_sent += 1
            await self.send({"type": "ping", "time": int(time.time() * 1000)})

    async def _close_peer(self) -> None:
        peer, self.player.peer = self.player.peer, None
        if peer is not None:
            await peer.close()
