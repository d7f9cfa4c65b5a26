"""Group commit: writes queued while one transaction commits share the next one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[T]]
_Item = tuple[Operation[Any], "asyncio.Future[Any]"]


class BatchWriter:
    """Runs operations in as few transactions as load allows; each caller resumes once its write committed.

    SQLAlchemy has no group commit of its own; without one every message would pay a commit (an fsync).
    A drain task runs while there is work: it takes everything queued (up to `max_batch`) into one
    transaction, and whatever arrives during that commit goes into the next one.
    """

    def __init__(self, engine: AsyncEngine, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: list[_Item] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def run(self, operation: Operation[T]) -> T:
        if self._closed:
            raise RuntimeError("the journal is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((operation, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="journal-writer")
        return await future

    async def close(self) -> None:
        """Commit what is queued, then refuse new writes."""
        self._closed = True
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        batch: list[_Item] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._commit(batch)
            batch = []
        finally:
            # Normally nothing is left; if this task was cancelled, fail the callers instead of leaving
            # them waiting forever (their writes may or may not have committed).
            self._task = None
            left, self._queue = batch + self._queue, []
            for _, future in left:
                if not future.done():
                    future.set_exception(RuntimeError("the journal writer stopped before this write committed"))

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            async with self._engine.begin() as connection:
                results = [await operation(connection) for operation, _ in batch]
        except Exception as exc:
            if len(batch) > 1:
                # One bad write must not fail the others: give each its own transaction.
                for item in batch:
                    await self._commit([item])
                return
            _, future = batch[0]
            log.error("journal write failed: %s", exc)
            if not future.done():
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
