"""Token handling: refresh once on 403 (REST and WS upgrade), shared refresh, AuthError."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from ravatar_live.api.errors import AuthError
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.ws import ChatSocket
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig


async def test_revoked_token_is_refreshed_once_and_the_call_retried(
        client: RavatarClient, sim: RunningSimulator) -> None:
    await client.connection()
    assert client.tokens_fetched == 1
    sim.revoke_tokens()
    info = await client.connection()
    assert info.avatars
    assert client.tokens_fetched == 2


async def test_concurrent_calls_share_one_refresh(client: RavatarClient,
                                                  sim: RunningSimulator) -> None:
    await client.token()
    sim.revoke_tokens()
    results = await asyncio.gather(*(client.connection() for _ in range(5)))
    assert all(r.avatars for r in results)
    assert client.tokens_fetched == 2  # one initial token, one refresh for all five


async def test_403_after_refresh_is_an_auth_error(client: RavatarClient,
                                                  sim: RunningSimulator) -> None:
    sim.inject_fault("/connection", status=403, count=2)
    with pytest.raises(AuthError) as info:
        await client.connection()
    assert info.value.status == 403
    assert "even after renewing" in info.value.user_message
    assert client.tokens_fetched == 2


async def test_end_live_session_survives_a_revoked_token(client: RavatarClient,
                                                         sim: RunningSimulator) -> None:
    live = await client.start_live_session((await client.connection()).live_avatars[0].id)
    sim.revoke_tokens()
    await client.end_live_session(live.license_id)
    assert sim.stats()["live"] == 0


async def test_stored_token_is_reused_and_an_expired_one_renewed_without_a_403(
        http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    saved: list[str] = []
    valid = sim.mint_token("u-1", "p-1")
    reused = RavatarClient(http, sim.base_url, "p-1", "u-1", token=valid, on_token=saved.append)
    assert await reused.token() == valid
    assert (await reused.connection()).avatars
    assert reused.tokens_fetched == 0 and saved == []

    expired = sim.mint_token("u-1", "p-1", ttl_s=-10)
    renewed = RavatarClient(http, sim.base_url, "p-1", "u-1", token=expired,
                            on_token=saved.append)
    fresh = await renewed.token()  # renewed from `exp` alone, before any request
    assert fresh != expired and saved == [fresh]
    assert (await renewed.connection()).avatars
    assert renewed.tokens_fetched == 1  # no 403 round trip was needed


async def test_project_not_found_is_an_auth_error(http: aiohttp.ClientSession) -> None:
    from ravatar_live.simulator.server import start_simulator

    sim = await start_simulator(SimulatorConfig(transcribe=False, projects=frozenset({"only"})))
    try:
        client = RavatarClient(http, sim.base_url, "other", "u-1")
        with pytest.raises(AuthError, match="not found"):
            await client.connection()
    finally:
        await sim.close()


async def test_ws_upgrade_with_revoked_token_refreshes_once(client: RavatarClient,
                                                            sim: RunningSimulator) -> None:
    await client.token()
    sim.revoke_tokens()
    async with client.chat_socket() as sock:
        assert sock.connected
    assert client.tokens_fetched == 2


async def test_ws_upgrade_refused_twice_is_an_auth_error(http: aiohttp.ClientSession,
                                                         client: RavatarClient,
                                                         sim: RunningSimulator) -> None:
    stale = await client.token()
    sim.revoke_tokens()
    provided: list[str] = []

    async def stale_provider() -> str:  # a provider that cannot renew: always the revoked token
        provided.append(stale)
        return stale

    sock = ChatSocket(http, sim.ws_url, stale_provider)
    with pytest.raises(AuthError) as info:
        await sock.connect()
    assert info.value.status == 403
    assert len(provided) == 2  # tried, asked again once, gave up
    assert not sock.connected
