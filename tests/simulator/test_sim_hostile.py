"""The simulator's misbehaviours for client tests: hostile mode, dropped and stalled chat sockets,
stream URLs on another origin, the admin routes and command-line flags that switch them on."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from ravatar_live.simulator.cli import config_from_args, parse_command_line
from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.hostile import HostileFrames


def test_hostile_frames_cover_every_kind_and_replay_from_a_seed() -> None:
    first, again = HostileFrames(seed=3), HostileFrames(seed=3)
    drawn = [first.next() for _ in range(2000)]
    assert drawn == [again.next() for _ in range(2000)], "a seed replays the same frames"
    assert first.sent == 2000
    binary = [f for f in drawn if isinstance(f, bytes)]
    text = [f for f in drawn if isinstance(f, str)]
    assert binary and text
    not_utf8 = [f for f in binary if not _decodes(f)]
    assert not_utf8, "some binary frames are not UTF-8"
    parsed = [_json(f) for f in text]
    assert any(p is _NOT_JSON for p in parsed), "some text frames are not JSON"
    objects = [p for p in parsed if isinstance(p, dict)]
    assert any(not isinstance(o.get("type"), str) for o in objects), "wrong-typed `type`"
    assert any(o.get("type") == "incoming" and not isinstance(o.get("answer", ""), str)
               for o in objects), "a known type with a wrong-typed field"
    assert any(isinstance(o.get("type"), str) and o["type"] not in ("incoming", "system",
                                                                    "event") for o in objects)
    assert max(len(f) for f in text) > 50_000, "huge strings"


_NOT_JSON = object()


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON


async def test_hostile_mode_buries_each_real_reply_under_random_frames(make_client) -> None:
    client = await make_client(hostile=True, hostile_frames_per_message=30, hostile_seed=1)
    async with client.ws() as ws:
        await ws.send_json(client.text_message("Hello there"))
        replies: list[dict] = []
        frames = 0
        while not replies:
            msg = await ws.receive(timeout=10)
            frames += 1
            if msg.type == aiohttp.WSMsgType.TEXT:
                parsed = _json(msg.data)
                if isinstance(parsed, dict) and parsed.get("type") == "incoming" \
                        and "avatar_id" in parsed:
                    replies.append(parsed)
            else:
                assert msg.type == aiohttp.WSMsgType.BINARY
        assert frames == 31, "30 hostile frames, then the real reply"
        assert "Hello there" in replies[0]["answer"]
    assert client.sim.hostile_frames_sent == 30
    async with client.http.get(client.sim.base_url + "/admin/hostile") as r:
        assert await r.json() == {"hostile": True, "sent": 30}


async def test_hostile_spray_runs_while_a_socket_is_open(make_client) -> None:
    client = await make_client(hostile=True, hostile_frames_per_message=0,
                               hostile_spray_per_s=2000, hostile_seed=2)
    async with client.ws():
        sent = await client.sim.wait_for_hostile_frames(500, within_s=10)
    assert sent >= 500


async def test_a_spray_limit_bounds_the_flood(make_client) -> None:
    client = await make_client(hostile=True, hostile_frames_per_message=0,
                               hostile_spray_per_s=2000, hostile_spray_limit=300,
                               hostile_seed=2)
    async with client.ws() as ws:
        for _ in range(300):
            msg = await ws.receive(timeout=30)
            assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)
        assert client.sim.hostile_frames_sent == 300
        # The flood is over: the reply to a question is the very next frame.
        await ws.send_json(client.text_message("Hello there"))
        reply = _json((await ws.receive(timeout=30)).data)
        assert isinstance(reply, dict) and "Hello there" in reply["answer"]
    assert client.sim.hostile_frames_sent == 300


async def test_dropping_chat_sockets_keeps_licenses(client) -> None:
    license_id = await client.start_license()
    async with client.ws() as ws:
        async with client.http.post(client.sim.base_url + "/admin/drop-chat") as r:
            assert (await r.json())["dropped"] == 1
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.SERVICE_RESTART
    assert client.sim.live_license_ids() == [license_id]
    assert await client.post("/endLiveSession", {"LicenseId": license_id}) == (
        200, {"status": "success"})


async def test_a_stalled_chat_socket_never_answers_a_ping(client) -> None:
    client.sim.stall_chat(True)
    async with client.http.ws_connect(f"{client.sim.ws_url}?token={client.token}",
                                      heartbeat=0.2, autoping=True) as ws:
        await ws.send_json(client.text_message("anyone?"))
        msg = await ws.receive(timeout=5)
        # aiohttp closes the socket itself when the pong does not come.
        assert msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSE)
    assert client.sim.messages == [], "the stalled server read nothing"
    async with client.http.post(client.sim.base_url + "/admin/stall-chat",
                                json={"stalled": False}) as r:
        assert await r.json() == {"status": "ok", "stalled": False}
    async with client.ws() as ws:
        await ws.send_json(client.text_message("anyone?"))
        reply = await client.receive_json(ws)
        assert reply["type"] == "incoming"


async def test_stall_chat_admin_route_validates(client) -> None:
    async with client.http.post(client.sim.base_url + "/admin/stall-chat",
                                json={"stalled": "yes"}) as r:
        assert r.status == 400
        assert "true or false" in (await r.json())["error"]


async def test_stream_urls_can_be_handed_out_on_another_origin(make_client) -> None:
    client = await make_client(stream_origin="http://stream.example:8080")
    status, body = await client.start()
    assert status == 200
    assert body["streamingUrl"] == "http://stream.example:8080/"
    assert client.sim.stream_origin(body["LicenseId"]) != "http://stream.example:8080"
    await client.post("/endLiveSession", {"LicenseId": body["LicenseId"]})


def test_recent_tokens_are_kept_for_leak_checks() -> None:
    from ravatar_live.simulator.auth import RECENT_TOKENS_KEPT, TokenAuthority

    authority = TokenAuthority(60.0)
    tokens = [authority.issue("u", "p") for _ in range(RECENT_TOKENS_KEPT + 5)]
    assert list(authority.recent) == tokens[-RECENT_TOKENS_KEPT:]


@pytest.mark.parametrize(("changes", "message"), [
    ({"hostile_frames_per_message": -1}, "hostile"),
    ({"hostile_spray_per_s": -5.0}, "hostile"),
    ({"hostile_spray_limit": -1}, "hostile"),
    ({"tls_cert": "cert.pem"}, "tls_cert and tls_key"),
    ({"stream_origin": "ftp://x"}, "stream_origin"),
])
def test_bad_misbehaviour_settings_are_refused(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**changes)


def test_cli_flags_for_misbehaviour(tmp_path) -> None:
    args, config = parse_command_line([
        "--hostile", "--hostile-per-message", "5", "--hostile-spray", "100", "--hostile-seed",
        "9", "--hostile-spray-limit", "1000", "--tls-cert", str(tmp_path / "c.pem"),
        "--tls-key", str(tmp_path / "k.pem"),
        "--stream-origin", "http://127.0.0.1:9000"])
    assert config == config_from_args(args)
    assert (config.hostile, config.hostile_frames_per_message, config.hostile_spray_per_s,
            config.hostile_seed, config.hostile_spray_limit) == (True, 5, 100.0, 9, 1000)
    assert config.tls_cert == tmp_path / "c.pem" and config.tls_key == tmp_path / "k.pem"
    assert config.stream_origin == "http://127.0.0.1:9000"


async def test_a_late_answer_still_does_the_work(client) -> None:
    client.sim.inject_fault("/startLiveSession", answer_delay_s=60.0)

    async def start() -> None:
        async with client.http.post(client.sim.base_url + "/startLiveSession",
                                    json={"avatar_id": client.LIVE_AVATAR},
                                    headers=client.auth):
            pass

    request = asyncio.get_running_loop().create_task(start())
    # The license is handed out as soon as the request is served; its answer is held back.
    # Polled: the simulator has no event for it, and how soon it happens is the machine's.
    async with asyncio.timeout(30):
        while client.sim.stats()["issued"] == 0:  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.02)
    assert not request.done(), "the answer is held back"
    request.cancel()  # the client gives up waiting: the leak a late answer can cause
    with pytest.raises(asyncio.CancelledError):
        await request
    assert client.sim.stats()["issued"] == 1
    [license_id] = client.sim.live_license_ids()
    await client.post("/endLiveSession", {"LicenseId": license_id})
