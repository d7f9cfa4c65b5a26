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


class BatchWriter:
    """Runs operations in as few transactions as load allows; each caller resumes once its write committed.

    SQLAlchemy has no group commit of its own; without one every message would pay a commit (an fsync).
    """

    def __init__(self, engine: AsyncEngine, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: list[tuple[Operation[Any], asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def run(self, operation: Operation[T]) -> T:
        if self._closed:
            raise RuntimeError("the journal is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((operation, future))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="journal-writer")
        return await future

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._commit(batch)
            if self._closed:
                return

    async def _commit(self, batch: list[tuple[Operation[Any], asyncio.Future[Any]]]) -> None:
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
