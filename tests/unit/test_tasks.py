"""TaskSet, the one place fire-and-forget tasks go: held until done, failures reported, closed
cleanly."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from ravatar_live.tasks import TaskSet


async def test_a_spawned_task_is_held_until_it_finishes() -> None:
    tasks = TaskSet("test")
    release = asyncio.Event()
    finished = asyncio.Event()

    async def job() -> None:
        await release.wait()
        finished.set()

    tasks.spawn(job())  # no reference kept here on purpose
    gc.collect()  # asyncio alone holds tasks weakly: without the set this one could vanish
    assert len(tasks) == 1
    release.set()
    await finished.wait()
    await asyncio.sleep(0)  # the done-callback runs on the next loop turn
    assert len(tasks) == 0


async def test_a_failure_nobody_awaited_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSet("test jobs")

    async def broken() -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="ravatar_live.tasks"):
        task = tasks.spawn(broken())
        assert await tasks.wait(5.0)
        await asyncio.sleep(0)
    assert task.done() and isinstance(task.exception(), ValueError)
    assert "test jobs failed" in caplog.text and "boom" in caplog.text


async def test_failures_go_to_on_error_and_cancellations_go_nowhere() -> None:
    errors: list[BaseException] = []
    tasks = TaskSet("test", on_error=errors.append)

    async def broken() -> None:
        raise KeyError("lost")

    async def forever() -> None:
        await asyncio.Event().wait()

    tasks.spawn(broken())
    waiting = tasks.spawn(forever())
    await asyncio.sleep(0)
    await tasks.cancel_and_wait()
    assert waiting.cancelled()
    assert [type(e) for e in errors] == [KeyError]
    assert len(tasks) == 0


async def test_wait_is_bounded_and_says_whether_all_finished() -> None:
    tasks = TaskSet("test")
    assert await tasks.wait(0.01)  # nothing to wait for
    blocker = asyncio.Event()
    tasks.spawn(blocker.wait())
    assert not await tasks.wait(0.01)
    blocker.set()
    assert await tasks.wait(5.0)


async def test_a_task_can_close_its_own_set_without_waiting_for_itself() -> None:
    tasks = TaskSet("test")
    other_cancelled = asyncio.Event()

    async def other() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            other_cancelled.set()
            raise

    async def closer() -> str:
        await tasks.cancel_and_wait()
        return "closed"

    tasks.spawn(other())
    await asyncio.sleep(0)
    closing = tasks.spawn(closer())
    assert await asyncio.wait_for(closing, 5.0) == "closed"
    assert other_cancelled.is_set()


async def test_a_close_that_is_cancelled_still_outwaits_its_tasks() -> None:
    tasks = TaskSet("test")
    release = asyncio.Event()
    stopped: list[str] = []

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()  # its own clean-up takes a while
            stopped.append("clean")
            raise

    tasks.spawn(slow_to_stop())
    await asyncio.sleep(0)
    closer = asyncio.get_running_loop().create_task(tasks.cancel_and_wait())
    await asyncio.sleep(0)  # the closer has asked the task to stop and waits
    closer.cancel()  # e.g. the whole player is being stopped meanwhile
    for _ in range(3):
        await asyncio.sleep(0)
    assert not closer.done(), "the close must not give up on a task that is still stopping"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await closer
    assert stopped == ["clean"] and len(tasks) == 0
