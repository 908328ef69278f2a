"""Background tasks that are neither lost nor silently failing.

asyncio keeps only weak references to tasks: a task nobody holds can be garbage-collected
mid-flight. `TaskSet` holds each task until it finishes and reports a failure nobody awaited
(logged, or handed to `on_error`), so every fire-and-forget job in the client goes through one
place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)

#: on_error(exception): told instead of the log when a task fails (not when it is cancelled).
ErrorHandler = Callable[[BaseException], None]


class TaskSet:
    """Tasks spawned on the running loop, kept until done. `name` appears in failure logs."""

    def __init__(self, name: str, *, on_error: ErrorHandler | None = None) -> None:
        self.name = name
        self._on_error = on_error
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn[T](self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coro` in the background on the running loop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        if self._on_error is not None:
            self._on_error(error)
        else:
            logger.error("a background task of the %s failed", self.name, exc_info=error)

    def cancel_all(self) -> None:
        """Cancel every task still running."""
        for task in list(self._tasks):
            task.cancel()

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until every task running now has finished, at most `timeout_s`; True if they
        all did. Waiting is not awaiting: their failures are still reported as above."""
        running = self._tasks - {asyncio.current_task()}  # a task cannot wait for itself
        if not running:
            return True
        _done, pending = await asyncio.wait(running, timeout=timeout_s)
        return not pending

    async def cancel_and_wait(self) -> None:
        """Cancel every other task and wait until they have all finished (for a clean close).
        Cancelled while waiting, it still waits for them before it lets the cancel through."""
        others = self._tasks - {asyncio.current_task()}
        for task in others:
            task.cancel()
        if not others:
            return
        try:
            await asyncio.wait(others)
        except asyncio.CancelledError:
            await asyncio.wait(others)  # they were told to stop and will: none outlives the close
            raise

    def __len__(self) -> int:
        return len(self._tasks)
