"""Stream page access and one signalling connection of the native player, against a real Pixel
Streaming server on 127.0.0.1 (tests.support.signalling_server: page access with cookie, Epic's
signalling, a real aiortc streamer). No Qt: these run on pytest-asyncio's loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import av
import pytest

from ravatar_live.stream.access import open_stream_page
from ravatar_live.stream.connection import ConnectionSettings, StreamConnection
from ravatar_live.stream.errors import (
    StreamAccessError,
    StreamEndedError,
    StreamUnavailableError,
    UndecodableStreamError,
)
from ravatar_live.stream.peer import ReceivingPeer
from tests.support.signalling_server import TOKEN, ServerOptions, SignallingServer

FAST = ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.1, streamer_timeout_s=5.0,
                          offer_timeout_s=10.0, ice_timeout_s=15.0, ping_interval_s=0.2)
WAIT_S = 30.0


class Hooks:
    def __init__(self, frames_wanted: int = 5) -> None:
        self.frames = 0
        self.audio = 0
        self.peers: list[ReceivingPeer] = []
        self.rtts: list[float] = []
        self.playing = asyncio.Event()
        self.timed = asyncio.Event()
        self.wanted = frames_wanted

    def on_video(self, frame: av.VideoFrame) -> None:
        self.frames += 1
        if self.frames >= self.wanted:
            self.playing.set()

    def on_audio(self, frame: av.AudioFrame) -> None:
        self.audio += 1

    def on_peer(self, peer: ReceivingPeer) -> None:
        self.peers.append(peer)

    def on_rtt(self, milliseconds: float) -> None:
        self.rtts.append(milliseconds)
        self.timed.set()


@pytest.fixture
async def make_server() -> AsyncIterator[Any]:
    servers: list[SignallingServer] = []

    async def factory(**options: Any) -> SignallingServer:
        server = SignallingServer(ServerOptions(**options))
        await server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def start_connection(http: aiohttp.ClientSession, server: SignallingServer,
                           hooks: Hooks) -> tuple[StreamConnection, asyncio.Task[Any]]:
    url = await open_stream_page(http, server.page_url())
    connection = StreamConnection(http, url, hooks, FAST)
    return connection, asyncio.get_running_loop().create_task(connection.run())


async def test_page_access_sets_the_cookie_and_the_socket_works_with_it_alone(
        make_server: Any, http: aiohttp.ClientSession) -> None:
    server = await make_server()
    url = await open_stream_page(http, server.page_url())
    assert url == f"ws://127.0.0.1:{server.port}/?token={TOKEN}"
    assert server.page_requests[-1]["bearer"] is True  # the token went as Bearer too
    assert any(c.key == "ps_session" for c in http.cookie_jar)  # an IP host's cookie is kept
    # The cookie alone opens the signalling socket.
    hooks = Hooks()
    connection = StreamConnection(http, f"ws://127.0.0.1:{server.port}/", hooks, FAST)
    task = asyncio.get_running_loop().create_task(connection.run())
    await asyncio.wait_for(hooks.playing.wait(), WAIT_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.refused_upgrades == 0


@pytest.mark.parametrize("page_url", ["{origin}/?token=wrong", "{origin}/",
                                      "{origin}/no-such-page?token=" + TOKEN])
async def test_a_refused_page_is_access_denied_in_plain_words(
        make_server: Any, http: aiohttp.ClientSession, page_url: str) -> None:
    server = await make_server()
    with pytest.raises(StreamAccessError) as caught:
        await open_stream_page(http, page_url.format(origin=server.origin))
    assert "refused access" in caught.value.user_message
    assert TOKEN not in str(caught.value)


async def test_an_unreachable_page_is_worth_a_retry(http: aiohttp.ClientSession) -> None:
    with pytest.raises(StreamUnavailableError):
        await open_stream_page(http, "http://127.0.0.1:9/?token=x", timeout_s=5)


async def test_signalling_without_cookie_or_token_is_refused(
        make_server: Any, http: aiohttp.ClientSession) -> None:
    server = await make_server()
    connection = StreamConnection(http, f"ws://127.0.0.1:{server.port}/", Hooks(), FAST)
    with pytest.raises(StreamAccessError):
        await connection.run()
    assert server.refused_upgrades == 1


async def test_the_player_flow_waits_for_the_streamer_and_plays(
        make_server: Any, http: aiohttp.ClientSession) -> None:
    server = await make_server(empty_lists=3, ping_interval_s=0.2)
    hooks = Hooks(frames_wanted=15)
    connection, task = await start_connection(http, server, hooks)
    try:
        await asyncio.wait_for(hooks.playing.wait(), WAIT_S)
        # Pings both ways: theirs answered, ours timed.
        await asyncio.wait_for(hooks.timed.wait(), WAIT_S)
        await asyncio.wait_for(server.players[0].ponged.wait(), WAIT_S)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    sent = [kind for kind in server.players[0].received if kind not in ("ping", "pong")]
    assert sent[:4] == ["listStreamers"] * 4  # asked again while the list was empty
    assert sent[4:6] == ["subscribe", "answer"]
    assert "iceCandidate" in sent  # our candidates are trickled too
    assert server.players[0].pongs >= 1 and hooks.rtts and 0 < hooks.rtts[0] < 1000
    assert hooks.audio > 0 and connection.streamer_id == "ravatar-test-streamer"
    assert hooks.peers[0].state == "closed"  # cancelling closed the peer


async def test_hostile_frames_are_ignored_and_the_stream_goes_on(
        make_server: Any, http: aiohttp.ClientSession) -> None:
    server = await make_server()
    hooks = Hooks(frames_wanted=5)
    _connection, task = await start_connection(http, server, hooks)
    try:
        await asyncio.wait_for(hooks.playing.wait(), WAIT_S)
        for junk in ("not json", "[]", "{}", json.dumps({"type": 5}),
                     json.dumps({"type": "offer", "sdp": None}),
                     json.dumps({"type": "iceCandidate", "candidate": {"candidate": "x y"}}),
                     json.dumps({"type": "iceCandidate",
                                 "candidate": {"candidate": "candidate:bad", "sdpMid": "0"}}),
                     json.dumps({"type": "layerPreference", "spatialLayer": 2}),
                     json.dumps({"type": "streamerList", "ids": "nope"}),
                     json.dumps({"type": "ping"}), "\u0000" * 100):
            await server.send_all(junk)
        await server.players[0].ws.send_bytes(b"\xff\x00binary")
        seen = hooks.frames
        hooks.playing.clear()
        hooks.wanted = seen + 10
        await asyncio.wait_for(hooks.playing.wait(), WAIT_S)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_streamer_disconnected_ends_the_stream_for_good(
        make_server: Any, http: aiohttp.ClientSession) -> None:
    server = await make_server()
    hooks = Hooks()
    _connection, task = await start_connection(http, server, hooks)
    await asyncio.wait_for(hooks.playing.wait(), WAIT_S)
    await server.disconnect_streamer()
    with pytest.raises(StreamEndedError, match="ended"):
        await asyncio.wait_for(task, WAIT_S)


async def test_a_dropped_socket_is_worth_a_retry(make_server: Any,
                                                 http: aiohttp.ClientSession) -> None:
    server = await make_server()
    hooks = Hooks()
    _connection, task = await start_connection(http, server, hooks)
    await asyncio.wait_for(hooks.playing.wait(), WAIT_S)
    await server.drop_players()
    with pytest.raises(StreamUnavailableError):
        await asyncio.wait_for(task, WAIT_S)


async def test_no_streamer_in_time_ends_the_stream(make_server: Any,
                                                   http: aiohttp.ClientSession) -> None:
    server = await make_server(empty_lists=10_000)
    url = await open_stream_page(http, server.page_url())
    settings = ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.05,
                                  streamer_timeout_s=0.5)
    with pytest.raises(StreamEndedError, match="did not start"):
        await asyncio.wait_for(StreamConnection(http, url, Hooks(), settings).run(), WAIT_S)


async def test_an_undecodable_offer_is_reported_as_such(
        make_server: Any, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    server = await make_server(codec="VP8")
    real_send = server.send_all

    # The server's streamer can only make H.264/VP8 (aiortc); its offer is rewritten on the
    # wire to name AV1, as a streamer configured for AV1 would send.
    async def on_message(player: Any, data: dict[str, Any]) -> None:
        if data.get("type") == "subscribe":
            from tests.support.streamer import TestStreamer

            player.streamer = TestStreamer("VP8")
            sdp = (await player.streamer.offer()).replace("VP8/90000", "AV1/90000")
            await player.ws.send_str(json.dumps({"type": "offer", "sdp": sdp}))
        elif data.get("type") == "listStreamers":
            await player.ws.send_str(json.dumps({"type": "streamerList",
                                                 "ids": ["ravatar-test-streamer"]}))

    monkeypatch.setattr(server, "_on_message", on_message)
    assert real_send  # the rest of the server is untouched
    hooks = Hooks()
    _connection, task = await start_connection(http, server, hooks)
    with pytest.raises(UndecodableStreamError, match="AV1"):
        await asyncio.wait_for(task, WAIT_S)
