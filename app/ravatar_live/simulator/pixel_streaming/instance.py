"""One Pixel Streaming instance on its own thread with its own asyncio loop.

A real instance is another machine; here it is another thread, which also keeps video encoding
off the loop of whoever embeds the simulator (the desktop app runs it in its GUI loop in demo
mode). Nothing crosses between the two loops except through `call_soon_threadsafe` (owner ->
instance: activity events, stop; instance -> owner: the OwnerLink callbacks) and snapshots taken
under a lock (the players and the signalling log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ravatar_live.simulator.pixel_streaming.players import PlayerFacts
from ravatar_live.simulator.pixel_streaming.server import InstanceServer
from ravatar_live.simulator.pixel_streaming.spec import InstanceSpec

log = logging.getLogger(__name__)


class InstanceOwner(Protocol):
    """What an instance reports to the simulator that runs it (called on the owner's loop)."""

    def stream_changed(self) -> None:
        """Something a test may be waiting for changed."""

    def someone_waits(self) -> bool:
        """Whether anyone waits on stream changes now (read from the instance's thread)."""

    def players_changed(self, license_id: str, delta: int) -> None:
        """A player connected (+1) or left (-1)."""

    def mic_speech_started(self, license_id: str) -> None:
        """A player's microphone started an utterance."""

    def mic_utterance(self, license_id: str, pcm: bytes) -> None:
        """A player's microphone finished one (16 kHz mono s16le)."""


class OwnerLink:
    """The instance's side of the bridge: each call runs the owner's method on the owner's loop.
    Change notices are coalesced: at most one is pending at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, owner: InstanceOwner,
                 license_id: str) -> None:
        self._loop = loop
        self._owner = owner
        self._license_id = license_id
        self._change_pending = False

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the owner's loop already closed
            self._loop.call_soon_threadsafe(fn, *args)

    def changed(self) -> None:
        if not self._change_pending:
            self._change_pending = True
            self._call(self._deliver_change)

    def _deliver_change(self) -> None:
        self._change_pending = False  # before notifying: later changes post a new notice
        self._owner.stream_changed()

    def progressed(self) -> None:
        """Frequent progress (frames): only worth a notice while someone waits."""
        if self._owner.someone_waits():
            self.changed()

    def players_changed(self, delta: int) -> None:
        self._call(self._owner.players_changed, self._license_id, delta)

    def mic_speech_started(self) -> None:
        self._call(self._owner.mic_speech_started, self._license_id)

    def mic_utterance(self, pcm: bytes) -> None:
        self._call(self._owner.mic_utterance, self._license_id, pcm)


class StreamInstance:
    """The owner's handle on one instance. `await start()`, then `publish()` events, read
    `players()` / `signalling_log()` from any thread, and `await stop()`."""

    def __init__(self, spec: InstanceSpec, owner: InstanceOwner) -> None:
        self.spec = spec
        self._owner = owner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: InstanceServer | None = None
        self._stopping: asyncio.Event | None = None  # lives on the instance's loop
        self._finished: asyncio.Future[None] | None = None  # lives on the owner's loop
        self.origin = ""

    async def start(self) -> str:
        """Start the thread and serve; returns the origin once it is listening."""
        owner_loop = asyncio.get_running_loop()
        ready: asyncio.Future[str] = owner_loop.create_future()
        self._finished = owner_loop.create_future()
        thread = threading.Thread(target=self._run, args=(owner_loop, ready),
                                  name=f"stream-{self.spec.license_id}", daemon=True)
        thread.start()
        self.origin = await ready
        return self.origin

    def _run(self, owner_loop: asyncio.AbstractEventLoop, ready: asyncio.Future[str]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(owner_loop, ready))
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:
            log.exception("stream instance %s failed", self.spec.license_id)
        finally:
            loop.close()
            with contextlib.suppress(RuntimeError):  # the owner's loop already closed
                owner_loop.call_soon_threadsafe(
                    _settle, ready, RuntimeError("the stream instance ended before serving"))
                owner_loop.call_soon_threadsafe(_settle, self._finished, None)

    async def _serve(self, owner_loop: asyncio.AbstractEventLoop,
                     ready: asyncio.Future[str]) -> None:
        self._stopping = asyncio.Event()
        server = InstanceServer(self.spec, OwnerLink(owner_loop, self._owner,
                                                     self.spec.license_id))
        try:
            origin = await server.start()
        except BaseException as exc:
            await server.close()
            owner_loop.call_soon_threadsafe(_settle, ready, exc)
            return
        self._server = server
        owner_loop.call_soon_threadsafe(_settle, ready, origin)
        await self._stopping.wait()
        await server.close()

    def publish(self, event: dict[str, object]) -> None:
        """Hand an activity event to the instance (thread-safe)."""
        loop, server = self._loop, self._server
        if loop is not None and server is not None:
            with contextlib.suppress(RuntimeError):  # it is stopping: nobody to tell
                loop.call_soon_threadsafe(server.on_event, event)

    def players(self) -> list[PlayerFacts]:
        """Every connected player's facts (thread-safe)."""
        return self._server.book.describe() if self._server is not None else []

    def departed_players(self) -> list[PlayerFacts]:
        """Players that have left, as they were then (thread-safe)."""
        return self._server.book.departed() if self._server is not None else []

    def signalling_log(self) -> list[dict[str, str]]:
        """The signalling messages so far (thread-safe)."""
        return self._server.book.signalling_log() if self._server is not None else []

    async def drop_players(self) -> int:
        """Drop every player's connection, as a network failure would; how many."""
        loop, server = self._loop, self._server
        if loop is None or server is None or loop.is_closed():
            return 0
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(server.drop_players(), loop))

    async def stop(self) -> None:
        """Stop serving and wait until the thread is done. Safe to call twice."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # already finished
                loop.call_soon_threadsafe(stopping.set)
        if self._finished is not None:
            await self._finished


def _settle(future: asyncio.Future[Any] | None, outcome: object) -> None:
    """Resolve `future` with a result, or with an exception when `outcome` is one."""
    if future is None or future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
