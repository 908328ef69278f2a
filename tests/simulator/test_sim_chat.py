"""The chat WebSocket: text replies, notices for malformed input, dead licenses, reply delay."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest


async def test_text_request_gets_one_incoming_reply_mentioning_it(client) -> None:
    async with client.ws() as ws:
        await ws.send_json(client.text_message("What is the capital of France?"))
        reply = await client.receive_json(ws)
    assert reply["type"] == "incoming"
    assert "What is the capital of France?" in reply["answer"]
    assert (reply["chat_type"], reply["requestType"]) == ("text", "text")
    assert reply["timestamp"]
    assert "LicenseId" not in reply
    assert client.sim.messages[0]["request"] == "What is the capital of France?"


async def test_replies_are_deterministic(client) -> None:
    async with client.ws() as ws:
        answers = []
        for _ in range(2):
            await ws.send_json(client.text_message("Tell me about yourself"))
            answers.append((await client.receive_json(ws))["answer"])
    assert answers[0] == answers[1]


async def test_live_text_reply_carries_license_and_keeps_order(client) -> None:
    lid = await client.start_license()
    async with client.ws() as ws:
        for n in range(5):
            await ws.send_json(client.text_message(f"message {n}", lid))
        replies = [await client.receive_json(ws) for _ in range(5)]
    assert [r["LicenseId"] for r in replies] == [lid] * 5
    assert all(f"message {n}" in r["answer"] for n, r in enumerate(replies))


@pytest.mark.parametrize(("frame", "fragment"), [
    ("not json at all", "could not parse"),
    ("[1, 2, 3]", "expected a JSON object"),
    ('"a string"', "expected a JSON object"),
    ('{"hello": "there"}', "unrecognised message"),
    ('{"request": "", "avatar_id": "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"}',
     "must be a non-empty string"),
    ('{"request": 5, "avatar_id": "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"}',
     "must be a non-empty string"),
    ('{"request": "hi", "avatar_id": "who?"}', "unknown avatar_id"),
    ('{"request": "hi"}', "unknown avatar_id"),
    ('{"request": "hi", "avatar_id": "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f", "LicenseId": 7}',
     "LicenseId must be a non-empty string"),
])
async def test_malformed_messages_get_a_system_notice(client, frame: str,
                                                       fragment: str) -> None:
    async with client.ws() as ws:
        await ws.send_str(frame)
        notice = await client.receive_json(ws)
        assert notice["type"] == "system"
        assert fragment in notice["content"]
        # The connection survives: a good request still gets its reply.
        await ws.send_json(client.text_message("still there?"))
        assert (await client.receive_json(ws))["type"] == "incoming"


async def test_binary_frame_gets_a_notice(client) -> None:
    async with client.ws() as ws:
        await ws.send_bytes(b"\x00\x01")
        notice = await client.receive_json(ws)
    assert notice["type"] == "system" and "binary frames" in notice["content"]


async def test_message_naming_dead_license_gets_notice_and_chat_reply(client) -> None:
    lid = await client.start_license()
    await client.post("/endLiveSession", {"LicenseId": lid})
    async with client.ws() as ws:
        for _ in range(2):  # every such message is told, not only the first
            await ws.send_json(client.text_message("are you there?", lid))
            notice = await client.receive_json(ws)
            assert notice["type"] == "system"
            assert lid in notice["content"] and "not a live session" in notice["content"]
            reply = await client.receive_json(ws)
            assert reply["type"] == "incoming" and "LicenseId" not in reply


async def test_reply_delay_is_applied(make_client) -> None:
    c = await make_client(reply_delay_s=0.4)
    async with c.ws() as ws:
        started = time.monotonic()
        await ws.send_json(c.text_message("slowly"))
        await ws.send_str("junk")  # notices are not delayed past their turn, but keep order
        first = await c.receive_json(ws)
        elapsed = time.monotonic() - started
        second = await c.receive_json(ws)
    assert first["type"] == "incoming" and second["type"] == "system"
    assert 0.35 <= elapsed < 2.0


async def test_chat_socket_is_closed_when_simulator_closes(client) -> None:
    async with client.ws() as ws:
        await client.sim.close()
        msg = await ws.receive(timeout=5)
    assert msg.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}


async def test_wait_for_message_helper(client) -> None:
    async with client.ws() as ws:
        waiter = asyncio.ensure_future(client.sim.wait_for_message(
            lambda m: m.get("request") == "needle", within_s=5))
        await ws.send_str(json.dumps(client.text_message("hay")))
        await ws.send_str(json.dumps(client.text_message("needle")))
        found = await waiter
    assert found["request"] == "needle"
