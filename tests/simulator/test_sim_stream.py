"""The stream page and its event feed (HTTP level; the browser side is tests/gui), license
expiry, and what keeps a license alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import aiohttp
import pytest


def events_url(client, lid: str, token: str | None = None) -> str:
    return (client.sim.base_url.replace("http://", "ws://")
            + f"/stream/{lid}/events?token={token or client.token}")


async def page(client, url: str) -> tuple[int, str, Mapping[str, str]]:
    async with client.http.get(url) as r:
        return r.status, await r.text(), r.headers


async def test_stream_page_renders_for_token_and_live_license(client) -> None:
    _, body = await client.start(width="800", height="450")
    url = body["streamingUrl"] + f"&token={client.token}"
    code, html, headers = await page(client, url)
    assert code == 200
    assert "&quot;width&quot;: 800" in html and "&quot;height&quot;: 450" in html
    assert "/static/stream.js" in html
    assert "X-Frame-Options" not in headers
    code, js, _ = await page(client, client.sim.base_url + "/static/stream.js")
    assert code == 200
    assert 'postMessage(message, "*")' in js
    assert '"ravatar-session-start"' in js and '"ravatar-session-close"' in js


@pytest.mark.parametrize("case", ["no token", "bad token", "ended license", "unknown license"])
async def test_stream_page_forbidden_posts_close(client, case: str) -> None:
    lid = await client.start_license()
    token = {"no token": "", "bad token": "x.y.z"}.get(case, client.token)
    if case == "ended license":
        await client.post("/endLiveSession", {"LicenseId": lid})
    if case == "unknown license":
        lid = "license-nope"
    code, html, _ = await page(client, f"{client.sim.base_url}/stream/{lid}?token={token}")
    assert code == 403
    assert "forbidden" in html
    assert 'window.parent.postMessage("ravatar-session-close", "*")' in html
    assert "background: #000" in html


async def test_deny_framing_headers(make_client) -> None:
    c = await make_client(deny_framing=True)
    _, body = await c.start()
    _, _, headers = await page(c, body["streamingUrl"] + f"&token={c.token}")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "frame-ancestors 'none'"


async def test_events_feed_refuses_bad_token_and_dead_license(client) -> None:
    lid = await client.start_license()
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.http.ws_connect(events_url(client, lid, "bad")).__aenter__()
    assert info.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.http.ws_connect(events_url(client, "license-nope")).__aenter__()
    assert info.value.status == 403


async def test_events_follow_the_conversation_and_the_end(client) -> None:
    lid = await client.start_license()
    async with client.http.ws_connect(events_url(client, lid)) as feed, client.ws() as chat:
        assert (await client.receive_json(feed)) == {"event": "ready", "licenseId": lid}
        await chat.send_json(client.text_message("Can you wave?", lid))
        speaking = await client.receive_json(feed)
        assert speaking["event"] == "speaking" and "Can you wave?" in speaking["text"]
        assert 1.5 <= speaking["duration_s"] <= 20
        await chat.send_json(client.pcm_message(b"\x00" * 8192, lid))
        assert (await client.receive_json(feed))["event"] == "listening"
        await chat.send_json(client.pcm_message(b"\x00" * 100, lid))  # short chunk: the end
        assert (await client.receive_json(feed))["event"] == "thinking"
        assert (await client.receive_json(feed))["event"] == "speaking"
        await client.post("/endLiveSession", {"LicenseId": lid})
        end = await client.receive_json(feed)
        assert end == {"event": "session-end", "reason": "ended"}
        closing = await feed.receive(timeout=5)
        assert closing.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}


async def test_longer_replies_speak_longer() -> None:
    from ravatar_live.simulator.chat_ws import speaking_seconds
    assert speaking_seconds("hi") == 1.5
    assert speaking_seconds("x" * 100) < speaking_seconds("x" * 200) <= 20


async def wait_stats(sim, key: str, value: int, within_s: float) -> float:
    """Poll the counters: expiry is the passage of time itself, there is no event to wait on."""
    started = time.monotonic()
    while sim.stats()[key] != value:
        assert time.monotonic() - started < within_s, f"{key} stayed {sim.stats()[key]}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_idle_license_expires_and_is_freed(make_client) -> None:
    c = await make_client(license_idle_timeout_s=0.4, max_licenses=1)
    started = time.monotonic()
    lid = await c.start_license()
    async with c.ws() as chat:
        await wait_stats(c.sim, "expired", 1, within_s=5)
        took = time.monotonic() - started
        notice = await c.receive_json(chat)
    assert took >= 0.4
    assert notice["type"] == "system"
    assert lid in notice["content"] and "expired" in notice["content"]
    assert c.sim.stats() == {"live": 0, "issued": 1, "ended": 0, "expired": 1}
    assert (await c.start())[0] == 200  # the license went back to the pool
    status, body = await c.post("/endLiveSession", {"LicenseId": lid})
    assert (status, body) == (200, {"status": "success"})  # still idempotent after expiry
    assert c.sim.stats()["ended"] == 0


async def test_chat_traffic_keeps_a_license_alive(make_client) -> None:
    c = await make_client(license_idle_timeout_s=0.5)
    lid = await c.start_license()
    async with c.ws() as chat:
        for _ in range(8):  # 8 x 0.15 s = 1.2 s, more than twice the timeout
            await chat.send_json(c.text_message("still here", lid))
            assert (await c.receive_json(chat))["type"] == "incoming"
            await asyncio.sleep(0.15)
        assert c.sim.stats()["live"] == 1
        await wait_stats(c.sim, "expired", 1, within_s=5)


async def test_watching_stream_page_keeps_a_license_alive(make_client) -> None:
    c = await make_client(license_idle_timeout_s=0.3)
    lid = await c.start_license()
    async with c.http.ws_connect(events_url(c, lid)) as feed:
        await c.receive_json(feed)
        await asyncio.sleep(0.8)
        assert c.sim.stats()["live"] == 1
    await wait_stats(c.sim, "expired", 1, within_s=5)


async def test_expire_license_from_server_side(client) -> None:
    lid = await client.start_license()
    async with client.http.ws_connect(events_url(client, lid)) as feed:
        await client.receive_json(feed)
        assert await client.sim.expire_license(lid) is True
        end = await client.receive_json(feed)
    assert end["event"] == "session-end"
    assert await client.sim.expire_license(lid) is False
    assert client.sim.stats() == {"live": 0, "issued": 1, "ended": 0, "expired": 1}
    assert client.sim.live_license_ids() == []
