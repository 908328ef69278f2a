"""ReconnectingChatSocket against the REAL simulator on 127.0.0.1: server restarts on the same
port, a network drop in the middle of a voice take, revoked tokens, overflow, deliberate close.

A server restart is the simulator stopped and a new one started on the same port (it signs with
a new secret, so the old token is refused: the reconnect must renew it). A network drop that
leaves the server running is made by `CuttableProxy`, a TCP relay in front of the simulator whose
connections the test aborts: a real socket-level drop, not a mock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

import aiohttp
import pytest

from ravatar_live.api.backoff import CHAT_RECONNECT, BackoffPolicy
from ravatar_live.api.errors import AuthError, ServiceUnreachableError
from ravatar_live.api.models import (
    ChatContext,
    IncomingReply,
    ServerMessage,
    pcm_chunk_message,
    text_message,
)
from ravatar_live.api.reconnect import (
    LinkState,
    LinkStatus,
    NotSent,
    NotSentReason,
    ReconnectingChatSocket,
)
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.ws import ChatSocket
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator

# Short delays keep the tests fast; a cap well above the base still exercises the doubling.
FAST = replace(CHAT_RECONNECT, base_s=0.02, cap_s=0.2)
CHUNK_BYTES = 8192  # 4096 samples, PROTOCOL.md 4
WAIT_S = 10.0
PROJECT_ID = "0123456789abcdef01234567"
USER_ID = "fedcba9876543210fedcba98"


class CuttableProxy:
    """A TCP relay 127.0.0.1:<port> -> the simulator; `cut()` aborts every relayed connection
    (both sides), like a network drop, while the simulator keeps running."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class Recorder:
    """State changes and not-sent reports, with a way to wait for a state."""

    statuses: list[LinkStatus] = field(default_factory=list)
    not_sent: list[NotSent] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_state(self, status: LinkStatus) -> None:
        self.statuses.append(status)
        self._changed.set()

    def on_not_sent(self, report: NotSent) -> None:
        self.not_sent.append(report)
        self._changed.set()

    async def wait_for(self, check: Callable[[], bool], within_s: float = WAIT_S) -> None:
        async with asyncio.timeout(within_s):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    async def wait_state(self, state: LinkState, *, after: int = 0) -> LinkStatus:
        """Wait for `state` among the statuses from index `after` on; return it."""
        def found() -> LinkStatus | None:
            return next((s for s in self.statuses[after:] if s.state is state), None)

        await self.wait_for(lambda: found() is not None)
        status = found()
        assert status is not None
        return status

    @property
    def states(self) -> list[LinkState]:
        return [s.state for s in self.statuses]


class Replies:
    """Reads `messages()` in a task for the whole test: the iterator must survive reconnects."""

    def __init__(self, sock: ReconnectingChatSocket) -> None:
        self.received: list[ServerMessage] = []
        self.ended = asyncio.Event()
        self._new = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read(sock))

    async def _read(self, sock: ReconnectingChatSocket) -> None:
        async for message in sock.messages():
            self.received.append(message)
            self._new.set()
        self.ended.set()

    def texts(self) -> list[str]:
        return [m.text for m in self.received if isinstance(m, IncomingReply)]

    async def wait_texts(self, predicate: Callable[[list[str]], bool]) -> list[str]:
        async with asyncio.timeout(WAIT_S):
            while not predicate(self.texts()):
                self._new.clear()
                await self._new.wait()
        return self.texts()


def make_socket(chat: ChatSocket, rec: Recorder, **options: object) -> ReconnectingChatSocket:
    return ReconnectingChatSocket(chat, backoff=options.pop("backoff", FAST),  # type: ignore[arg-type]
                                  on_state=rec.on_state, on_not_sent=rec.on_not_sent,
                                  **options)  # type: ignore[arg-type]


@pytest.fixture
async def proxy(sim: RunningSimulator) -> AsyncIterator[CuttableProxy]:
    relay = CuttableProxy(sim.port)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()


async def context(client: RavatarClient, license_id: str | None = None) -> ChatContext:
    info = await client.connection()
    return ChatContext(avatar_id=info.live_avatars[0].id, user_id=client.user_id,
                       language="en", session=info.session, license_id=license_id)


def speech_chunks(speech_pcm: bytes, count: int) -> list[bytes]:
    """`count` full 8192-byte chunks of real speech (the last padded with silence)."""
    pcm = speech_pcm[:count * CHUNK_BYTES].ljust(count * CHUNK_BYTES, b"\0")
    return [pcm[i:i + CHUNK_BYTES] for i in range(0, len(pcm), CHUNK_BYTES)]


# --- server restart on the same port ---------------------------------------------------------
@dataclass
class Restartable:
    config: SimulatorConfig
    sim: RunningSimulator

    async def stop(self) -> None:
        await self.sim.close()

    async def start_again(self) -> RunningSimulator:
        self.sim = await start_simulator(
            SimulatorConfig(host="127.0.0.1", port=self.sim.port, transcribe=False))
        return self.sim


