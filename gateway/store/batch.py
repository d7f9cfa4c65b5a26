"""Group commit: writes queued while one transaction commits share the next one."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import JournalError
from gateway.store.sqlite_writer import SqliteWriter

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")
# Writes are synchronous functions of a connection: on SQLite they run on the event loop or in the writer's thread
# (see SqliteWriter), on PostgreSQL through `AsyncConnection.run_sync`.
Operation = Callable[[Connection], T]


@dataclass(frozen=True, eq=False)
class Bulk(Generic[P, T]):
    """A write that many callers make with different parameters: the parameters of every caller in one batch go
    to a single `execute` (an executemany, or one multi-row INSERT), which returns one result per parameter set
    in their order. One statement for N rows instead of N: no per-row statement building, one round trip."""

    name: str
    execute: Callable[[Connection, list[P]], Sequence[T]]
    # Bookkeeping nobody waits on before acting (a delivery mark): it does not start a transaction of its own at
    # once, but waits up to BatchWriter.LAZY_DELAY for other writes to share one, leaving the writer free for them.
    lazy: bool = False
    # Bookkeeping on rows already committed (outcomes, marks): it goes into the next transaction ahead of a backlog
    # of other writes, since what a crash repeats is what happened and is not yet written down.
    ahead: bool = False


class _Many(list[Any]):
    """The parameter sets of one caller that wants one answer (a list) for all of them."""


_Item = tuple["Operation[Any] | Bulk[Any, Any]", Any, "asyncio.Future[Any]"]


class BatchWriter:
    """Runs operations in as few transactions as load allows; each caller resumes once its write committed.

    SQLAlchemy has no group commit of its own; without one every message would pay a commit (an fsync).
    A drain task runs while there is work: it takes everything queued (up to `max_batch`) into one
    transaction, and whatever arrives during that commit goes into the next one.
    """

    # Short: a mark not yet committed is a message a crash delivers again (about 25 at a full IRC->XMPP flood).
    LAZY_DELAY = 0.005
    LOG_EVERY = 5.0  # seconds between two log lines of the same failure

    # A transaction of many rows keeps the next one waiting: the outcome of an IRC line sent meanwhile is not written
    # down until both commit, and a crash sends that line again. 128 writes (about 30 ms at full load on SQLite)
    # still share a commit among many messages.
    MAX_BATCH = 128
    # At most this many writes make a small transaction, which runs on the event loop (see SqliteWriter) unless the
    # writer has been busy for LOAD_AFTER seconds without a pause: that is load, and its transactions go to the
    # writer's thread, so that the loop reads on while they commit and a backlog becomes one batch. On the loop,
    # what waited in the socket was not read during a commit, and batches stayed small.
    SMALL = 16
    LOAD_AFTER = 0.005

    def __init__(self, engine: AsyncEngine, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._sqlite = SqliteWriter.for_engine(engine)
        self._max_batch = max_batch
        self._queue: list[_Item] = []
        self._task: asyncio.Task[None] | None = None
        self._lazy_start: asyncio.TimerHandle | None = None
        self._closed = False
        self.failure: str | None = None  # why the last transaction failed; None once one commits again
        self._logged: tuple[str, float] | None = None  # the failure last logged, and when
        self._unlogged = 0  # failures of that kind since

    @property
    def engine(self) -> Engine:
        """The engine the writes commit on (for watching its events)."""
        return self._sqlite.engine if self._sqlite is not None else self._engine.sync_engine

    async def run(self, operation: Operation[T]) -> T:
        result: T = await self._enqueue(operation, None)
        return result

    def run_bulk(self, bulk: Bulk[P, T], params: P) -> asyncio.Future[T]:
        """Queue one caller's part of a bulk write; the future resolves once it committed."""
        return self._enqueue(bulk, params)

    def run_bulk_many(self, bulk: Bulk[P, T], params: list[P]) -> asyncio.Future[list[T]]:
        """Queue many parameter sets of one caller at once (one future for all: cheaper than one each)."""
        return self._enqueue(bulk, _Many(params))

    def _enqueue(self, operation: Operation[Any] | Bulk[Any, Any], params: Any) -> asyncio.Future[Any]:
        if self._closed:
            raise RuntimeError("the journal is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((operation, params, future))
        if self._task is None:
            if not (isinstance(operation, Bulk) and operation.lazy):
                self._start()
            elif self._lazy_start is None:
                self._lazy_start = asyncio.get_running_loop().call_later(self.LAZY_DELAY, self._start)
        return future

    def _start(self) -> None:
        if self._lazy_start is not None:
            self._lazy_start.cancel()
            self._lazy_start = None
        if self._task is None and self._queue:
            self._task = asyncio.create_task(self._drain(), name="journal-writer")

    async def close(self) -> None:
        """Commit what is queued, then refuse new writes."""
        self._closed = True
        self._start()
        if self._task is not None:
            await asyncio.shield(self._task)
        if self._sqlite is not None:
            await self._sqlite.close()

    async def _drain(self) -> None:
        batch: list[_Item] = []
        loop = asyncio.get_running_loop()
        busy_since: float | None = None  # when the first transaction of this drain began: the writer was idle
        try:
            while self._queue:
                batch = self._take()
                now = loop.time()
                busy_since = now if busy_since is None else busy_since
                small = len(batch) <= self.SMALL and now - busy_since <= self.LOAD_AFTER
                await self._commit(batch, small)
                batch = []
                # A small commit on SQLite ran on the loop and let nothing else run: its callers act (send what they
                # journaled, queue their bookkeeping) before the next batch, or a backlog would all be journaled
                # before any of it is sent, and all of it sent before its bookkeeping (what a crash repeats).
                await asyncio.sleep(0)
                if self._only_lazy():  # what they queued waits for company, as if the writer had been idle
                    self._lazy_start = loop.call_later(self.LAZY_DELAY, self._start)
                    return
        finally:
            # Normally nothing is left but bookkeeping waiting for company; if this task was cancelled, fail the
            # callers instead of leaving them waiting forever (their writes may or may not have committed).
            self._task = None
            if self._lazy_start is None:
                left, self._queue = batch + self._queue, []
                for _, _, future in left:
                    if not future.done():
                        future.set_exception(RuntimeError("the journal writer stopped before this write committed"))

    def _only_lazy(self) -> bool:
        """Only writes that wait for company are queued (none at all, or the writer is closing: False)."""
        return (bool(self._queue) and not self._closed
                and all(isinstance(operation, Bulk) and operation.lazy for operation, _, _ in self._queue))

    def _take(self) -> list[_Item]:
        """The next transaction's writes: everything queued, or past `max_batch` the bookkeeping first (see
        Bulk.ahead), then the rest in order. Bookkeeping refers to committed rows only, so it depends on no write
        still queued, and writes of one kind keep their order."""
        queue, limit = self._queue, self._max_batch
        if len(queue) > limit:
            ahead = [item for item in queue if isinstance(item[0], Bulk) and item[0].ahead]
            if ahead:
                queue = ahead + [item for item in queue if not (isinstance(item[0], Bulk) and item[0].ahead)]
                limit = max(limit, len(ahead))
        batch, self._queue = queue[:limit], queue[limit:]
        return batch

    async def _commit(self, batch: list[_Item], small: bool) -> None:
        try:
            results = await self._transaction(batch, small)
        except Exception as exc:
            if len(batch) > 1:
                # One bad write must not fail the others: give each its own transaction.
                for item in batch:
                    await self._commit([item], small)
                return
            _, _, future = batch[0]
            self._failed(exc)
            if not future.done():
                error = JournalError(self.failure)
                error.__cause__ = exc
                future.set_exception(error)
            return
        if self.failure is not None:
            log.warning("journal writes succeed again (after: %s)", self.failure)
            self.failure, self._logged, self._unlogged = None, None, 0
        for (_, _, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    def _failed(self, error: Exception) -> None:
        """Record why writes fail; log it once per kind every LOG_EVERY seconds, with how often it happened since."""
        self.failure = _reason(error)
        now = time.monotonic()
        if self._logged is not None and self._logged[0] == self.failure and now - self._logged[1] < self.LOG_EVERY:
            self._unlogged += 1
            return
        again = f" ({self._unlogged} more time(s) since the last report)" if self._unlogged else ""
        log.error("journal write failed: %s%s", self.failure, again)
        self._logged, self._unlogged = (self.failure, now), 0

    async def _transaction(self, batch: list[_Item], small: bool) -> list[Any]:
        if self._sqlite is not None:
            return await self._sqlite.transaction(functools.partial(_execute, batch=batch), small)
        async with self._engine.begin() as connection:
            return await connection.run_sync(_execute, batch)


def _execute(connection: Connection, batch: list[_Item]) -> list[Any]:
    """Run a batch: each plain operation on its own, each kind of bulk write once for all its callers.

    Bulk writes run where their kind first appears in the batch. That reordering is safe: the callers in one
    batch were all waiting at the same time, so none of their writes was made from another's result.
    """
    results: list[Any] = [None] * len(batch)
    bulks: dict[Bulk[Any, Any], list[int]] = {}
    steps: list[Bulk[Any, Any] | int] = []
    for index, (operation, _, _) in enumerate(batch):
        if not isinstance(operation, Bulk):
            steps.append(index)
        elif operation in bulks:
            bulks[operation].append(index)
        else:
            bulks[operation] = [index]
            steps.append(operation)
    for step in steps:
        if isinstance(step, Bulk):
            indices = bulks[step]
            params: list[Any] = []
            for i in indices:
                part = batch[i][1]
                params.extend(part) if isinstance(part, _Many) else params.append(part)
            answers = iter(step.execute(connection, params))
            for index in indices:
                part = batch[index][1]
                results[index] = [next(answers) for _ in part] if isinstance(part, _Many) else next(answers)
        else:
            operation = batch[step][0]
            assert not isinstance(operation, Bulk)
            results[step] = operation(connection)
    return results


def _reason(error: Exception) -> str:
    """The driver's own words, without SQLAlchemy's statement and parameters (long, and they hold messages)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return f"{type(original).__name__}: {text}"[:300]
