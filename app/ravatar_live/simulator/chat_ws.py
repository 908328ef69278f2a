"""The chat WebSocket /ws/chat?token= (PROTOCOL.md section 4): text, voice blobs (WAV, WebM or
Ogg), Live PCM streams.

Every client frame gets an answer: a reply (`type: "incoming"`) for a complete request, or a
`type: "system"` notice saying what was wrong with it. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ravatar_live.simulator.audio import UnusableAudioError, check_pcm_chunk, decode_base64
from ravatar_live.simulator.auth import TokenClaims, TokenRejectedError
from ravatar_live.simulator.catalog import avatar_by_id
from ravatar_live.simulator.hostile import Frame, HostileFrames
from ravatar_live.simulator.replies import compose_reply
from ravatar_live.simulator.state import STATE_KEY, SimulatorState
from ravatar_live.simulator.turns import RequestContext, hear, reply_message
from ravatar_live.simulator.voice_blobs import blob_to_pcm16k

log = logging.getLogger(__name__)


@dataclass
class PcmStream:
    """Chunks of one Live utterance still arriving; it ends on a short chunk or a silence gap."""

    ctx: RequestContext
    chunks: list[bytes] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class ChatConnection:
    """One client's chat socket: parses frames, answers in order through a single writer."""

    def __init__(self, state: SimulatorState, ws: web.WebSocketResponse,
                 claims: TokenClaims) -> None:
        self.state = state
        self.ws = ws
        self.user_id = claims.user_id
        self.project_id = claims.project_id
        # (due time on the loop clock, message): replies wait out reply_delay_s; FIFO order.
        self._outbox: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self._streams: dict[str, PcmStream] = {}
        self._dead_noticed: set[str] = set()
        config = state.config
        self._hostile = HostileFrames(config.hostile_seed) if config.hostile else None

    # --- sending ---------------------------------------------------------------------------
    def notify(self, text: str) -> None:
        """Queue a system notice (sent without the reply delay, in order)."""
        self._enqueue({"type": "system", "content": text}, delay=0.0)

    def _refuse(self, reason: str) -> None:
        """A client message that cannot be used: say why in the log and to the client."""
        log.info("refused a chat message from user %s: %s", self.user_id, reason)
        self.notify(reason)

    def _enqueue(self, message: dict[str, Any], delay: float) -> None:
        self._outbox.put_nowait((asyncio.get_running_loop().time() + delay, message))

    async def _write_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, message = await self._outbox.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.ws.closed:
                return
            try:
                if self._hostile is not None:
                    await self._send_hostile(self.state.config.hostile_frames_per_message)
                await self.ws.send_str(json.dumps(message))
            except (ConnectionError, RuntimeError):
                return

    async def _send_hostile(self, count: int) -> None:
        assert self._hostile is not None
        for _ in range(count):
            await self._send_frame(self._hostile.next())

    async def _send_frame(self, frame: Frame) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)
        self.state.count_hostile_frame()

    async def _spray(self, per_s: float, limit: int | None) -> None:
        """Hostile frames at a steady rate, in small batches (sleep granularity is ~ms), until
        `limit` frames were sprayed (None: while the socket is open)."""
        batch = max(1, round(per_s / 50))
        left = limit
        while not self.ws.closed and (left is None or left > 0):
            count = batch if left is None else min(batch, left)
            try:
                await self._send_hostile(count)
            except (ConnectionError, RuntimeError):
                return
            if left is not None:
                left -= count
            await asyncio.sleep(count / per_s)

    def send_reply(self, message: dict[str, Any]) -> None:
        """Queue a reply; it goes out after the configured reply delay, in order."""
        self._enqueue(message, delay=self.state.config.reply_delay_s)

    def _reply(self, ctx: RequestContext, answer: str) -> None:
        self.send_reply(reply_message(ctx, answer))
        if ctx.license_id and self.state.licenses.get(ctx.license_id):
            self.state.speak(ctx.license_id, answer, ctx.turn)

    # --- receiving -------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the socket until the client or the simulator closes it."""
        loop = asyncio.get_running_loop()
        writer = loop.create_task(self._write_forever())
        spray_rate = self.state.config.hostile_spray_per_s
        sprayer = (loop.create_task(self._spray(spray_rate, self.state.config.hostile_spray_limit))
                   if self._hostile is not None and spray_rate > 0 else None)
        try:
            async for frame in self.ws:
                if frame.type == WSMsgType.TEXT:
                    self.handle_text(frame.data)
                elif frame.type == WSMsgType.BINARY:
                    self._refuse("binary frames are not supported: send one JSON object per "
                                "UTF-8 text frame")
                elif frame.type == WSMsgType.ERROR:
                    log.info("chat socket error: %s", self.ws.exception())
        finally:
            for lid in list(self._streams):
                self._finish_stream(lid)  # keep what was said, even if nobody hears the answer
            for task in (writer, sprayer):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def handle_text(self, raw: str) -> None:
        """Dispatch one client frame."""
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            self._refuse("could not parse that message: expected one JSON object per frame")
            return
        if not isinstance(message, dict):
            self._refuse("expected a JSON object, got " + type(message).__name__)
            return
        self.state.add_message(message)
        try:
            self._dispatch(message)
        except Exception:  # a bug here must cost one message, not the connection
            log.exception("could not handle a chat message")
            self._refuse("the simulator could not handle that message (internal error; see its "
                        "log)")

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "audio_base64_pcm" in message:
            self._on_pcm_chunk(message)
        elif "file_base64_data" in message:
            self._on_voice_blob(message)
        elif "request" in message:
            self._on_text(message)
        else:
            self._refuse("unrecognised message: expected `request` (text), `file_base64_data` "
                        "(recorded voice) or `audio_base64_pcm` (Live PCM stream)")

    def _context(self, message: dict[str, Any], voice: bool) -> RequestContext | None:
        """Common fields, or None after a notice saying what is wrong."""
        license_id = message.get("LicenseId")
        if license_id is not None and (not isinstance(license_id, str) or not license_id):
            self._refuse("LicenseId must be a non-empty string")
            return None
        lic = self.state.licenses.get(license_id) if license_id else None
        avatar = avatar_by_id(message.get("avatar_id"))
        if avatar is None and lic is not None and message.get("avatar_id") is None:
            avatar = avatar_by_id(lic.avatar_id)
        if avatar is None:
            self._refuse(f"unknown avatar_id {message.get('avatar_id')!r}: use an _id from "
                        "GET /connection")
            return None
        if license_id and lic is None:
            streaming = "audio_base64_pcm" in message
            # One notice per dead license for a PCM stream (dozens of chunks), one per message
            # otherwise.
            if not streaming or license_id not in self._dead_noticed:
                self._dead_noticed.add(license_id)
                self._refuse(f"LicenseId {license_id} is not a live session (ended, expired or "
                            "never started); start a new one with POST /startLiveSession")
            if streaming:
                return None  # a Live stream needs a live license; chat replies still work
            license_id = None
        elif license_id:
            self.state.licenses.touch(license_id)
        language = message.get("language")
        return RequestContext(
            avatar=avatar,
            chat_type="voice" if voice else "text",
            request_type="audio" if voice else "text",
            language=language if isinstance(language, str) and language else "en",
            license_id=license_id,
            push_to_talk=message.get("isPushToTalk") is True,
        )

    def _on_text(self, message: dict[str, Any]) -> None:
        text = message.get("request")
        if not isinstance(text, str) or not text.strip():
            self._refuse("`request` must be a non-empty string")
            return
        ctx = self._context(message, voice=False)
        if ctx is None:
            return
        if ctx.license_id:
            ctx.turn = self.state.begin_turn(ctx.license_id, "thinking")
        answer = compose_reply(text, ctx.avatar.name)
        self.state.history.record(project_id=self.project_id, user_id=self.user_id,
                                  avatar_id=ctx.avatar.avatar_id, avatar_name=ctx.avatar.name,
                                  chat_type="text", language=ctx.language, request=text,
                                  answer=answer)
        self._reply(ctx, answer)

    def _on_voice_blob(self, message: dict[str, Any]) -> None:
        ctx = self._context(message, voice=True)
        if ctx is None:
            return
        try:
            pcm = blob_to_pcm16k(decode_base64(message["file_base64_data"], "file_base64_data"))
        except UnusableAudioError as exc:
            self._refuse(str(exc))
            return
        if ctx.license_id:
            ctx.turn = self.state.begin_turn(ctx.license_id, "thinking")
        self.state.spawn(self._answer_voice(pcm, ctx, "wav"))

    def _on_pcm_chunk(self, message: dict[str, Any]) -> None:
        license_id = message.get("LicenseId")
        if not license_id:
            self._refuse("audio_base64_pcm needs isLive: true and the LicenseId of a live session")
            return
        try:
            pcm = decode_base64(message["audio_base64_pcm"], "audio_base64_pcm")
            is_last = check_pcm_chunk(pcm)
        except UnusableAudioError as exc:
            self._refuse(str(exc))
            return
        ctx = self._context(message, voice=True)
        if ctx is None or ctx.license_id is None:
            return
        lid = ctx.license_id
        stream = self._streams.get(lid)
        if stream is None:
            ctx.turn = self.state.begin_turn(lid, "listening")
            stream = self._streams[lid] = PcmStream(ctx=ctx)
        stream.chunks.append(pcm)
        if stream.timer is not None:
            stream.timer.cancel()
        if is_last:
            self._finish_stream(lid)
        else:
            # Assumption (PROTOCOL.md 6): an utterance ends when chunks stop arriving.
            stream.timer = asyncio.get_running_loop().call_later(
                self.state.config.utterance_gap_s, self._finish_stream, lid)

    def _finish_stream(self, license_id: str) -> None:
        stream = self._streams.pop(license_id, None)
        if stream is None:
            return
        if stream.timer is not None:
            stream.timer.cancel()
        self.state.turn_heard(license_id, stream.ctx.turn)
        self.state.spawn(self._answer_voice(b"".join(stream.chunks), stream.ctx, "pcm"))

    async def _answer_voice(self, pcm: bytes, ctx: RequestContext, source: str) -> None:
        answer = await hear(self.state, pcm, ctx, user_id=self.user_id,
                            project_id=self.project_id, source=source)
        if not self.ws.closed:
            self._reply(ctx, answer)


