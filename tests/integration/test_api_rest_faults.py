"""REST error policy against the real simulator's injected faults."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from ravatar_live.api.backoff import BackoffPolicy
from ravatar_live.api.errors import (
    InvalidRequestError,
    InvalidStreamSizeError,
    MalformedResponseError,
    PaymentError,
    RavatarError,
    ServiceBusyError,
    ServiceUnreachableError,
    StreamTimeoutError,
    UnknownServiceError,
)
from ravatar_live.api.http_json import request_json
from ravatar_live.api.models import StreamSize
from ravatar_live.api.rest import RavatarClient
from ravatar_live.simulator.server import RunningSimulator

START = "/startLiveSession"


class RetryLog:
    """Records on_retry(attempt, delay_s, error) calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float, type[RavatarError]]] = []
        self.first = asyncio.Event()

    def __call__(self, attempt: int, delay_s: float, error: RavatarError) -> None:
        self.calls.append((attempt, delay_s, type(error)))
        self.first.set()


async def _avatar(client: RavatarClient) -> str:
    return (await client.connection()).live_avatars[0].id


@pytest.mark.parametrize(("status", "error"), [(503, ServiceBusyError),
                                               (504, StreamTimeoutError)])
async def test_retry_then_success(client: RavatarClient, sim: RunningSimulator, status: int,
                                  error: type[RavatarError]) -> None:
    avatar = await _avatar(client)
    sim.inject_fault(START, status=status, count=2)
    retries = RetryLog()
    live = await client.start_live_session(avatar, on_retry=retries)
    assert retries.calls == [(1, 0.01, error), (2, 0.02, error)]
    assert sim.stats()["live"] == 1
    await client.end_live_session(live.license_id)


@pytest.mark.parametrize(("status", "error"), [(503, ServiceBusyError),
                                               (504, StreamTimeoutError)])
async def test_retries_exhausted_raise_the_typed_error(client: RavatarClient,
                                                       sim: RunningSimulator, status: int,
                                                       error: type[RavatarError]) -> None:
    avatar = await _avatar(client)
    sim.inject_fault(START, status=status, count=4)  # the first try and all three retries
    retries = RetryLog()
    with pytest.raises(error) as info:
        await client.start_live_session(avatar, on_retry=retries)
    assert [c[:2] for c in retries.calls] == [(1, 0.01), (2, 0.02), (3, 0.04)]
    assert info.value.status == status and info.value.user_message
    assert sim.stats()["issued"] == 0


async def test_async_on_retry_callback_is_awaited(client: RavatarClient,
                                                  sim: RunningSimulator) -> None:
    avatar = await _avatar(client)
    sim.inject_fault(START, status=503, count=1)
    seen: list[int] = []

    async def on_retry(attempt: int, delay_s: float, error: RavatarError) -> None:
        await asyncio.sleep(0)
        seen.append(attempt)

    live = await client.start_live_session(avatar, on_retry=on_retry)
    assert seen == [1]
    await client.end_live_session(live.license_id)


async def test_retry_wait_is_cancellable(http: aiohttp.ClientSession,
                                         sim: RunningSimulator) -> None:
    slow = RavatarClient(http, sim.base_url, "p-1", "u-1",
                          retry_policy=BackoffPolicy(base_s=30.0, cap_s=30.0, max_attempts=1))
    avatar = await _avatar(slow)
    sim.inject_fault(START, status=503, count=None)  # busy forever
    retries = RetryLog()
    task = asyncio.create_task(slow.start_live_session(avatar, on_retry=retries))
    await asyncio.wait_for(retries.first.wait(), 5)  # now sleeping 30 s before the retry
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)  # cancelled at once, not after 30 s
    assert len(retries.calls) == 1
    sim.clear_faults()


@pytest.mark.parametrize("route", [START, "/connection"])
async def test_status_minus_one_in_a_200_response(client: RavatarClient, sim: RunningSimulator,
                                                  route: str) -> None:
    avatar = await _avatar(client)
    sim.inject_fault(route, status=-1)
    retries = RetryLog()
    with pytest.raises(UnknownServiceError) as info:
        if route == START:
            await client.start_live_session(avatar, on_retry=retries)
        else:
            await client.connection()
    assert info.value.status == -1
    assert retries.calls == []  # -1 is not retried


async def test_402_is_not_retried(client: RavatarClient, sim: RunningSimulator) -> None:
    avatar = await _avatar(client)
    sim.inject_fault(START, status=402, count=2)
    retries = RetryLog()
    with pytest.raises(PaymentError) as info:
        await client.start_live_session(avatar, on_retry=retries)
    assert "payment" in info.value.user_message.lower()
    assert retries.calls == []
    with pytest.raises(PaymentError):  # the second fault is still pending: one request only
        await client.start_live_session(avatar)


async def test_invalid_size_is_refused_before_sending(client: RavatarClient,
                                                      sim: RunningSimulator) -> None:
    with pytest.raises(InvalidStreamSizeError):
        await client.start_live_session(await _avatar(client), StreamSize(1921, 1080))
    with pytest.raises(InvalidRequestError, match="Choose an avatar"):
        await client.start_live_session("   ")
    assert sim.stats()["issued"] == 0


async def test_server_400_for_unknown_avatar(client: RavatarClient,
                                             sim: RunningSimulator) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.start_live_session("00000000-0000-4000-8000-000000000000")
    assert info.value.status == 400
    assert "avatar" in info.value.user_message


async def test_server_400_for_an_oversized_stream(client: RavatarClient,
                                                  sim: RunningSimulator,
                                                  http: aiohttp.ClientSession) -> None:
    # StreamSize cannot hold 4000 px, so send the raw body to see the server's 400 mapped.
    body = {"avatar_id": await _avatar(client), "width": "4000", "height": "720"}
    with pytest.raises(InvalidRequestError, match="width"):
        await request_json(http, "POST", sim.base_url + START, json_body=body,
                           token=await client.token(), timeout_s=5)


async def test_refused_connection(http: aiohttp.ClientSession, closed_port: int) -> None:
    client = RavatarClient(http, f"http://127.0.0.1:{closed_port}", "p-1", "u-1")
    with pytest.raises(ServiceUnreachableError) as info:
        await client.connection()
    assert f"127.0.0.1:{closed_port}" in info.value.user_message


async def test_timeout(http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    client = RavatarClient(http, sim.base_url, "p-1", "u-1")
    await client.token()  # with the default timeout, which no loaded machine misses
    client.request_timeout_s = 0.5
    sim.inject_fault("/connection", delay_s=60.0)  # can never beat the timeout
    with pytest.raises(ServiceUnreachableError, match=r"did not answer within 0\.5 seconds"):
        await client.connection()


@pytest.mark.parametrize("body", ["truncated", "non_json"])
async def test_unreadable_bodies(client: RavatarClient, sim: RunningSimulator,
                                 body: str) -> None:
    await client.token()
    sim.inject_fault("/connection", body=body)
    with pytest.raises(MalformedResponseError) as info:
        await client.connection()
    assert "answer" in info.value.user_message
    assert (await client.connection()).avatars  # the next call is fine again


async def test_jwt_failure_is_typed(http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    sim.inject_fault("/jwt", status=503, count=1)
    client = RavatarClient(http, sim.base_url, "p-1", "u-1",
                            retry_policy=BackoffPolicy(base_s=0.01, cap_s=0.01, max_attempts=1))
    with pytest.raises(ServiceBusyError):
        await client.token()
    assert await client.token()  # recovered on the next call
