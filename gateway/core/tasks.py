"""The one home for fire-and-forget tasks: `TaskSet`.

asyncio keeps only a weak reference to a running task, so work nobody awaits must be held somewhere until it ends,
its failure must be seen (not left to a "never retrieved" line at garbage collection, or to nobody), and its
owner's stop must be able to wait for it or cancel it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class TaskSet:
    """Tasks one owner started and does not await. A task's unexpected exception is logged once, on `log`."""

    __slots__ = ("_log", "_tasks")

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Future[Any]]:
        return iter(list(self._tasks))

    def spawn(self, work: Awaitable[T], name: str | None = None) -> asyncio.Future[T]:
        """Run `work` (a coroutine, or an awaitable already scheduled) and keep it until it is done."""
        task = asyncio.ensure_future(work)
        if name is not None and isinstance(task, asyncio.Task):
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()  # retrieving it here also keeps asyncio from reporting it again
        if error is not None:
            name = task.get_name() if isinstance(task, asyncio.Task) else "a future"
            self._log.error("%s failed: %s", name, error, exc_info=error)

    async def wait(self, timeout: float | None = None) -> bool:
        """Until every task is done, those started meanwhile too, or `timeout` s have passed: True if none is left."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(list(self._tasks), timeout=left)
        return True

    def cancel(self) -> None:
        """Cancel every task and forget it (its failure, if it had one first, is still logged)."""
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()

    async def close(self, grace: float = 0.0) -> int:
        """Let the tasks finish for up to `grace` s, then cancel the rest and wait until they have ended.

        Returns how many had to be cancelled.
        """
        if grace > 0:
            await self.wait(grace)
        tasks = list(self._tasks)
        self.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)
