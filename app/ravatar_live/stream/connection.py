"""One signalling session with a Pixel Streaming server and the peer it sets up, from opening the
WebSocket until the first thing that ends it.

`StreamConnection.run()` never returns normally: it raises what ended the connection, and the
kind says what to do next (the worker reconnects or gives up):

- `StreamUnavailableError` — the socket dropped, the peer failed, the streamer did not answer:
  worth another attempt;
- `StreamEndedError` — `streamerDisconnected`, or no streamer appeared in time: for good;
- `StreamAccessError` — the signalling server refused the upgrade (401/403): for good;
- `UndecodableStreamError` — the offer's video is in no codec we decode: for good.

Flow (UE 5.x): `config` -> `listStreamers` -> `streamerList` (asked again every
`streamer_poll_s` while it is empty) -> `subscribe` -> `offer` -> `answer` + our candidates;
`iceCandidate`s both ways; `ping` <-> `pong` both ways (our own pings time the round trip).
Malformed frames and unknown types are logged and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import NoReturn, Protocol

import aiohttp
import av

from ravatar_live.api import pixel_streaming as ps
from ravatar_live.stream.errors import (
    StreamAccessError,
    StreamEndedError,
    StreamError,
    StreamUnavailableError,
    UndecodableStreamError,
)
from ravatar_live.stream.microphone_track import MicrophoneFeed
from ravatar_live.stream.peer import DEFAULT_VIDEO_PREFERENCE, OfferError, ReceivingPeer
from ravatar_live.tasks import TaskSet

logger = logging.getLogger(__name__)

MAX_SIGNAL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ConnectionSettings:
    video_preference: tuple[str, ...] = DEFAULT_VIDEO_PREFERENCE
    open_timeout_s: float = 10.0
    config_wait_s: float = 2.0  # ask for streamers anyway when no `config` came by then
    streamer_poll_s: float = 1.0
    streamer_timeout_s: float = 60.0
    offer_timeout_s: float = 15.0
    ice_timeout_s: float = 20.0
    ping_interval_s: float = 2.0


class ConnectionHooks(Protocol):
    """What the connection reports; called on the connection's event loop."""

    def on_video(self, frame: av.VideoFrame) -> None: ...

    def on_audio(self, frame: av.AudioFrame) -> None: ...

    def on_peer(self, peer: ReceivingPeer) -> None: ...

    def on_rtt(self, milliseconds: float) -> None: ...


