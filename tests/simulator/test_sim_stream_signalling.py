"""Epic's signalling on a stream instance's socket, walked by a raw aiohttp client: greeting,
streamer list, subscribe/offer, pings both ways, junk that is ignored, several players, the
canvas mode's activity messages, and the instance going away with its license."""

from __future__ import annotations

import logging
import time

import aiohttp
import pytest

from tests.simulator.stream_player import answering_player, signalling


async def open_session(client, browser, origin: str) -> None:
    """Fetch the page with the token, as the iframe does: the cookie admits the socket."""
    async with browser.get(f"{origin}/?token={client.token}") as r:
        assert r.status == 200


async def test_a_player_walks_the_signalling_with_only_the_cookie(client, browser) -> None:
    lid, origin = await client.start_stream()
    await open_session(client, browser, origin)
    async with signalling(browser, origin) as sig:
        config = await sig.receive()
        assert config["type"] == "config"
        assert config["peerConnectionOptions"] == {"iceServers": []}  # offline: no STUN/TURN
        assert await sig.receive() == {"type": "playerCount", "count": 1}
        await sig.send({"type": "listStreamers"})
        assert await sig.receive() == {"type": "streamerList", "ids": [f"ravatar-{lid}"]}
        await sig.send({"type": "subscribe", "streamerId": "ravatar-nobody"})
        failed = await sig.receive()
        assert failed["type"] == "subscribeFailed" and "ravatar-nobody" in failed["message"]
        await sig.send({"type": "subscribe", "streamerId": f"ravatar-{lid}"})
        offer = await sig.receive()
        assert offer["type"] == "offer" and offer["sfu"] is False
        sdp = offer["sdp"]
        assert "m=video" in sdp and "m=audio" in sdp and "m=application" in sdp
        audio = sdp[sdp.index("m=audio"):]
        audio = audio[:audio.index("m=", 2)] if "m=" in audio[2:] else audio
        assert "a=sendrecv" in audio and "opus/48000" in audio  # it can hear a microphone
        assert "a=candidate:" in sdp  # host candidates in the offer

        await sig.send({"type": "ping", "time": 1234})
        assert await sig.receive() == {"type": "pong", "time": 1234}
    log = client.sim.signalling_log(lid)
    assert [(e["direction"], e["type"]) for e in log] == [
        ("out", "config"), ("out", "playerCount"), ("in", "listStreamers"),
        ("out", "streamerList"), ("in", "subscribe"), ("out", "subscribeFailed"),
        ("in", "subscribe"), ("out", "offer"), ("in", "ping"), ("out", "pong")]


async def test_junk_is_ignored_and_the_socket_keeps_working(client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="ravatar_live.simulator")
    _lid, origin = await client.start_stream()
    async with signalling(client.http, origin, client.token) as sig:
        await sig.expect("playerCount")
        sig.skipped.clear()
        for junk in ("not json", "[1, 2]", '{"no": "type"}', '{"type": 7}',
                     '{"type": "somethingNew"}', '{"type": "answer", "sdp": "v=0"}',
                     '{"type": "iceCandidate", "candidate": "nope"}', '{"type": "subscribe"}'):
            await sig.ws.send_str(junk)
        await sig.ws.send_bytes(b"\x00\xff binary")
        await sig.send({"type": "ping", "time": 7})
        pong = await sig.expect("pong")
        assert pong["time"] == 7
        # The streamer id-less subscribe was refused in words; nothing else was answered.
        assert [m["type"] for m in sig.skipped] == ["subscribeFailed"]
        assert any("somethingNew" in r.getMessage() for r in caplog.records)


async def test_malformed_answers_and_candidates_cost_nothing_but_themselves(client) -> None:
    lid, origin = await client.start_stream()
    async with signalling(client.http, origin, client.token) as sig:
        await sig.subscribe()
        await sig.send({"type": "iceCandidate", "candidate": {"candidate": "candidate:garbage",
                                                              "sdpMid": "0"}})
        await sig.send({"type": "answer", "sdp": "garbage"})
        await sig.send({"type": "ping", "time": 1})
        await sig.expect("pong")
        [player] = client.sim.stream_players(lid)
        assert player["subscribed"] is False  # the half-negotiated peer was closed
        offer = await sig.subscribe()  # and a new subscription works
        async with answering_player() as player_peer:
            await sig.send({"type": "answer", "sdp": await player_peer.answer(offer["sdp"])})
            await player_peer.next_frame()
            # Asked while the player is still up: once it closes, the streamer may see that first.
            assert client.sim.stream_players(lid)[0]["state"] == "connected"


