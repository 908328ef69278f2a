"""Everything one running simulator knows, shared by its REST, chat and stream-page handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiohttp import WSCloseCode, web

from ravatar_live.simulator.audio import SAMPLE_RATE
from ravatar_live.simulator.auth import TokenAuthority
from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.faults import FaultBook
from ravatar_live.simulator.history import ChatHistory
from ravatar_live.simulator.licenses import License, LicensePool
from ravatar_live.simulator.transcriber import Transcriber

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utterance:
    """One voice request as the simulator received it (16 kHz mono s16le)."""

    pcm: bytes
    transcript: str | None
    source: str  # "pcm" (Live PCM stream) or "wav" (file_base64_data blob)
    user_id: str
    license_id: str | None = None
    push_to_talk: bool = False
    saved_path: Path | None = None

    @property
    def duration_s(self) -> float:
        """Length of the audio."""
        return len(self.pcm) / 2 / SAMPLE_RATE

    def describe(self) -> dict[str, object]:
        """JSON-friendly summary (no audio) for the admin API."""
        return {"transcript": self.transcript, "source": self.source, "user_id": self.user_id,
                "license_id": self.license_id, "push_to_talk": self.push_to_talk,
                "bytes": len(self.pcm), "duration_s": round(self.duration_s, 3),
                "saved_path": str(self.saved_path) if self.saved_path else None}


class MediaPeer(Protocol):
    """What the state needs from a stream page's media (its WebRTC side)."""

    def on_event(self, event: dict[str, object]) -> None:
        """Follow a stream event."""

    def describe(self) -> dict[str, object] | None:
        """Its state for tests (None when it streams nothing)."""

    async def close(self) -> None:
        """Stop streaming."""


class ChatPeer(Protocol):
    """What the state needs from an open chat connection."""

    user_id: str

    def notify(self, text: str) -> None:
        """Queue a system notice for the client."""


@dataclass
class SimulatorState:
    """Shared state. Handlers reach it through `request.app[STATE_KEY]`."""

    config: SimulatorConfig
    tokens: TokenAuthority
    licenses: LicensePool
    faults: FaultBook = field(default_factory=FaultBook)
    history: ChatHistory = field(default_factory=ChatHistory)
    transcriber: Transcriber = field(default_factory=Transcriber)
    utterances: list[Utterance] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    chat_peers: set[ChatPeer] = field(default_factory=set)
    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    stream_watchers: dict[str, set[web.WebSocketResponse]] = field(default_factory=dict)
    # The WebRTC side of each connected stream page, by license (empty in canvas mode).
    stream_media: dict[str, set[MediaPeer]] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    #: Hostile frames sent on chat sockets so far (hostile mode).
    hostile_sent: int = 0
    _changed: asyncio.Event | None = None
    _unstalled: asyncio.Event | None = None

    @classmethod
    def create(cls, config: SimulatorConfig) -> SimulatorState:
        """Build the state for a config."""
        return cls(config=config,
                   tokens=TokenAuthority(config.token_ttl_s, config.jwt_secret),
                   licenses=LicensePool(config.max_licenses, config.license_idle_timeout_s),
                   transcriber=Transcriber(enabled=config.transcribe))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task, keeping a reference until it finishes."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulator task failed", exc_info=task.exception())

    # --- waiting on what clients sent -------------------------------------------------------
    def _signal_change(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = None

    async def wait_for(self, predicate: Callable[[], bool], within_s: float) -> None:
        """Wait until `predicate()` is true (re-checked on every received message/utterance)."""
        async with asyncio.timeout(within_s):
            while not predicate():
                if self._changed is None:
                    self._changed = asyncio.Event()
                await self._changed.wait()

    def add_utterance(self, utterance: Utterance) -> None:
        """Record a finished utterance and wake waiters."""
        self.utterances.append(utterance)
        self._signal_change()

    def count_hostile_frame(self) -> None:
        """One more hostile frame went out; wake waiters."""
        self.hostile_sent += 1
        self._signal_change()

    def add_message(self, message: dict[str, Any]) -> None:
        """Record a received chat message and wake waiters."""
        self.messages.append(message)
        self._signal_change()

    # --- licenses and the stream pages watching them ---------------------------------------
    async def publish(self, license_id: str, event: dict[str, object]) -> None:
        """Send an event to every stream page showing this license (and to its media)."""
        for media in list(self.stream_media.get(license_id, ())):
            media.on_event(event)
        for ws in list(self.stream_watchers.get(license_id, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json(event)

    async def finish_license(self, lic: License, reason: str, *, tell_chat: bool) -> None:
        """Tell the stream pages (and, with `tell_chat`, the user's chat connections) that a
        license is gone."""
        # The media goes first, so nothing streams for a license that no longer exists.
        media_peers = list(self.stream_media.pop(lic.license_id, ()))
        for media in media_peers:
            await media.close()
        await self.publish(lic.license_id, {"event": "session-end", "reason": reason})
        for ws in list(self.stream_watchers.pop(lic.license_id, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"license ended")
        if tell_chat:
            for peer in list(self.chat_peers):
                if peer.user_id == lic.user_id:
                    peer.notify(f"Live session {lic.license_id} {reason}.")

    async def reap_forever(self) -> None:
        """Expire idle licenses, checking a few times per idle timeout."""
        period = min(1.0, self.config.license_idle_timeout_s / 4)
        while True:
            await asyncio.sleep(period)
            for lic in self.licenses.reap_idle():
                log.info("license %s expired after %.1f s idle", lic.license_id,
                         self.config.license_idle_timeout_s)
                await self.finish_license(
                    lic, f"expired after {self.config.license_idle_timeout_s:g} s without activity",
                    tell_chat=True)

    async def drop_chat_sockets(self) -> int:
        """Close every client's chat socket from the server side (as a restarting server or a
        load balancer would); licenses stay live. Returns how many were closed."""
        dropped = 0
        for peer in list(self.chat_peers):
            ws = getattr(peer, "ws", None)
            if isinstance(ws, web.WebSocketResponse) and not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.close(code=WSCloseCode.SERVICE_RESTART, message=b"server restart")
                dropped += 1
        return dropped

    @property
    def chat_stalled(self) -> bool:
        """New chat sockets are accepted and then never answered (chat_ws._stalled_socket)."""
        return self._unstalled is not None and not self._unstalled.is_set()

    def set_chat_stalled(self, stalled: bool) -> None:
        if stalled and not self.chat_stalled:
            self._unstalled = asyncio.Event()
        elif not stalled and self._unstalled is not None:
            self._unstalled.set()
            self._unstalled = None

    async def wait_unstalled_or_closed(self, ws: web.WebSocketResponse) -> None:
        """Hold a stalled socket without reading it (not reading is the fault) until stall mode
        is switched off, then close it."""
        if self._unstalled is not None:
            await self._unstalled.wait()
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.SERVICE_RESTART, message=b"stall over")

    async def close_media(self) -> None:
        """Stop every stream page's WebRTC peer (before the sockets go, so nothing lingers)."""
        for peers in list(self.stream_media.values()):
            for media in list(peers):
                await media.close()

    async def close_sockets(self) -> None:
        """Close every WebSocket peer (chat and stream pages) so shutdown is quick."""
        for ws in list(self.sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down")


STATE_KEY = web.AppKey("ravatar_simulator_state", SimulatorState)
