"""The one set of fire-and-forget tasks: held until done, failures logged once, waited for or cancelled at stop."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from gateway.core.tasks import TaskSet

log = logging.getLogger("tests.tasks")


async def test_a_spawned_task_is_held_until_it_is_done() -> None:
    tasks = TaskSet(log)
    release = asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        await release.wait()
        done.append("ran")

    tasks.spawn(work())
    gc.collect()  # asyncio alone holds a task weakly: the set must keep it
    assert len(tasks) == 1 and tasks
    release.set()
    assert await tasks.wait()
    assert done == ["ran"] and len(tasks) == 0 and not tasks


async def test_a_failure_is_logged_once_with_its_task_name(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSet(log)

    async def boom() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        tasks.spawn(boom(), name="journal-write")
        await tasks.wait()
        await asyncio.sleep(0)
        gc.collect()  # an unretrieved exception would be reported again here, by asyncio
    failures = [r for r in caplog.records if "boom" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].name == "tests.tasks" and "journal-write" in failures[0].getMessage()
    assert failures[0].exc_info is not None


async def test_a_cancelled_task_is_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSet(log)
    with caplog.at_level(logging.ERROR):
        tasks.spawn(asyncio.sleep(10))
        assert await tasks.close() == 1
    assert not caplog.records


async def test_wait_includes_tasks_started_meanwhile_and_gives_up_after_its_timeout() -> None:
    tasks = TaskSet(log)
    order: list[str] = []

    async def second() -> None:
        order.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        tasks.spawn(second())
        order.append("first")

    tasks.spawn(first())
    assert await tasks.wait()
    assert order == ["first", "second"]
    stuck = tasks.spawn(asyncio.sleep(10))
    assert not await tasks.wait(timeout=0.01)
    assert not stuck.done()
    await tasks.close()


async def test_close_lets_tasks_finish_within_the_grace_period_then_cancels_the_rest() -> None:
    tasks = TaskSet(log)
    quick = tasks.spawn(asyncio.sleep(0.01))
    slow = tasks.spawn(asyncio.sleep(10))
    assert await tasks.close(grace=0.2) == 1
    assert quick.done() and not quick.cancelled()
    assert slow.cancelled() and not tasks


async def test_cancel_cancels_and_forgets_at_once() -> None:
    tasks = TaskSet(log)
    task = tasks.spawn(asyncio.sleep(10))
    tasks.cancel()
    assert len(tasks) == 0  # a cap on running tasks counts it no more
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_an_awaitable_already_scheduled_is_kept_as_it_is() -> None:
    tasks = TaskSet(log)
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    assert tasks.spawn(future) is future
    future.set_result(3)
    assert await tasks.wait() and list(tasks) == []
