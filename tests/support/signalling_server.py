"""A small Pixel Streaming server for the native player's tests: a real aiohttp server on
127.0.0.1 (port 0) with RAVATAR's page access and Epic's signalling, and a real aiortc streamer
(`tests.support.streamer.TestStreamer`) per subscribed player.

Why not only the simulator: the tests need faults on demand that a faithful simulator has no
switch for (drop every player's socket mid-stream, keep the streamer list empty for a while,
refuse the page), and exact counts of what the player sent. The simulator's own Pixel Streaming
instance is exercised by the tests against it.

Access: `GET /` with `Authorization: Bearer <TOKEN>` or `?token=<TOKEN>` sets a session cookie;
anything else is redirected `/login` -> `/forbidden` (200, a black page). Unknown paths: 404.
Signalling at `/` (WebSocket) with the cookie or `?token=`; otherwise the upgrade gets 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.support.streamer import TestStreamer

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"  # JWT-shaped, for the scans
COOKIE = "ps_session"
STREAMER_ID = "ravatar-test-streamer"
FORBIDDEN_PAGE = "<html><body style='background:#000'>forbidden</body></html>"


@dataclass
class Player:
    ws: web.WebSocketResponse
    received: list[str] = field(default_factory=list)  # message types the player sent
    streamer: TestStreamer | None = None
    pongs: int = 0
    ponged: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class ServerOptions:
    codec: str = "H264"  # what the streamer offers: H264, VP8 or both
    width: int = 640
    height: int = 360
    fps: float = 30.0
    empty_lists: int = 0  # answer this many listStreamers with an empty list first
    ping_interval_s: float | None = None  # server pings to the player
    voice_after_s: float | None = 0.5


class SignallingServer:
    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.players: list[Player] = []
        self.sessions: set[str] = set()
        self.page_requests: list[dict[str, Any]] = []
        self.refused_upgrades = 0
        self._lists_answered = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.player_joined = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_get("/login", self._login)
        app.router.add_get("/forbidden", self._forbidden)
        app.router.add_get("/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        for player in list(self.players):
            await self._drop(player)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, token: str | None = TOKEN) -> str:
        return f"{self.origin}/?token={token}" if token else f"{self.origin}/"

    # --- faults and facts --------------------------------------------------------------------
    async def drop_players(self) -> None:
        """Close every player's socket and streamer at once (a network drop)."""
        for player in list(self.players):
            await self._drop(player)

    async def disconnect_streamer(self) -> None:
        """The streamer leaves: `streamerDisconnected` to every player."""
        for player in list(self.players):
            with contextlib.suppress(ConnectionError):
                await player.ws.send_str(json.dumps({"type": "streamerDisconnected"}))
            if player.streamer is not None:
                await player.streamer.close()

    async def send_all(self, text: str) -> None:
        for player in list(self.players):
            with contextlib.suppress(ConnectionError):
                await player.ws.send_str(text)

    @property
    def connected_players(self) -> list[Player]:
        return [p for p in self.players if not p.ws.closed]

    # --- HTTP --------------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        bearer = request.headers.get("Authorization", "")
        return (bearer == f"Bearer {TOKEN}" or request.query.get("token") == TOKEN
                or request.cookies.get(COOKIE) in self.sessions)

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._signalling(request)
        self.page_requests.append({"bearer": request.headers.get("Authorization", "")
                                   .startswith("Bearer "), "cookie": COOKIE in request.cookies})
        if not self._authorised(request):
            raise web.HTTPFound("/login")
        response = web.Response(text="<html><body>player</body></html>",
                                content_type="text/html")
        session = secrets.token_hex(8)
        self.sessions.add(session)
        response.set_cookie(COOKIE, session, httponly=True, samesite="Lax")
        return response

    async def _login(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/forbidden")

    async def _forbidden(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=FORBIDDEN_PAGE, content_type="text/html")

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=FORBIDDEN_PAGE, content_type="text/html", status=404)

    # --- signalling --------------------------------------------------------------------------
    async def _signalling(self, request: web.Request) -> web.StreamResponse:
        if request.cookies.get(COOKIE) not in self.sessions \
                and request.query.get("token") != TOKEN:
            self.refused_upgrades += 1
            raise web.HTTPUnauthorized(text="no session")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        player = Player(ws)
        self.players.append(player)
        self.player_joined.set()
        await ws.send_str(json.dumps({"type": "config", "protocolVersion": "1.1.0",
                                      "peerConnectionOptions": {"iceServers": []}}))
        await ws.send_str(json.dumps({"type": "playerCount", "count": len(self.players)}))
        if self.options.ping_interval_s:
            self._spawn(self._ping(player, self.options.ping_interval_s))
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            kind = data.get("type") if isinstance(data, dict) else None
            player.received.append(str(kind))
            await self._on_message(player, data)
        await self._drop(player)
        return ws

    async def _on_message(self, player: Player, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "listStreamers":
            self._lists_answered += 1
            ids = [] if self._lists_answered <= self.options.empty_lists else [STREAMER_ID]
            await player.ws.send_str(json.dumps({"type": "streamerList", "ids": ids}))
        elif kind == "subscribe":
            if data.get("streamerId") != STREAMER_ID:
                await player.ws.send_str(json.dumps({"type": "subscribeFailed",
                                                     "message": "unknown streamer"}))
                return
            opts = self.options
            player.streamer = TestStreamer(opts.codec, width=opts.width, height=opts.height,
                                           fps=opts.fps, voice_after_s=opts.voice_after_s)
            sdp = await player.streamer.offer()
            await player.ws.send_str(json.dumps({"type": "offer", "sdp": sdp,
                                                 "playerId": "1", "sfu": False}))
        elif kind == "answer" and player.streamer is not None:
            await player.streamer.accept_answer(str(data.get("sdp")))
        elif kind == "ping":
            await player.ws.send_str(json.dumps({"type": "pong", "time": data.get("time")}))
        elif kind == "pong":
            player.pongs += 1
            player.ponged.set()

    async def _ping(self, player: Player, interval_s: float) -> None:
        while not player.ws.closed:
            await asyncio.sleep(interval_s)
            with contextlib.suppress(ConnectionError):
                await player.ws.send_str(json.dumps({"type": "ping", "time": 1234}))

    async def _drop(self, player: Player) -> None:
        if player.streamer is not None:
            await player.streamer.close()
        with contextlib.suppress(Exception):
            await player.ws.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ServerThread:
    """A SignallingServer on its own thread and event loop (the streamer is another machine;
    its video encoding must not run on the test's Qt thread). `call()` runs a coroutine there."""

    def __init__(self, options: ServerOptions | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="test-signalling-server", daemon=True)
        self._thread.start()
        self.server = SignallingServer(options)
        self.closed = False
        self.call(self.server.start())

    def call[T](self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.call(self.server.close())
        self.call(self._loop.shutdown_default_executor())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
