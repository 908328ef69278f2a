"""Injected faults (in-process API and POST /admin/faults) and GET /admin/stats."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from ravatar_live.simulator.faults import FaultSpecError


@pytest.mark.parametrize(("status", "http_status"), [
    (503, 503), (504, 504), (-1, 200), (402, 402), (403, 403), (500, 500)])
async def test_status_fault_fires_once_then_route_works(client, status: int,
                                                        http_status: int) -> None:
    client.sim.inject_fault(route="/startLiveSession", status=status, count=1)
    got_status, body = await client.start()
    assert (got_status, body["status"]) == (http_status, status)
    assert body["error"]
    got_status, body = await client.start()
    assert (got_status, body["status"]) == (200, 200)
    assert client.sim.stats()["issued"] == 1


async def test_fault_count_and_order(client) -> None:
    client.sim.inject_fault("/connection", status=503, count=2)
    client.sim.inject_fault("/connection", status=504)
    statuses = [(await client.get("/connection"))[0] for _ in range(4)]
    assert statuses == [503, 503, 504, 200]


async def test_forever_fault_until_cleared(client) -> None:
    client.sim.inject_fault("/connection", status=402, count=None)
    assert [(await client.get("/connection"))[0] for _ in range(3)] == [402] * 3
    client.sim.clear_faults()
    assert (await client.get("/connection"))[0] == 200


async def test_wildcard_fault_hits_any_api_route_but_not_admin(client) -> None:
    client.sim.inject_fault("*", status=503)
    async with client.http.get(client.sim.base_url + "/admin/stats") as r:
        assert r.status == 200
    assert (await client.get("/chat"))[0] == 503
    assert (await client.get("/chat"))[0] == 200


async def test_jwt_fault_uses_jwt_error_shape(client) -> None:
    client.sim.inject_fault("/jwt", status=500)
    status, body = await client.post("/jwt", {"user_id": "u", "project_id": "p"}, auth=False)
    assert status == 500 and body["result"] == "failure"


async def test_delay_fault_slows_the_route_but_answers_normally(client) -> None:
    client.sim.inject_fault("/connection", delay_s=0.3)
    started = time.monotonic()
    status, body = await client.get("/connection")
    assert status == 200 and body["avatars_info"]
    assert time.monotonic() - started >= 0.3


async def test_delay_with_status(client) -> None:
    client.sim.inject_fault("/startLiveSession", status=504, delay_s=0.2)
    started = time.monotonic()
    status, _ = await client.start()
    assert status == 504 and time.monotonic() - started >= 0.2


async def test_truncated_body(client) -> None:
    client.sim.inject_fault("/startLiveSession", body="truncated")
    async with client.http.post(client.sim.base_url + "/startLiveSession", headers=client.auth,
                                json={"avatar_id": client.LIVE_AVATAR}) as r:
        assert r.status == 200 and r.content_type == "application/json"
        text = await r.text()
    assert text.startswith('{"status": 200')
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert client.sim.stats()["issued"] == 1  # the server did start it; only the answer broke


async def test_non_json_body(client) -> None:
    client.sim.inject_fault("/connection", body="non_json")
    async with client.http.get(client.sim.base_url + "/connection", headers=client.auth) as r:
        assert r.content_type == "text/html"
        assert "<html>" in await r.text()


async def test_ws_upgrade_fault(client) -> None:
    client.sim.inject_fault("/ws/chat", status=503)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws().__aenter__()
    assert info.value.status == 503
    async with client.ws() as ws:
        assert not ws.closed


async def test_admin_faults_route(client) -> None:
    base = client.sim.base_url
    async with client.http.post(base + "/admin/faults", json={
            "route": "/startLiveSession", "status": -1, "count": 2}) as r:
        assert r.status == 200
        assert (await r.json())["pending"] == [{"route": "/startLiveSession", "status": -1,
                                                "delay_s": 0.0, "body": None, "count": 2}]
    assert [(await client.start())[1]["status"] for _ in range(3)] == [-1, -1, 200]
    async with client.http.post(base + "/admin/faults", json={
            "route": "/connection", "body": "non_json", "count": None}) as r:
        assert r.status == 200
    async with client.http.get(base + "/admin/faults") as r:
        assert len((await r.json())["pending"]) == 1
    async with client.http.delete(base + "/admin/faults") as r:
        assert r.status == 200
    assert (await client.get("/connection"))[0] == 200


@pytest.mark.parametrize("spec", [
    {"route": "connection", "status": 503},
    {"route": "/connection", "status": 200},
    {"route": "/connection", "status": "503"},
    {"route": "/connection", "body": "garbled"},
    {"route": "/connection", "delay_s": -1},
    {"route": "/connection", "status": 503, "count": 0},
    {"route": "/connection"},
    {"route": "/connection", "status": 503, "colour": "red"},
    ["not", "an", "object"],
])
async def test_admin_faults_rejects_nonsense(client, spec) -> None:
    async with client.http.post(client.sim.base_url + "/admin/faults", json=spec) as r:
        assert r.status == 400
        assert (await r.json())["error"]
    async with client.http.get(client.sim.base_url + "/admin/faults") as r:
        assert (await r.json())["pending"] == []


def test_inject_fault_rejects_nonsense_in_process() -> None:
    from ravatar_live.simulator.faults import make_fault
    with pytest.raises(FaultSpecError, match="status must be"):
        make_fault("/connection", status=302)


async def test_admin_stats_matches_stats(client) -> None:
    lid = await client.start_license()
    await client.start_license()
    await client.post("/endLiveSession", {"LicenseId": lid})
    async with client.http.get(client.sim.base_url + "/admin/stats") as r:
        body = await r.json()
    assert body == client.sim.stats() == {"live": 1, "issued": 2, "ended": 1, "expired": 0}
