"""The journal's writes on a SQLite file: a small transaction on the event loop, a large one (or one under load, or
any while another process holds the write lock) in the writer's thread; WAL checkpoints in a thread of their own."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
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

    With WAL and synchronous=NORMAL a commit appends to the WAL and syncs nothing: a transaction is CPU work only.
    - A small one (a few writes, the writer not busy for long: traffic is light) runs on the event loop itself. In a
      thread, the sqlite3 module lets go of the GIL around each step, and the thread takes it back only when the
      busy loop sleeps: each step waited for the loop to fall idle, and a message for its commit.
    - Any other (a large one, or one after the writer has been busy for a while: load; see BatchWriter) runs in the
      writer's thread, where SQLite's own work runs beside the loop's and the loop reads on meanwhile. With every
      transaction on the loop, one `make bench` comparison (medians of 3 rounds) gave the IRC rows 0.81-1.00x the
      throughput of all in the thread; with each small one on the loop, batches stayed small under a backlog
      (what waited in the socket was not read during the commit), and 1,500 room messages a second after a
      full-load run queued up for seconds.
    Both use the same connection, so neither finds its page cache stale after the other wrote; a lock keeps them
    apart (the caller waits for each transaction, but one whose caller was cancelled may still run in the thread).
    On the loop it never waits for the write lock: when another process holds it (the CLI, a backup) the transaction
    gives up at once, rolled back, and runs again in the thread, which waits for the lock.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit then copies the
    WAL into the database and syncs it, a stall of several times a commit on the writer's path every thousand
    pages. Here the engine's connections never checkpoint by themselves (`sqlite_file_engine`); once per
    CHECKPOINT_INTERVAL after writes, a PASSIVE checkpoint (which never blocks the writer) runs on the other thread,
    and past RESTART_FRAMES the writer's thread finishes it (`_finish_checkpoint`).
    """

    CHECKPOINT_INTERVAL = 1.0
    RESTART_FRAMES = 4096  # pages in the WAL (16 MiB of 4 KiB pages) past which it is started over
    LOCK_WAIT_MS = 30_000  # in the writer's thread, as the engine's other connections

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = Worker("journal-writer")
        self._checkpoints = Worker("journal-checkpoint")
        self._connection: Connection | None = None
        # Held while a transaction uses the connection: one whose caller was cancelled may still run in the thread.
        self._in_use = threading.Lock()
        self._waits_for_lock = True  # the connection's busy_timeout: LOCK_WAIT_MS, or 0
        self._written = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteWriter | None:
        """None for another database, or SQLite in memory (see `sqlite_file_engine`)."""
        sync = sqlite_file_engine(engine)
        return cls(sync) if sync is not None else None

    async def transaction(self, work: Callable[[Connection], T], small: bool = True) -> T:
        """Run `work` in one transaction: on the loop if `small` and the write lock is free, else in the thread."""
        if small and self._in_use.acquire(blocking=False):
            try:
                return self._wrote(self._transaction(work, wait_for_lock=False))
            except OperationalError as error:
                if not _locked(error):
                    raise
            finally:
                self._in_use.release()
        return self._wrote(await self._writer.call(functools.partial(self._in_thread, work)))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
        await self._writer.call(self._close_connection)  # after what the thread still runs
        await self._checkpoints.call(self.engine.dispose)
        self._writer.stop()
        self._checkpoints.stop()

    def _in_thread(self, work: Callable[[Connection], T]) -> T:
        with self._in_use:
            return self._transaction(work, wait_for_lock=True)

    def _close_connection(self) -> None:
        with self._in_use:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _transaction(self, work: Callable[[Connection], T], wait_for_lock: bool) -> T:
        if self._connection is None:
            self._connection = self.engine.connect()
        if wait_for_lock != self._waits_for_lock:
            driver = self._connection.connection.driver_connection
            assert driver is not None
            # On the driver's connection: no transaction of SQLAlchemy's around it.
            driver.execute(f"PRAGMA busy_timeout={self.LOCK_WAIT_MS if wait_for_lock else 0}")
            self._waits_for_lock = wait_for_lock
        with self._connection.begin():
            return work(self._connection)

    def _wrote(self, result: T) -> T:
        self._written = True
        if self._checkpointer is None:
            self._checkpointer = asyncio.create_task(self._checkpoint_while_written(), name="journal-checkpoint")
        return result

    async def _checkpoint_while_written(self) -> None:
        try:
            while self._written:
                self._written = False
                await asyncio.sleep(self.CHECKPOINT_INTERVAL)
                try:
                    if await self._checkpoints.call(self._checkpoint) > self.RESTART_FRAMES:
                        await self._writer.call(self._finish_checkpoint)
                except Exception as error:  # the WAL just grows until the next one: nothing is lost
                    log.warning("journal checkpoint failed: %s", error)
        finally:
            self._checkpointer = None

    def _checkpoint(self) -> int:
        """A passive checkpoint beside the writes; the pages in the WAL."""
        with self.engine.connect() as connection:
            _, frames, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            return int(frames)

    def _finish_checkpoint(self) -> None:
        """Copy the rest of the WAL while no transaction appends to it, so that the next one starts it over.

        SQLite starts a WAL over only once all of it was copied, and under steady writes the checkpoint beside them
        never catches up: the WAL grew without bound (600 MB in 20 s at full load). This connection is the
        journal's only writer: held here, it appends nothing while the checkpoint copies what was appended since
        the passive one began."""
        with self._in_use:
            if self._connection is not None:
                driver = self._connection.connection.driver_connection
                assert driver is not None
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _locked(error: OperationalError) -> bool:
    """SQLITE_BUSY, in any of its extended forms: the write lock is another connection's."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
