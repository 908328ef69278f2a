"""Everything one running simulator knows, shared by its REST and chat handlers and its stream
instances (it is their owner: they report players, changes and microphone turns to it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSCloseCode, web

from ravatar_live.simulator import turns
from ravatar_live.simulator.auth import TokenAuthority
from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.faults import FaultBook
from ravatar_live.simulator.history import ChatHistory
from ravatar_live.simulator.licenses import License, LicensePool
from ravatar_live.simulator.pixel_streaming.registry import InstanceRegistry
from ravatar_live.simulator.transcriber import Transcriber
from ravatar_live.simulator.utterance import Utterance

log = logging.getLogger(__name__)


class ChatPeer(Protocol):
    """What the state needs from an open chat connection."""

    user_id: str

    def notify(self, text: str) -> None:
        """Queue a system notice for the client."""

    def send_reply(self, message: dict[str, Any]) -> None:
        """Queue a reply (it goes out after the configured reply delay)."""


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
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    #: Hostile frames sent on chat sockets so far (hostile mode).
    hostile_sent: int = 0
    #: The Pixel Streaming instance of every live license.
    instances: InstanceRegistry = field(init=False)
    _changed: asyncio.Event | None = None
    _unstalled: asyncio.Event | None = None
    # Per license: the number of the latest user turn (a reply to an older one is not spoken),
    # and the turn the stream microphone's utterance in progress opened.
    _turns: dict[str, int] = field(default_factory=dict)
    _mic_turns: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.instances = InstanceRegistry(self.config, self)

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

    # --- the avatar's activity and turns ----------------------------------------------------
    def publish(self, license_id: str, event: dict[str, object]) -> None:
        """Tell the license's stream instance what the avatar does ("listening", "thinking",
        "speaking" with `text` and `duration_s`)."""
        self.instances.publish(license_id, event)

    def begin_turn(self, license_id: str, activity: str) -> int:
        """A new user turn on a live license: the avatar stops talking at once (barge-in) and
        shows `activity` ("listening" or "thinking"). Returns the turn's number."""
        turn = self._turns.get(license_id, 0) + 1
        self._turns[license_id] = turn
        self.publish(license_id, {"event": activity})
        return turn

    def is_current_turn(self, license_id: str, turn: int) -> bool:
        """Whether `turn` is still the license's latest user turn."""
        return self._turns.get(license_id, 0) == turn

    def turn_heard(self, license_id: str, turn: int) -> None:
        """The user finished saying `turn`: the avatar thinks about it, unless a newer turn has
        begun meanwhile (its reply must not be cut off by the end of an older one)."""
        if self.is_current_turn(license_id, turn):
            self.publish(license_id, {"event": "thinking"})

    def speak(self, license_id: str, answer: str, turn: int) -> None:
        """Have the avatar say `answer` when its reply goes out (after the reply delay), unless
        a newer turn has begun by then."""
        self.spawn(self._speak(license_id, answer, turn))

    async def _speak(self, license_id: str, answer: str, turn: int) -> None:
        if self.config.reply_delay_s > 0:
            await asyncio.sleep(self.config.reply_delay_s)
        if not self.is_current_turn(license_id, turn) or self.licenses.get(license_id) is None:
            return
        self.publish(license_id, {"event": "speaking", "text": answer,
                                  "duration_s": turns.speaking_seconds(answer)})

    # --- what the stream instances report (InstanceOwner) ------------------------------------
    def stream_changed(self) -> None:
        self._signal_change()

    def someone_waits(self) -> bool:
        return self._changed is not None

    def players_changed(self, license_id: str, delta: int) -> None:
        self.licenses.watch(license_id, delta)
        self._signal_change()

    def mic_speech_started(self, license_id: str) -> None:
        if self.licenses.touch(license_id):
            self._mic_turns[license_id] = self.begin_turn(license_id, "listening")

    def mic_utterance(self, license_id: str, pcm: bytes) -> None:
        if self.licenses.get(license_id) is None:
            return
        turn = self._mic_turns.pop(license_id, None) or self.begin_turn(license_id, "thinking")
        self.spawn(turns.answer_stream_mic(self, license_id, pcm, turn))

    # --- licenses ----------------------------------------------------------------------------
    async def finish_license(self, lic: License, reason: str, *, tell_chat: bool) -> None:
        """Stop the license's stream instance (its players hear `streamerDisconnected`) and,
        with `tell_chat`, tell the user's chat connections that the license is gone."""
        self._turns.pop(lic.license_id, None)
        self._mic_turns.pop(lic.license_id, None)
        await self.instances.stop(lic.license_id)
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

    async def close_instances(self) -> None:
        """Stop every stream instance (before the sockets go, so nothing lingers)."""
        await self.instances.stop_all()

    async def close_sockets(self) -> None:
        """Close every chat socket so shutdown is quick."""
        for ws in list(self.sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down")


STATE_KEY = web.AppKey("ravatar_simulator_state", SimulatorState)
