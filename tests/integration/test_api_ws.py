"""ChatSocket behaviour beyond the happy path: closing, sending when closed, refused ports."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from ravatar_live.api.errors import ServiceUnreachableError
from ravatar_live.api.models import ChatContext, IncomingReply, text_message
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.ws import ChatSocket
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig


async def test_send_before_connect_and_after_close(client: RavatarClient,
                                                   sim: RunningSimulator) -> None:
    sock = client.chat_socket()
    with pytest.raises(ServiceUnreachableError, match="not open"):
        await sock.send({"request": "x"})
    await sock.connect()
    await sock.connect()  # no-op while open
    await sock.close()
    await sock.close()  # idempotent
    assert sock.closed_by_client and not sock.connected
    with pytest.raises(ServiceUnreachableError):
        await sock.send({"request": "x"})


async def test_server_close_ends_the_message_loop(client: RavatarClient,
                                                  sim: RunningSimulator) -> None:
    sock = client.chat_socket()
    await sock.connect()
    received: list[object] = []

    async def read_all() -> None:
        async for message in sock.messages():
            received.append(message)

    reader = asyncio.create_task(read_all())
    await sim.close()  # the server goes away
    await asyncio.wait_for(reader, 5)
    assert received == []
    assert not sock.connected and not sock.closed_by_client  # a reconnect layer can tell
    await sock.close()


@pytest.mark.parametrize("sim_config", [SimulatorConfig(transcribe=False, reply_delay_s=0.05)])
async def test_concurrent_sends_are_serialised_and_all_answered(client: RavatarClient,
                                                                sim: RunningSimulator) -> None:
    info = await client.connection()
    ctx = ChatContext(avatar_id=info.avatars[0].id, user_id=client.user_id, language="en")
    async with client.chat_socket() as sock:
        await asyncio.gather(*(sock.send(text_message(ctx, f"message {i}")) for i in range(20)))
        replies = []
        async for message in sock.messages():
            assert isinstance(message, IncomingReply)
            replies.append(message.text)
            if len(replies) == 20:
                break
    assert all(any(f"message {i}" in r for r in replies) for i in range(20))


async def test_refused_ws_connection(http: aiohttp.ClientSession, closed_port: int) -> None:
    async def provider() -> str:
        return "a.b.c"

    sock = ChatSocket(http, f"ws://127.0.0.1:{closed_port}/ws/chat", provider)
    with pytest.raises(ServiceUnreachableError, match=f"127.0.0.1:{closed_port}"):
        await sock.connect()
