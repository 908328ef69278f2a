"""One instance's web server (aiohttp, on the instance's own loop): the stream web server's routes
and the players' signalling sockets.

Routes, as RAVATAR's build of Epic's SignallingWebServer has them:
    GET /                the player page, after a token check on *every* request (RAVATAR's
                         server forces the check on the home page); with `Upgrade: websocket`,
                         the signalling socket (a session cookie or a valid ?token= admits it;
                         otherwise 401)
    GET /player.html     the player page for a session cookie, or after a token check
    GET /login           -> 302 /forbidden (an API domain is configured, so no login form)
    GET /forbidden       the black page that posts "ravatar-session-close" to its parent
    GET /player.js ...   static assets, public
    anything else        the forbidden page with 404
A refused page request is redirected to /login (which redirects on to /forbidden). Every refusal
is logged with its reason; tokens and URLs carrying them never are.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ravatar_live.simulator.net import url_host
from ravatar_live.simulator.pixel_streaming.access import AccessGate, token_of
from ravatar_live.simulator.pixel_streaming.page import (
    ASSETS,
    STATIC_DIR,
    forbidden_page,
    page_headers,
    player_page,
)
from ravatar_live.simulator.pixel_streaming.players import PlayerBook
from ravatar_live.simulator.pixel_streaming.signalling import MAX_FRAME_BYTES, PlayerChannel
from ravatar_live.simulator.pixel_streaming.spec import InstanceSpec

if TYPE_CHECKING:
    from ravatar_live.simulator.pixel_streaming.instance import OwnerLink
    from ravatar_live.simulator.pixel_streaming.streamer import StreamerPeer

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 0.5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InstanceServer:
    """Serves one license's stream; `start()` and `close()` on the instance's loop."""

    def __init__(self, spec: InstanceSpec, owner: OwnerLink) -> None:
        self.spec = spec
        self._owner = owner
        self.book = PlayerBook(owner.changed)
        self._access = AccessGate(spec.license_id, spec.api_base_url, spec.api_ssl,
                                  secure=spec.server_ssl is not None)
        self._channels: set[PlayerChannel] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.origin = ""

    async def start(self) -> str:
        """Listen on a free port of the host; returns the origin (scheme://host:port)."""
        await self._access.open()
        app = web.Application(middlewares=[self._forbidden_when_unknown])
        app.router.add_get("/", self._root)
        app.router.add_get("/player.html", self._player_html)
        app.router.add_get("/login", self._login)
        app.router.add_get("/login.html", self._login)
        app.router.add_get("/forbidden", self._forbidden)
        app.router.add_get("/forbidden.html", self._forbidden)
        for name in ASSETS:
            app.router.add_get(f"/{name}", self._asset)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.spec.host, 0, ssl_context=self.spec.server_ssl)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        scheme = "https" if self.spec.server_ssl is not None else "http"
        self.origin = f"{scheme}://{url_host(str(host))}:{port}"
        log.info("stream instance for %s serving on %s (%s)", self.spec.license_id, self.origin,
                 self.spec.stream.video_codec if self.spec.webrtc else "canvas page")
        return self.origin

    async def close(self) -> None:
        """The license ended: players hear `streamerDisconnected`, peers and sockets close,
        the port stops listening."""
        self._closing = True
        for channel in list(self._channels):
            await channel.on_activity({"event": "session-end"})
            await channel.close("the stream ended")
        if self._runner is not None:
            await self._runner.cleanup()
        await self._access.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("stream instance for %s stopped", self.spec.license_id)

    async def drop_players(self) -> int:
        """Drop every player's socket and peer (the license stays live); how many."""
        channels = list(self._channels)
        for channel in channels:
            await channel.drop()
        return len(channels)

    def on_event(self, event: dict[str, object]) -> None:
        """An activity event from the simulator, for every player."""
        for channel in list(self._channels):
            self._spawn(channel.on_activity(event))

    # --- pages -------------------------------------------------------------------------------
    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._signalling(request)
        return await self._page(request, session_suffices=False)

    async def _player_html(self, request: web.Request) -> web.StreamResponse:
        return await self._page(request, session_suffices=True)

    async def _page(self, request: web.Request, *, session_suffices: bool) -> web.Response:
        headers = page_headers(self.spec)
        if session_suffices and self._access.has_session(request):
            return web.Response(text=player_page(self.spec), content_type="text/html",
                                headers=headers)
        reason = await self._access.refusal(token_of(request))
        if reason is not None:
            log.info("stream page of %s refused: %s", self.spec.license_id, reason)
            raise web.HTTPFound("/login")
        response = web.Response(text=player_page(self.spec), content_type="text/html",
                                headers=headers)
        self._access.open_session(response)
        return response

    async def _login(self, _request: web.Request) -> web.Response:
        raise web.HTTPFound("/forbidden")

    async def _forbidden(self, _request: web.Request) -> web.Response:
        return web.Response(text=forbidden_page(), content_type="text/html",
                            headers=page_headers(self.spec))

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.path.lstrip("/")
        return web.Response(body=(STATIC_DIR / name).read_bytes(), content_type=ASSETS[name],
                            headers={"Cache-Control": "no-cache"})

    @web.middleware
    async def _forbidden_when_unknown(self, request: web.Request,
                                      handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return web.Response(text=forbidden_page(), content_type="text/html", status=404,
                                headers=page_headers(self.spec))

    # --- signalling --------------------------------------------------------------------------
    async def _signalling(self, request: web.Request) -> web.StreamResponse:
        if not self._access.has_session(request):
            reason = await self._access.refusal(token_of(request))
            if reason is not None:
                log.info("signalling socket of %s refused: %s", self.spec.license_id, reason)
                return web.json_response({"error": f"not authenticated: {reason}"}, status=401)
        if self._closing:
            return web.json_response({"error": "the stream is ending"}, status=503)
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        channel = PlayerChannel(self.spec, self.book, ws,
                                self._new_peer if self.spec.webrtc else None,
                                self._announce_player_count)
        self._channels.add(channel)
        self._owner.players_changed(+1)
        try:
            await channel.run()
        finally:
            self._channels.discard(channel)
            self._owner.players_changed(-1)
            if not self._closing:
                await self._announce_player_count()
        return ws

    async def _announce_player_count(self) -> None:
        count = len(self._channels)
        for channel in list(self._channels):
            await channel.send({"type": "playerCount", "count": count})

    def _new_peer(self) -> StreamerPeer:
        # Imported here: the canvas mode runs where aiortc is not installed.
        streamer = importlib.import_module("ravatar_live.simulator.pixel_streaming.streamer")
        owner = self._owner
        peer: StreamerPeer = streamer.StreamerPeer(self.spec.stream, streamer.StreamerHooks(
            changed=owner.changed, progressed=owner.progressed,
            mic_speech_started=owner.mic_speech_started, mic_utterance=owner.mic_utterance))
        return peer

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
