"""Run a simulator on its own asyncio loop in a background thread.

For callers with no asyncio loop of their own (or one they must not share): GUI tests that drive
QtWebEngine with plain Qt events, scripts, benchmarks. The app's demo mode should instead call
`start_simulator` inside its qasync loop.

    with SimulatorThread(SimulatorConfig()) as sim:
        urllib.request.urlopen(sim.base_url + "/admin/stats")
        sim.call(lambda s: s.inject_fault("/connection", status=503))
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator

T = TypeVar("T")

START_TIMEOUT_S = 20.0


class SimulatorThread:
    """A simulator serving from a daemon thread; `start()`/`stop()` or use it as a context."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self._config = config or SimulatorConfig()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sim: RunningSimulator | None = None

    @property
    def base_url(self) -> str:
        """REST base URL."""
        return self._running().base_url

    @property
    def ws_url(self) -> str:
        """Chat WebSocket URL."""
        return self._running().ws_url

    def _running(self) -> RunningSimulator:
        if self._sim is None:
            raise RuntimeError("the simulator thread is not running; call start() first")
        return self._sim

    def start(self) -> SimulatorThread:
        """Start the loop thread and the simulator; returns once it is serving."""
        if self._thread is not None:
            return self
        ready: concurrent.futures.Future[RunningSimulator] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)

            async def boot() -> None:
                try:
                    ready.set_result(await start_simulator(self._config))
                except BaseException as exc:  # hand the failure to the starting thread
                    ready.set_exception(exc)

            loop.run_until_complete(boot())
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="ravatar-simulator", daemon=True)
        self._thread.start()
        try:
            self._sim = ready.result(timeout=START_TIMEOUT_S)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=5)
            self._thread = None
            raise
        return self

    def call(self, fn: Callable[[RunningSimulator], T]) -> T:
        """Run `fn(sim)` on the simulator's loop and return its result (thread-safe)."""
        async def invoke() -> T:
            return fn(self._running())

        return self.run(invoke())

    def run(self, coro: Awaitable[T], timeout_s: float = 30.0) -> T:
        """Run a coroutine on the simulator's loop, e.g. `run(sim.wait_for_utterances(1))`."""
        if self._loop is None:
            raise RuntimeError("the simulator thread is not running; call start() first")

        async def wrapper() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout_s)

    @property
    def sim(self) -> RunningSimulator:
        """The simulator object; only touch it through `call()`/`run()` from other threads."""
        return self._running()

    def stop(self) -> None:
        """Close the simulator and end the thread. Safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        if self._sim is not None:
            self.run(self._sim.close())
            self._sim = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