async def chat_socket(request: web.Request) -> web.StreamResponse:
    """GET /ws/chat?token=<JWT>: 403 at the upgrade for a bad token, then the chat protocol."""
    state = request.app[STATE_KEY]
    try:
        claims = state.tokens.verify(request.query.get("token"))
    except TokenRejectedError as exc:
        return web.json_response({"status": 403, "error": str(exc)}, status=403)
    if state.chat_stalled:
        return await _stalled_socket(request, state)
    ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    conn = ChatConnection(state, ws, claims)
    state.sockets.add(ws)
    state.chat_peers.add(conn)
    log.info("chat socket opened for user %s", claims.user_id)
    try:
        await conn.run()
    finally:
        state.sockets.discard(ws)
        state.chat_peers.discard(conn)
        log.info("chat socket closed for user %s", claims.user_id)
    return ws


async def _stalled_socket(request: web.Request, state: SimulatorState) -> web.StreamResponse:
    """Accept the upgrade, then never answer: no pongs, no replies (a hung server or a
    half-open connection). The client's heartbeat must notice; the socket ends when the client
    gives up or the simulator closes."""
    ws = web.WebSocketResponse(autoping=False, timeout=0.5, max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    state.sockets.add(ws)
    log.info("chat socket accepted in stall mode: it will never answer")
    try:
        await state.wait_unstalled_or_closed(ws)
    finally:
        state.sockets.discard(ws)
    return ws
