"""The journal writer's thread on a SQLite file: whole transactions in one thread, checkpoints in another."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.database import thread_engine
from gateway.store.worker import Worker

T = TypeVar("T")
log = logging.getLogger(__name__)


class WriterThread:
    """Runs transactions in a thread of its own on one connection kept open (a pool checkout and reset per
    commit cost more than a small transaction), and leaves WAL checkpoints to a second thread.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit then copies the
    WAL into the database and syncs it, a stall of several times a commit on the writer's path every thousand
    pages. Here the engine's connections never checkpoint by themselves (`thread_engine`); once per
    CHECKPOINT_INTERVAL after writes, a PASSIVE checkpoint (which never blocks the writer) runs on the other thread.
    """

    CHECKPOINT_INTERVAL = 1.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = Worker("journal-writer")
        self._checkpoints = Worker("journal-checkpoint")
        self._connection: Connection | None = None
        self._written = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> WriterThread | None:
        """None where no thread is wanted (see `thread_engine`)."""
        sync = thread_engine(engine)
        return cls(sync) if sync is not None else None

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        result = await self._writer.call(functools.partial(self._transaction, work))
        self._written = True
        if self._checkpointer is None:
            self._checkpointer = asyncio.create_task(self._checkpoint_while_written(), name="journal-checkpoint")
        return result

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
        await self._writer.call(self._close_connection)
        await self._checkpoints.call(self.engine.dispose)
        self._writer.stop()
        self._checkpoints.stop()

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        if self._connection is None:
            self._connection = self.engine.connect()
        with self._connection.begin():
            return work(self._connection)

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _checkpoint_while_written(self) -> None:
        try:
            while self._written:
                self._written = False
                await asyncio.sleep(self.CHECKPOINT_INTERVAL)
                try:
                    await self._checkpoints.call(self._checkpoint)
                except Exception as error:  # the WAL just grows until the next one: nothing is lost
                    log.warning("journal checkpoint failed: %s", error)
        finally:
            self._checkpointer = None

    def _checkpoint(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