@dataclass
class _Progress:
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class StreamConnection:
    def __init__(self, http: aiohttp.ClientSession, url: str, hooks: ConnectionHooks,
                 settings: ConnectionSettings | None = None,
                 streamer_id: str | None = None, *,
                 microphone: MicrophoneFeed | None = None) -> None:
        self._http = http
        self._microphone = microphone  # sent on the audio track when given (peer.py)
        self._url = url  # carries the token: never log it
        self._hooks = hooks
        self._settings = settings or ConnectionSettings()
        self.streamer_id = streamer_id
        self.peer: ReceivingPeer | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self._ice_servers: tuple[ps.IceServer, ...] = ()
        self._asked = False
        self._pending_candidates: list[ps.IceCandidate] = []
        self._pings: dict[float, float] = {}
        self._progress = _Progress()
        self._tasks = TaskSet("stream connection", on_error=self._task_failed)
        self._ended: asyncio.Future[StreamError] | None = None

    async def run(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        self._ws = await self._open()
        try:
            self._tasks.spawn(self._read())
            self._tasks.spawn(self._ping())
            self._tasks.spawn(self._watch_start())
            self._tasks.spawn(self._ask_without_config())
            raise await self._ended
        finally:
            await self._close()

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        try:
            return await self._http.ws_connect(
                self._url, timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                max_msg_size=MAX_SIGNAL_BYTES, heartbeat=None)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise StreamAccessError(
                    "The stream refused access: the sign-in was not accepted or the session "
                    "has ended.", detail=f"signalling HTTP {exc.status}") from exc
            raise StreamUnavailableError("The stream's signalling could not be opened.",
                                         detail=f"HTTP {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StreamUnavailableError("The stream's signalling could not be reached.",
                                         detail=type(exc).__name__) from exc

    def _task_failed(self, error: BaseException) -> None:
        if isinstance(error, StreamError):
            self._finish(error)
        else:
            logger.error("stream connection task failed", exc_info=error)
            self._finish(StreamUnavailableError("The stream connection hit an error.",
                                                detail=type(error).__name__))

    def _finish(self, error: StreamError) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(error)

    async def _send(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                await ws.send_str(text)

    # --- tasks -----------------------------------------------------------------------------------
    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                await self._handle(ps.parse_signal(message.data))
            elif message.type == aiohttp.WSMsgType.ERROR:
                break
        raise StreamUnavailableError("The stream's connection dropped.",
                                     detail=f"socket closed ({self._ws.close_code})")

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self._settings.ping_interval_s)
            stamp = float(round(time.time() * 1000))
            self._pings = {k: v for k, v in self._pings.items() if stamp - k < 60_000}
            self._pings[stamp] = time.monotonic()
            await self._send(ps.ping(stamp))

    async def _watch_start(self) -> None:
        settings = self._settings
        try:
            await asyncio.wait_for(self._progress.subscribed.wait(), settings.streamer_timeout_s)
        except TimeoutError:
            raise StreamEndedError(
                f"The avatar's stream did not start within {settings.streamer_timeout_s:g} "
                "seconds.") from None
        while True:
            try:
                await asyncio.wait_for(self._progress.answered.wait(), settings.offer_timeout_s)
            except TimeoutError:
                raise StreamUnavailableError(
                    "The stream did not send its video offer in time.") from None
            peer = self.peer
            assert peer is not None
            try:
                await asyncio.wait_for(peer.connected.wait(), settings.ice_timeout_s)
            except TimeoutError:
                raise StreamUnavailableError(
                    "The stream's media connection did not come up.") from None
            await peer.failed.wait()
            if peer is self.peer:
                raise StreamUnavailableError("The stream's media connection was lost.",
                                             detail=f"peer {peer.state}")
            # Replaced by a newer offer's peer: watch that one.

    async def _ask_without_config(self) -> None:
        await asyncio.sleep(self._settings.config_wait_s)
        if not self._asked:
            logger.info("no signalling config received; asking for streamers anyway")
            await self._ask_for_streamers()

    async def _ask_for_streamers(self, after_s: float = 0.0) -> None:
        if after_s:
            await asyncio.sleep(after_s)
        self._asked = True
        await self._send(ps.list_streamers())

    # --- messages --------------------------------------------------------------------------------
    async def _handle(self, message: ps.SignalMessage) -> None:
        match message:
            case ps.Config(ice_servers=servers):
                self._ice_servers = servers
                if not self._asked:
                    await self._ask_for_streamers()
            case ps.StreamerList(ids=ids):
                await self._on_streamers(ids)
            case ps.Offer(sdp=sdp):
                await self._on_offer(sdp)
            case ps.IceCandidate() as candidate:
                if self.peer is None:
                    self._pending_candidates.append(candidate)
                else:
                    await self.peer.add_remote_candidate(candidate)
            case ps.Ping(time=stamp):
                await self._send(ps.pong(stamp))
            case ps.Pong(time=stamp):
                sent = self._pings.pop(stamp, None) if stamp is not None else None
                if sent is not None:
                    self._hooks.on_rtt((time.monotonic() - sent) * 1000)
            case ps.StreamerDisconnected():
                self._finish(StreamEndedError("The avatar's stream has ended."))
            case ps.SubscribeFailed(message=reason):
                self._finish(StreamUnavailableError("The stream could not be joined.",
                                                    detail=reason[:200]))
            case ps.StreamerIdChanged(new_id=new_id):
                self.streamer_id = new_id
            case ps.PlayerCount(count=count):
                logger.debug("stream has %d player(s)", count)
            case ps.Unrecognised(type=kind, reason=reason):
                logger.debug("ignored a signalling frame (%s): %s", kind, reason)

    async def _on_streamers(self, ids: tuple[str, ...]) -> None:
        if self._progress.subscribed.is_set():
            return
        chosen = ps.choose_streamer(ids, self.streamer_id)
        if chosen is None:
            # The streamer starts a little after the session: ask again shortly.
            self._tasks.spawn(self._ask_for_streamers(after_s=self._settings.streamer_poll_s))
            return
        self.streamer_id = chosen
        self._progress.subscribed.set()
        await self._send(ps.subscribe(chosen))

    async def _on_offer(self, sdp: str) -> None:
        if self.peer is not None:  # a new offer replaces the old peer (the streamer restarted)
            logger.info("the streamer sent a new offer; replacing the peer")
            self._progress.answered.clear()
            old, self.peer = self.peer, None
            await old.close()
        hooks = self._hooks
        peer = ReceivingPeer(self._ice_servers, hooks.on_video, hooks.on_audio,
                             self._settings.video_preference, microphone=self._microphone)
        try:
            answer = await peer.accept_offer(sdp)
        except OfferError as exc:
            await peer.close()
            error_type = UndecodableStreamError if exc.codec_problem else StreamUnavailableError
            self._finish(error_type(exc.user_message))
            return
        self.peer = peer
        await self._send(ps.answer(answer))
        for candidate in peer.local_candidates():
            await self._send(ps.ice_candidate(candidate))
        pending, self._pending_candidates = self._pending_candidates, []
        for candidate in pending:
            await peer.add_remote_candidate(candidate)
        self._progress.subscribed.set()
        self._progress.answered.set()
        hooks.on_peer(peer)

    async def _close(self) -> None:
        await self._tasks.cancel_and_wait()
        if self.peer is not None:
            await self.peer.close()
        if self._ws is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                await self._ws.close()
