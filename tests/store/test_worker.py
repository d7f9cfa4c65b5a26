"""The store's thread for blocking calls (gateway/store/worker.py)."""

from __future__ import annotations

import asyncio
import functools
import threading
import time

import pytest

from gateway.store.worker import Worker


async def test_calls_run_in_one_thread_of_their_own_in_the_order_handed_over() -> None:
    worker = Worker("test-worker")
    seen: list[tuple[int, str]] = []

    def record(index: int) -> int:
        seen.append((index, threading.current_thread().name))
        return index * 2

    results = await asyncio.gather(*(worker.call(functools.partial(record, i)) for i in range(50)))
    worker.stop()
    assert results == [i * 2 for i in range(50)]
    assert seen == [(i, "test-worker") for i in range(50)]


async def test_a_failing_call_raises_to_its_caller_and_the_thread_goes_on() -> None:
    worker = Worker("test-worker")

    def broken() -> int:
        raise ValueError("no such row")

    with pytest.raises(ValueError, match="no such row"):
        await worker.call(broken)
    assert await worker.call(lambda: 3) == 3
    worker.stop()


async def test_a_cancelled_caller_does_not_stop_the_thread() -> None:
    worker = Worker("test-worker")
    slow = asyncio.ensure_future(worker.call(lambda: time.sleep(0.1)))
    await asyncio.sleep(0.01)
    slow.cancel()
    assert await worker.call(lambda: "after") == "after"  # the answer to the cancelled one was dropped quietly
    worker.stop()


async def test_after_stop_calls_are_refused_and_the_thread_ends() -> None:
    worker = Worker("test-worker")
    await worker.call(lambda: None)
    thread = next(t for t in threading.enumerate() if t.name == "test-worker")
    worker.stop()
    with pytest.raises(RuntimeError, match="test-worker is stopped"):
        await worker.call(lambda: None)
    await asyncio.to_thread(thread.join, 5)
    assert not thread.is_alive()


def test_an_answer_for_a_closed_loop_is_dropped_and_the_thread_serves_on() -> None:
    worker = Worker("test-worker")
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.2)

    async def leave_a_call_running() -> None:
        pending = asyncio.ensure_future(worker.call(slow))
        await asyncio.to_thread(started.wait, 5)
        assert not pending.done()  # asyncio.run cancels it on the way out

    asyncio.run(leave_a_call_running())  # the loop closes before the call answers

    async def call_again() -> str:
        return await worker.call(lambda: "served")

    assert asyncio.run(call_again()) == "served"
    worker.stop()
