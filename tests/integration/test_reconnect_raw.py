"""ReconnectingChatSocket against tiny raw aiohttp WebSocket servers on 127.0.0.1, for failures
the simulator cannot produce on purpose:

* a stalled server: it accepts the WebSocket and then never reads, so it never answers a ping.
  It stands in for a hung backend or a half-open path (NAT or proxy that silently dropped the
  flow), where no FIN or RST ever arrives and only the heartbeat can notice.
* a server that drops the TCP connection in the middle of a voice take, so the test can see
  exactly which frames each connection carried.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

import aiohttp
import pytest
from aiohttp import web

from ravatar_live.api.backoff import CHAT_RECONNECT
from ravatar_live.api.reconnect import (
    LinkState,
    LinkStatus,
    NotSent,
    ReconnectingChatSocket,
)
from ravatar_live.api.ws import ChatSocket

FAST = replace(CHAT_RECONNECT, base_s=0.02, cap_s=0.1)
WAIT_S = 10.0

Handler = Callable[["RawServer", web.WebSocketResponse, int], Awaitable[None]]


@dataclass
class RawServer:
    """An aiohttp server with one WebSocket route; `handler(server, ws, n)` serves connection n
    (1-based). `frames[n]` collects what connection n received, if the handler records it."""

    handler: Handler
    port: int = 0
    frames: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    connections: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    transports: dict[int, asyncio.BaseTransport] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws/chat", self._serve)
        # A short shutdown_timeout: the stalled handler never returns by itself.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        # autoping=False and no heartbeat: this server answers pings only if a handler says so.
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.connections += 1
        number = self.connections
        self.frames[number] = []
        assert request.transport is not None
        self.transports[number] = request.transport
        self.changed.set()
        await self.handler(self, ws, number)
        return ws

    async def record(self, ws: web.WebSocketResponse, number: int, *,
                     drop_after: int | None = None) -> None:
        """Store every text frame (answering pings); abort the TCP connection after
        `drop_after` frames."""
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.frames[number].append(json.loads(msg.data))
                self.changed.set()
                if drop_after is not None and len(self.frames[number]) >= drop_after:
                    transport = self.transports[number]
                    assert isinstance(transport, asyncio.WriteTransport)
                    transport.abort()  # no close frame: the line just dies
                    return

    async def wait(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not check():
                self.changed.clear()
                await self.changed.wait()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def make(handler: Handler) -> RawServer:
        server = RawServer(handler)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


@dataclass
class Recorder:
    statuses: list[LinkStatus] = field(default_factory=list)
    not_sent: list[NotSent] = field(default_factory=list)

    def on_state(self, status: LinkStatus) -> None:
        self.statuses.append(status)


async def any_token() -> str:
    return "header.payload.signature"  # these servers do not check it


def reconnecting(http: aiohttp.ClientSession, server: RawServer, rec: Recorder, *,
                 heartbeat_s: float | None = 20.0, **options: object) -> ReconnectingChatSocket:
    chat = ChatSocket(http, server.ws_url, any_token, heartbeat_s=heartbeat_s)
    return ReconnectingChatSocket(chat, backoff=FAST, on_state=rec.on_state,
                                  on_not_sent=rec.not_sent.append,
                                  **options)  # type: ignore[arg-type]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_stalled_server_is_detected_by_the_heartbeat_and_reconnected(
        http: aiohttp.ClientSession,
        make_server: Callable[[Handler], Awaitable[RawServer]]) -> None:
    async def stall_first(server: RawServer, ws: web.WebSocketResponse, number: int) -> None:
        if number == 1:
            await asyncio.Event().wait()  # accept, then never read: pings go unanswered
        await server.record(ws, number)

    server = await make_server(stall_first)
    rec = Recorder()
    # The healthy link after the stall must answer each ping within heartbeat_s / 2, which a
    # loaded machine does not always manage at 0.2 s; 1 s keeps this about the stall.
    heartbeat_s = 1.0
    sock = reconnecting(http, server, rec, heartbeat_s=heartbeat_s)
    loop = asyncio.get_running_loop()
    await sock.connect()
    connected_at = loop.time()
    await server.wait(lambda: server.connections == 2)
    detected_after = loop.time() - connected_at
    await sock.wait_connected(WAIT_S)

    states = [s.state for s in rec.statuses]
    assert states[:4] == [LinkState.CONNECTING, LinkState.CONNECTED, LinkState.RECONNECTING,
                          LinkState.CONNECTING]
    lost = rec.statuses[2]
    assert lost.error is not None and "stopped answering" in lost.error.user_message
    # aiohttp pings after heartbeat_s and gives up heartbeat_s / 2 later: not before.
    assert heartbeat_s * 1.5 * 0.9 <= detected_after < heartbeat_s * 1.5 + WAIT_S
    sock.send_nowait({"request": "after the stall"})
    await server.wait(lambda: any(frames == [{"request": "after the stall"}]
                                  for number, frames in server.frames.items() if number > 1))
    await sock.close()


async def test_without_a_heartbeat_a_stall_goes_unnoticed(
        http: aiohttp.ClientSession,
        make_server: Callable[[Handler], Awaitable[RawServer]]) -> None:
    # The control for the test above: it is the heartbeat, not something else, that notices.
    async def stall(server: RawServer, ws: web.WebSocketResponse, number: int) -> None:
        await asyncio.Event().wait()

    server = await make_server(stall)
    rec = Recorder()
    sock = reconnecting(http, server, rec, heartbeat_s=None)
    await sock.connect()
    await asyncio.sleep(0.6)  # an observation window (3x the heartbeat above), not a sync
    assert sock.connected and server.connections == 1
    await sock.close()


async def test_drop_mid_take_resends_the_whole_take_in_order(
        http: aiohttp.ClientSession,
        make_server: Callable[[Handler], Awaitable[RawServer]]) -> None:
    async def drop_first_after_3(server: RawServer, ws: web.WebSocketResponse,
                                 number: int) -> None:
        await server.record(ws, number, drop_after=3 if number == 1 else None)

    server = await make_server(drop_first_after_3)
    rec = Recorder()
    sock = reconnecting(http, server, rec)
    await sock.connect()

    def chunk(i: int) -> dict[str, object]:
        return {"audio_base64_pcm": base64.b64encode(bytes([i]) * 8192).decode(), "i": i}

    sock.send_nowait({"request": "before the take"})
    take = sock.begin_take()
    for i in range(3):
        sock.send_nowait(chunk(i))
    await server.wait(lambda: server.connections == 2)  # dropped after "before" + 2 chunks
    sock.send_nowait({"request": "typed mid-take"})
    for i in range(3, 6):
        sock.send_nowait(chunk(i))
    assert sock.end_take() == take
    expected = [chunk(0), chunk(1), chunk(2), {"request": "typed mid-take"},
                chunk(3), chunk(4), chunk(5)]
    await server.wait(lambda: len(server.frames[2]) >= len(expected))
    assert server.frames[1] == [{"request": "before the take"}, chunk(0), chunk(1)]
    # Connection 2: the whole take from its first chunk, in order; the text that had already
    # gone out is not repeated; the text typed meanwhile keeps its place.
    assert server.frames[2] == expected
    assert rec.not_sent == [] and sock.held_audio_s == 0.0
    assert [s.state for s in rec.statuses].count(LinkState.RECONNECTING) == 1
    await sock.close()


async def test_server_closing_cleanly_is_also_reconnected(
        http: aiohttp.ClientSession,
        make_server: Callable[[Handler], Awaitable[RawServer]]) -> None:
    async def close_first(server: RawServer, ws: web.WebSocketResponse, number: int) -> None:
        if number == 1:
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"restarting")
            return
        await server.record(ws, number)

    server = await make_server(close_first)
    rec = Recorder()
    sock = reconnecting(http, server, rec)
    sock.start()
    await server.wait(lambda: server.connections == 2)
    await sock.wait_connected(WAIT_S)
    lost = next(s for s in rec.statuses if s.state is LinkState.RECONNECTING)
    assert lost.error is not None and "1001" in str(lost.error)
    assert sock.reconnects == 1
    await sock.close()
