"""POST /jwt validation and the 403s for bad, expired and revoked tokens (REST and WS)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
import pytest

USER_ID = "5f1e2d3c4b5a69788796a5b4"
PROJECT_ID = "64a1b2c3d4e5f60718293a4b"


async def post_jwt(http: aiohttp.ClientSession, base: str, body: object) -> tuple[int, dict]:
    async with http.post(base + "/jwt", json=body) as r:
        return r.status, await r.json()


async def test_jwt_issues_hs256_token_living_ttl(make_sim,
                                                 http: aiohttp.ClientSession) -> None:
    sim = await make_sim()
    status, body = await post_jwt(http, sim.base_url, {"user_id": USER_ID,
                                                       "project_id": PROJECT_ID})
    assert status == 200 and body["result"] == "success"
    assert jwt.get_unverified_header(body["jwt"])["alg"] == "HS256"
    claims = jwt.decode(body["jwt"], options={"verify_signature": False})
    assert claims["sub"] == USER_ID
    assert abs(claims["exp"] - (time.time() + 86400)) < 5


@pytest.mark.parametrize(("body", "error"), [
    ({"project_id": PROJECT_ID}, "invalid_user_id"),
    ({"user_id": "", "project_id": PROJECT_ID}, "invalid_user_id"),
    ({"user_id": "has space", "project_id": PROJECT_ID}, "invalid_user_id"),
    ({"user_id": "x" * 129, "project_id": PROJECT_ID}, "invalid_user_id"),
    ({"user_id": 42, "project_id": PROJECT_ID}, "invalid_user_id"),
    ({"user_id": USER_ID}, "invalid_project_id"),
    ({"user_id": USER_ID, "project_id": "under_score"}, "invalid_project_id"),
    ({"user_id": USER_ID, "project_id": "p" * 65}, "invalid_project_id"),
    ("not an object", "invalid_user_id"),
])
async def test_jwt_rejects_malformed_ids(make_sim, http: aiohttp.ClientSession,
                                         body: object, error: str) -> None:
    sim = await make_sim()
    status, reply = await post_jwt(http, sim.base_url, body)
    assert (status, reply["result"], reply["error"]) == (400, "failure", error)
    assert reply["message"]  # a human-readable explanation too


async def test_jwt_accepts_edge_of_allowed_ids(make_sim,
                                               http: aiohttp.ClientSession) -> None:
    sim = await make_sim()
    status, _ = await post_jwt(http, sim.base_url, {"user_id": "A_z-9" + "x" * 123,
                                                    "project_id": "P-" + "1" * 62})
    assert status == 200


async def test_jwt_unknown_project_is_401_when_projects_set(
        make_sim, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(projects=frozenset({PROJECT_ID}))
    status, body = await post_jwt(http, sim.base_url, {"user_id": USER_ID,
                                                       "project_id": "deadbeef"})
    assert (status, body["error"]) == (401, "project_not_found")
    status, _ = await post_jwt(http, sim.base_url, {"user_id": USER_ID, "project_id": PROJECT_ID})
    assert status == 200


@pytest.mark.parametrize("path", ["/connection", "/chat"])
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not.a.jwt", "Basic abc"])
async def test_rest_routes_refuse_missing_or_bad_tokens(client, path: str,
                                                        header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async with client.http.get(client.sim.base_url + path, headers=headers) as r:
        assert r.status == 403
        body = await r.json()
    assert body["status"] == 403 and body["error"]


async def test_token_signed_elsewhere_is_refused(client) -> None:
    forged = jwt.encode({"sub": USER_ID, "exp": time.time() + 60, "gen": 0}, "x" * 32,
                        algorithm="HS256")
    async with client.http.get(client.sim.base_url + "/connection",
                               headers={"Authorization": f"Bearer {forged}"}) as r:
        assert r.status == 403


async def test_expired_token_is_refused_on_rest_and_ws(client) -> None:
    expired = client.sim.mint_token(USER_ID, PROJECT_ID, ttl_s=-5)
    async with client.http.post(client.sim.base_url + "/startLiveSession",
                                headers={"Authorization": f"Bearer {expired}"},
                                json={"avatar_id": "x"}) as r:
        assert r.status == 403
        assert "expired" in (await r.json())["error"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws(expired).__aenter__()
    assert info.value.status == 403


async def test_short_ttl_token_expires(make_client) -> None:
    c = await make_client(token_ttl_s=1.0)
    status, _ = await c.get("/connection")
    assert status == 200
    claims = jwt.decode(c.token, options={"verify_signature": False})
    assert claims["exp"] - time.time() <= 2.0
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:  # the thing under test is the passage of time itself
        status, _ = await c.get("/connection")
        if status == 403:
            break
        await asyncio.sleep(0.2)
    assert status == 403


async def test_revoke_invalidates_issued_tokens_only(client) -> None:
    sim = client.sim
    old = client.token
    sim.revoke_tokens()
    status, _ = await client.get("/connection")
    assert status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws(old).__aenter__()
    assert info.value.status == 403
    status, body = await client.post("/jwt", {"user_id": USER_ID, "project_id": PROJECT_ID},
                                     auth=False)
    assert status == 200
    client.token = body["jwt"]
    status, _ = await client.get("/connection")
    assert status == 200


async def test_admin_revoke_route(client) -> None:
    async with client.http.post(client.sim.base_url + "/admin/revoke-tokens") as r:
        assert r.status == 200
    status, _ = await client.get("/connection")
    assert status == 403


async def test_ws_with_good_token_opens(client) -> None:
    async with client.ws() as ws:
        assert not ws.closed