@pytest.fixture
async def restartable() -> AsyncIterator[Restartable]:
    config = SimulatorConfig(host="127.0.0.1", port=0, transcribe=False)
    holder = Restartable(config, await start_simulator(config))
    try:
        yield holder
    finally:
        await holder.sim.close()


async def test_text_typed_while_the_server_restarts_arrives_after_reconnect(
        restartable: Restartable, http: aiohttp.ClientSession) -> None:
    sim = restartable.sim
    client = RavatarClient(http, sim.base_url, PROJECT_ID, USER_ID,
                           request_timeout_s=5.0,
                           retry_policy=BackoffPolicy(base_s=0.01, cap_s=0.02, max_attempts=2))
    ctx = await context(client)
    rec = Recorder()
    sock = ReconnectingChatSocket.from_client(client, backoff=FAST, on_state=rec.on_state,
                                              on_not_sent=rec.on_not_sent)
    await sock.connect()
    replies = Replies(sock)
    sock.send_nowait(text_message(ctx, "before the restart"))
    await replies.wait_texts(lambda t: any("before the restart" in x for x in t))

    await restartable.stop()
    lost = await rec.wait_state(LinkState.RECONNECTING)
    assert lost.error is not None and lost.attempt == 1
    typed = [f"typed while down {i}" for i in range(3)]
    for line in typed:
        await sock.send(text_message(ctx, line))
    assert sock.pending_messages == 3 and not sock.connected

    new_sim = await restartable.start_again()
    await sock.wait_connected(WAIT_S)
    texts = await replies.wait_texts(lambda t: sum("typed while down" in x for x in t) == 3)
    order = [next(i for i, x in enumerate(texts) if line in x) for line in typed]
    assert order == sorted(order), "queued messages must arrive in the order they were typed"
    received = [m["request"] for m in new_sim.messages if "request" in m]
    assert received == typed  # exactly once each, nothing replayed that had already gone out
    # The new server refused the old token once; the socket renewed it and got in.
    assert client.tokens_fetched == 2
    assert sock.reconnects == 1 and rec.not_sent == []
    await sock.close()
    await asyncio.wait_for(replies.ended.wait(), WAIT_S)


# --- network drop with the server running ------------------------------------------------------
@pytest.mark.parametrize("sim_config", [SimulatorConfig(transcribe=False, utterance_gap_s=0.4)])
async def test_take_in_progress_is_delivered_whole_after_a_drop(
        client: RavatarClient, sim: RunningSimulator, proxy: CuttableProxy,
        speech_pcm: bytes) -> None:
    live = await client.start_live_session((await context(client)).avatar_id)
    try:
        ctx = await context(client, live.license_id)
        chunks = speech_chunks(speech_pcm, 8)
        rec = Recorder()
        sock = make_socket(client.chat_socket(ws_url=proxy.ws_url), rec)
        await sock.connect()
        take = sock.begin_take()
        for pcm in chunks[:3]:
            sock.send_nowait(pcm_chunk_message(ctx, base64.b64encode(pcm).decode()))
        await sim.wait_for_message(lambda _m: sum("audio_base64_pcm" in m
                                                  for m in sim.messages) >= 3)
        proxy.cut()  # the line dies three chunks into the take
        for pcm in chunks[3:]:
            sock.send_nowait(pcm_chunk_message(ctx, base64.b64encode(pcm).decode()))
        assert sock.end_take() == take
        await rec.wait_state(LinkState.RECONNECTING)
        await sock.wait_connected(WAIT_S)

        whole = b"".join(chunks)
        async with asyncio.timeout(WAIT_S):
            count = 1
            while not any(u.pcm == whole for u in await sim.wait_for_utterances(count)):
                count += 1
        assert rec.not_sent == []
        assert sock.held_audio_s == 0.0  # the take was released once delivered
        assert proxy.accepted == 2
        await sock.close()
    finally:
        await client.end_live_session(live.license_id)


async def test_revoked_token_is_renewed_once_on_reconnect(
        client: RavatarClient, sim: RunningSimulator, proxy: CuttableProxy) -> None:
    ctx = await context(client)
    rec = Recorder()
    sock = make_socket(client.chat_socket(ws_url=proxy.ws_url), rec)
    await sock.connect()
    replies = Replies(sock)
    fetched = client.tokens_fetched
    sim.revoke_tokens()
    proxy.cut()
    lost = await rec.wait_state(LinkState.RECONNECTING)
    await rec.wait_state(LinkState.CONNECTED, after=rec.statuses.index(lost))
    assert client.tokens_fetched == fetched + 1  # one 403 -> one renewal -> connected
    sock.send_nowait(text_message(ctx, "after the new token"))
    await replies.wait_texts(lambda t: any("after the new token" in x for x in t))
    await sock.close()


