"""The journal's writes on a SQLite file: transactions on the event loop, or in a thread when another process
holds the write lock; WAL checkpoints in a thread of their own."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.database import sqlite_file_engine
from gateway.store.worker import Worker

T = TypeVar("T")
log = logging.getLogger(__name__)


class SqliteWriter:
    """Runs each transaction on one connection kept open (a pool checkout and reset per commit cost more than a
    small transaction), and leaves WAL checkpoints to a thread.

    A transaction runs on the event loop itself. With WAL and synchronous=NORMAL a commit appends to the WAL and
    syncs nothing, so it is CPU work only, which the loop would otherwise wait for anyway: in a thread, the sqlite3
    module lets go of the GIL around every step, and the thread takes it back only when the busy loop sleeps, so
    each step of a transaction waited for the loop to fall idle. `make bench` (medians of 3 rounds, same run): p50
    latency at half rate 0.53 to 0.88 of the thread's on every IRC row, at the same throughput.
    The loop never waits for the write lock: its connection gives up at once (busy_timeout 0) when another process
    holds it (the CLI, a backup), and that transaction runs in the writer's thread instead, which waits for the lock
    as long as the engine's timeout. A transaction that gave up was rolled back, so running it again is safe.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit then copies the
    WAL into the database and syncs it, a stall of several times a commit on the writer's path every thousand
    pages. Here the engine's connections never checkpoint by themselves (`sqlite_file_engine`); once per
    CHECKPOINT_INTERVAL after writes, a PASSIVE checkpoint (which never blocks the writer) runs on the other thread.
    """

    CHECKPOINT_INTERVAL = 1.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = Worker("journal-writer")  # started only when the lock is held elsewhere
        self._checkpoints = Worker("journal-checkpoint")
        self._on_loop: Connection | None = None
        self._connection: Connection | None = None  # the writer thread's
        self._written = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteWriter | None:
        """None for another database, or SQLite in memory (see `sqlite_file_engine`)."""
        sync = sqlite_file_engine(engine)
        return cls(sync) if sync is not None else None

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        try:
            result = self._transaction_on_loop(work)
        except OperationalError as error:
            if not _locked(error):
                raise
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
        if self._on_loop is not None:
            self._on_loop.close()
        if self._connection is not None:  # the lock was held elsewhere once: the thread has a connection
            await self._writer.call(self._close_connection)
        await self._checkpoints.call(self.engine.dispose)
        self._writer.stop()
        self._checkpoints.stop()

    def _transaction_on_loop(self, work: Callable[[Connection], T]) -> T:
        if self._on_loop is None:
            connection = self.engine.connect()
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")  # no transaction of SQLAlchemy's around it
            self._on_loop = connection
        with self._on_loop.begin():
            return work(self._on_loop)

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


def _locked(error: OperationalError) -> bool:
    """SQLITE_BUSY, in any of its extended forms: the write lock is another connection's."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
