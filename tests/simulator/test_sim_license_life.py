"""How long a license lives: idle expiry (the pool gets it back), what keeps it alive (chat
traffic, a player connected to its stream instance), and the avatar's speaking time."""

from __future__ import annotations

import asyncio
import time

from ravatar_live.simulator.turns import speaking_seconds
from tests.simulator.stream_player import signalling


async def test_longer_replies_speak_longer() -> None:
    assert speaking_seconds("hi") == 1.5
    assert speaking_seconds("x" * 100) < speaking_seconds("x" * 200) <= 20


async def wait_stats(sim, key: str, value: int, within_s: float) -> float:
    """Poll the counters: expiry is the passage of time itself, there is no event to wait on."""
    started = time.monotonic()
    while sim.stats()[key] != value:
        assert time.monotonic() - started < within_s, f"{key} stayed {sim.stats()[key]}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


# Expiry is the passage of time itself; these waits are only there against a hang.
EXPIRY_WAIT_S = 30.0


async def test_idle_license_expires_and_is_freed(make_client) -> None:
    c = await make_client(license_idle_timeout_s=0.4, max_licenses=1)
    # The socket opens first: the expiry notice goes to the sockets open when it happens.
    async with c.ws() as chat:
        started = time.monotonic()
        lid = await c.start_license()
        await wait_stats(c.sim, "expired", 1, within_s=EXPIRY_WAIT_S)
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
    # Gaps of 0.25 s against a 1.5 s timeout: a loaded machine may stretch a gap several
    # times over and the license must still be alive.
    c = await make_client(license_idle_timeout_s=1.5)
    async with c.ws() as chat:
        lid = await c.start_license()
        for _ in range(14):  # 14 x 0.25 s = 3.5 s, more than twice the timeout
            await chat.send_json(c.text_message("still here", lid))
            assert (await c.receive_json(chat))["type"] == "incoming"
            await asyncio.sleep(0.25)
        assert c.sim.stats()["live"] == 1
        await wait_stats(c.sim, "expired", 1, within_s=EXPIRY_WAIT_S)


async def test_a_connected_player_keeps_the_license_then_expiry_ends_it(make_client) -> None:
    # 1.5 s leaves a loaded machine time to connect the player before the license is idle.
    c = await make_client(license_idle_timeout_s=1.5)
    lid, origin = await c.start_stream()
    async with signalling(c.http, origin, c.token) as sig:
        await sig.expect("playerCount")
        await asyncio.sleep(3.2)  # two idle timeouts: the connected player keeps it live
        assert c.sim.stats()["live"] == 1
        assert c.sim.stream_watchers(lid) == 1
    await wait_stats(c.sim, "expired", 1, within_s=EXPIRY_WAIT_S)
    assert c.sim.stream_origin(lid) is None