async def test_token_refused_even_after_renewal_closes_for_good(
        http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    renewals = 0

    async def bad_token() -> str:
        return "not.a.jwt"

    async def bad_renewal(_rejected: str) -> str:
        nonlocal renewals
        renewals += 1
        return "still.not.valid"

    rec = Recorder()
    sock = make_socket(ChatSocket(http, sim.ws_url, bad_token, token_refresher=bad_renewal), rec)
    sock.start()
    with pytest.raises(AuthError) as info:
        await sock.wait_connected(WAIT_S)
    assert renewals == 1 and sock.attempts == 1  # no retry loop against a refused sign-in
    assert rec.states == [LinkState.CONNECTING, LinkState.CLOSED]
    assert sock.status.error is info.value and info.value.user_message
    await sock.close()


@pytest.mark.parametrize("sim_config", [SimulatorConfig(transcribe=False, utterance_gap_s=0.4)])
async def test_take_overflowing_the_buffer_while_down_is_reported(
        client: RavatarClient, sim: RunningSimulator, proxy: CuttableProxy,
        speech_pcm: bytes) -> None:
    live = await client.start_live_session((await context(client)).avatar_id)
    try:
        ctx = await context(client, live.license_id)
        rec = Recorder()
        # Hold at most 1 s of audio: the fourth 256 ms chunk overflows it.
        sock = make_socket(client.chat_socket(ws_url=proxy.ws_url), rec, max_take_s=1.0)
        await sock.connect()
        proxy.cut()
        await rec.wait_state(LinkState.RECONNECTING)
        take = sock.begin_take()
        for pcm in speech_chunks(speech_pcm, 6):
            sock.send_nowait(pcm_chunk_message(ctx, base64.b64encode(pcm).decode()))
        sock.end_take()
        assert [(r.reason, r.take_id, len(r.messages)) for r in rec.not_sent] == [
            (NotSentReason.BUFFER_FULL, take, 3)]
        assert "voice message was not sent" in rec.not_sent[0].user_message
        await sock.wait_connected(WAIT_S)
        sock.send_nowait(text_message(ctx, "still here"))
        await sim.wait_for_message(lambda m: m.get("request") == "still here")
        assert not any("audio_base64_pcm" in m for m in sim.messages)
        await sock.close()
    finally:
        await client.end_live_session(live.license_id)


async def test_close_while_down_reports_what_was_not_sent(
        client: RavatarClient, sim: RunningSimulator, proxy: CuttableProxy) -> None:
    ctx = await context(client)
    rec = Recorder()
    sock = make_socket(client.chat_socket(ws_url=proxy.ws_url), rec,
                       backoff=replace(CHAT_RECONNECT, base_s=5.0, cap_s=5.0))
    await sock.connect()
    replies = Replies(sock)
    await proxy.close()  # the relay is gone: no reconnect can succeed
    await rec.wait_state(LinkState.RECONNECTING)
    sock.send_nowait(text_message(ctx, "lost 1"))
    sock.send_nowait(text_message(ctx, "lost 2"))
    await sock.close()
    assert [(r.reason, r.take_id, [m["request"] for m in r.messages]) for r in rec.not_sent] == [
        (NotSentReason.CLOSED, None, ["lost 1", "lost 2"])]
    assert sock.state is LinkState.CLOSED and sock.status.error is None
    await asyncio.wait_for(replies.ended.wait(), WAIT_S)  # the iterator ends at close
    with pytest.raises(ServiceUnreachableError, match="closed"):
        sock.send_nowait(text_message(ctx, "after close"))


async def test_deliberate_close_never_reconnects(client: RavatarClient,
                                                 sim: RunningSimulator) -> None:
    rec = Recorder()
    # rng 0: a reconnect, if one were (wrongly) attempted, would start at once.
    sock = make_socket(client.chat_socket(), rec, rng=lambda: 0.0)
    async with sock:
        assert sock.connected
    assert rec.states == [LinkState.CONNECTING, LinkState.CONNECTED, LinkState.CLOSED]
    # An observation window, not synchronisation: nothing may happen in it.
    await asyncio.sleep(0.3)
    assert rec.states[-1] is LinkState.CLOSED and len(rec.states) == 3
    assert sock.attempts == 1
    await sock.close()  # idempotent
    assert len(rec.states) == 3


async def test_first_connect_failure_raises_and_closes(http: aiohttp.ClientSession,
                                                       closed_port: int) -> None:
    async def token() -> str:
        return "a.b.c"

    rec = Recorder()
    sock = make_socket(ChatSocket(http, f"ws://127.0.0.1:{closed_port}/ws/chat", token), rec)
    with pytest.raises(ServiceUnreachableError):
        await sock.connect()
    assert rec.states == [LinkState.CONNECTING, LinkState.CLOSED]
    assert sock.status.error is not None and sock.status.user_message


async def test_close_during_the_first_connect_wins(client: RavatarClient,
                                                   sim: RunningSimulator) -> None:
    rec = Recorder()
    sock = make_socket(client.chat_socket(), rec)
    connecting = asyncio.get_running_loop().create_task(sock.connect())
    await rec.wait_state(LinkState.CONNECTING)
    await sock.close()
    with pytest.raises(ServiceUnreachableError, match="closed"):
        await connecting
    assert sock.state is LinkState.CLOSED and not sock.connected