async def test_several_players_each_get_a_peer_and_the_count(client) -> None:
    lid, origin = await client.start_stream()
    async with signalling(client.http, origin, client.token) as first:
        assert (await first.expect("playerCount"))["count"] == 1
        async with signalling(client.http, origin, client.token) as second:
            assert (await second.expect("playerCount"))["count"] == 2
            assert (await first.expect("playerCount"))["count"] == 2
            assert client.sim.stream_watchers(lid) == 2
            offers = [await first.subscribe(), await second.subscribe()]
            async with answering_player() as a, answering_player() as b:
                await first.send({"type": "answer", "sdp": await a.answer(offers[0]["sdp"])})
                await second.send({"type": "answer", "sdp": await b.answer(offers[1]["sdp"])})
                await a.next_frame()
                await b.next_frame()
                players = client.sim.stream_players(lid)
                assert [p["player_id"] for p in players] == ["1", "2"]
                assert all(p["state"] == "connected" and p["frames_sent"] > 0 for p in players)
        assert (await first.expect("playerCount"))["count"] == 1
        await first.send({"type": "unsubscribe"})
        await client.sim.wait_for_stream(lid, lambda ps: len(ps) == 1 and not ps[0]["subscribed"])


async def test_the_server_pings_and_counts_the_pongs(make_client) -> None:
    c = await make_client(stream_ping_interval_s=0.2)
    lid, origin = await c.start_stream()
    async with signalling(c.http, origin, c.token) as sig:
        ping = await sig.expect("ping")
        assert abs(ping["time"] / 1000 - time.time()) < 60  # milliseconds since the epoch
        await sig.send({"type": "pong", "time": ping["time"]})
        players = await c.sim.wait_for_stream(lid, lambda ps: ps[0]["pongs_received"] >= 1)
        assert players[0]["pings_sent"] >= 1


async def test_ending_the_license_disconnects_players_and_closes_the_port(client) -> None:
    lid, origin = await client.start_stream()
    async with signalling(client.http, origin, client.token) as sig:
        offer = await sig.subscribe()
        async with answering_player() as player:
            await sig.send({"type": "answer", "sdp": await player.answer(offer["sdp"])})
            await player.next_frame()
            await client.post("/endLiveSession", {"LicenseId": lid})
            await sig.expect("streamerDisconnected")
            closing = await sig.ws.receive(timeout=5)
            assert closing.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
    assert client.sim.stream_players(lid) == [] and client.sim.stream_origin(lid) is None
    with pytest.raises(aiohttp.ClientConnectionError):
        async with client.http.get(origin + "/"):
            pass


async def test_server_side_expiry_tells_the_player_and_the_chat(client) -> None:
    lid, origin = await client.start_stream()
    async with signalling(client.http, origin, client.token) as sig, client.ws() as chat:
        await sig.expect("playerCount")
        assert await client.sim.expire_license(lid) is True
        await sig.expect("streamerDisconnected")
        notice = await client.receive_json(chat)
    assert notice["type"] == "system" and lid in notice["content"]
    assert await client.sim.expire_license(lid) is False
    assert client.sim.stats() == {"live": 0, "issued": 1, "ended": 0, "expired": 1}


async def test_the_canvas_mode_refuses_subscriptions_and_sends_the_activity(make_client) -> None:
    c = await make_client(stream_webrtc=False)
    assert not c.sim.webrtc_enabled
    lid, origin = await c.start_stream()
    async with c.http.get(f"{origin}/?token={c.token}") as r:
        assert "&quot;canvas&quot;: true" in await r.text()
    async with signalling(c.http, origin, c.token) as sig, c.ws() as chat:
        await sig.send({"type": "listStreamers"})
        [streamer] = (await sig.expect("streamerList"))["ids"]
        await sig.send({"type": "subscribe", "streamerId": streamer})
        assert "no WebRTC" in (await sig.expect("subscribeFailed"))["message"]
        await chat.send_json(c.text_message("Can you wave?", lid))
        thinking = await sig.expect("ravatarSimulatorActivity")
        speaking = await sig.expect("ravatarSimulatorActivity")
    assert thinking["event"] == "thinking"
    assert speaking["event"] == "speaking" and "Can you wave?" in speaking["text"]
    assert 1.5 <= speaking["duration_s"] <= 20
    # The instance runs on its own thread: it notices the closed socket a moment later.
    assert await c.sim.wait_for_stream(lid, lambda players: players == []) == []
