"""The whole RAVATAR flow with the real client against the real simulator."""

from __future__ import annotations

import base64

import pytest

from ravatar_live.api.models import (
    ChatContext,
    IncomingReply,
    ServerMessage,
    StreamSize,
    SystemNotice,
    pcm_chunk_message,
    text_message,
)
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.urls import stream_url_with_token
from ravatar_live.api.ws import ChatSocket
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig

CHUNK_BYTES = 8192  # 4096 samples of s16le


async def _next(sock: ChatSocket) -> ServerMessage:
    async for message in sock.messages():
        return message
    raise AssertionError("the chat socket closed before a message arrived")


def _chunks(pcm: bytes) -> list[bytes]:
    chunks = [pcm[i:i + CHUNK_BYTES] for i in range(0, len(pcm), CHUNK_BYTES)]
    chunks[-1] = chunks[-1].ljust(CHUNK_BYTES, b"\x00")  # PROTOCOL.md 6: pad the last chunk
    return chunks


@pytest.mark.parametrize("sim_config", [SimulatorConfig(transcribe=True, utterance_gap_s=0.2)])
async def test_whole_flow_text_and_live_voice(client: RavatarClient, sim: RunningSimulator,
                                              speech_pcm: bytes) -> None:
    token = await client.token()
    assert token.startswith("eyJ")
    info = await client.connection()
    avatar = info.live_avatars[0]
    assert info.languages and "voice" in info.chat_types and info.session
    async with client.chat_socket() as sock:
        assert sock.connected
        live = await client.start_live_session(avatar.id, StreamSize(1280, 720))
        assert sim.stats()["live"] == 1
        assert live.streaming_url == f"{sim.stream_origin(live.license_id)}/"
        assert sim.license_size(live.license_id) == (1280, 720)
        assert stream_url_with_token(live.streaming_url, token).endswith(f"/?token={token}")
        ctx = ChatContext(avatar_id=avatar.id, user_id=client.user_id,
                          language=info.languages[0].code, session=info.session,
                          license_id=live.license_id)

        await sock.send(text_message(ctx, "What can you do?"))
        reply = await _next(sock)
        assert isinstance(reply, IncomingReply), reply
        assert (reply.chat_type, reply.request_type, reply.transcript) == ("text", "text", None)
        assert "What can you do?" in reply.text

        chunks = _chunks(speech_pcm)
        for chunk in chunks:
            await sock.send(pcm_chunk_message(ctx, base64.b64encode(chunk).decode("ascii")))
        voice = await _next(sock)
        assert isinstance(voice, IncomingReply), voice
        (utterance,) = await sim.wait_for_utterances(1)
        assert utterance.pcm == b"".join(chunks)  # every chunk arrived, in order
        assert utterance.transcript, "the simulator recognised no words in espeak speech"
        # The reply text started with ">transcript\n\n": the parser split it off.
        assert voice.transcript == utterance.transcript
        assert voice.text and not voice.text.startswith(">")
        assert (voice.chat_type, voice.request_type) == ("voice", "audio")
        received = [m for m in sim.messages if "audio_base64_pcm" in m]
        assert all(m["isLive"] is True and m["LicenseId"] == live.license_id for m in received)

        await client.end_live_session(live.license_id)
    assert sim.stats() == {"live": 0, "issued": 1, "ended": 1, "expired": 0}
    history = await client.chat_history(per_page=10)
    assert {e.chat_type for e in history.entries} == {"text", "voice"}


async def test_bad_message_gets_a_system_notice(client: RavatarClient,
                                                sim: RunningSimulator) -> None:
    async with client.chat_socket() as sock:
        await sock.send({"avatar_id": "no-such-avatar", "user_id": client.user_id,
                         "chat_type": "text", "requestType": "text", "request": "hi"})
        notice = await _next(sock)
    assert isinstance(notice, SystemNotice)
    assert "no-such-avatar" in notice.text


async def test_end_live_session_is_idempotent(client: RavatarClient,
                                              sim: RunningSimulator) -> None:
    info = await client.connection()
    live = await client.start_live_session(info.live_avatars[0].id)
    await client.end_live_session(live.license_id)
    await client.end_live_session(live.license_id)  # PROTOCOL.md: ending twice also succeeds
    assert sim.stats()["ended"] == 1
