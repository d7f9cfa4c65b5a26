"""The journal writer's thread on a SQLite file: its commits never checkpoint; a second thread does, after writes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.database import create_engine, upgrade
from gateway.store.sqlite_writer import SqliteWriter


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, Path]]:
    path = tmp_path / "journal.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    yield engine, path
    await engine.dispose()


def _insert_rows(connection: Connection, first: int) -> None:
    connection.execute(text("INSERT INTO journal (direction, transport, user_jid, peer, status, receipt_requested, "
                             "reported, body, created_at, updated_at) VALUES ('in', 'irc', :user, '#c', 'pending', "
                             "0, 1, :body, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"),
                       [{"user": f"u{i}@example.org", "body": "x" * 200} for i in range(first, first + 100)])


def _autocheckpoint(connection: Connection) -> int:
    return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


async def test_commits_leave_the_wal_to_the_checkpoint_thread(
        sqlite_file: tuple[AsyncEngine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, path = sqlite_file
    monkeypatch.setattr(SqliteWriter, "CHECKPOINT_INTERVAL", 0.2)
    writer = SqliteWriter.for_engine(engine)
    assert writer is not None
    try:
        assert await writer.transaction(_autocheckpoint) == 0  # the commit that crosses a threshold never copies
        size = path.stat().st_size
        for batch in range(3):  # about 70 pages: well under SQLite's default threshold of 1000
            await writer.transaction(lambda connection, first=batch * 100: _insert_rows(connection, first))
        assert path.stat().st_size == size  # still only in the WAL

        for _ in range(50):  # the checkpoint thread copies it into the database file
            await asyncio.sleep(0.1)
            if path.stat().st_size > size:
                break
        assert path.stat().st_size > size
    finally:
        await writer.close()


async def test_no_thread_for_an_in_memory_database() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert SqliteWriter.for_engine(engine) is None
    finally:
        await engine.dispose()


def _count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM journal")).scalar_one())


def _thread_name(connection: Connection) -> str:
    connection.execute(text("SELECT 1"))
    return threading.current_thread().name


async def test_a_small_transaction_runs_on_the_event_loop_and_a_large_one_in_the_writers_thread(
        sqlite_file: tuple[AsyncEngine, Path]) -> None:
    writer = SqliteWriter.for_engine(sqlite_file[0])
    assert writer is not None
    try:
        assert await writer.transaction(_thread_name, small=True) == threading.current_thread().name
        assert await writer.transaction(_thread_name, small=False) == "journal-writer"
        await writer.transaction(lambda connection: _insert_rows(connection, 0), small=False)
        await writer.transaction(lambda connection: _insert_rows(connection, 100), small=True)
        assert await writer.transaction(_count, small=False) == 200  # one connection: each sees the other's writes
    finally:
        await writer.close()


async def test_while_another_process_holds_the_write_lock_the_loop_goes_on_and_the_write_waits_for_it(
        sqlite_file: tuple[AsyncEngine, Path]) -> None:
    engine, path = sqlite_file
    writer = SqliteWriter.for_engine(engine)
    assert writer is not None
    holder = sqlite3.connect(path, isolation_level=None)  # as the CLI would, from a process of its own
    holder.execute("BEGIN IMMEDIATE")
    names: list[str] = []

    def insert(connection: Connection) -> None:
        names.append(threading.current_thread().name)
        _insert_rows(connection, 0)

    try:
        write = asyncio.ensure_future(writer.transaction(insert))
        ticks = 0
        while ticks < 20:  # the loop is not held while the write waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done()
        holder.execute("ROLLBACK")
        await asyncio.wait_for(write, 10)
        assert names == [threading.current_thread().name, "journal-writer"]  # gave up on the loop, then waited
        count = holder.execute("SELECT count(*) FROM journal").fetchone()[0]
        assert count == 100  # the attempt that gave up wrote nothing
    finally:
        holder.close()
        await writer.close()


async def test_under_steady_writes_the_wal_is_started_over(
        sqlite_file: tuple[AsyncEngine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, path = sqlite_file
    monkeypatch.setattr(SqliteWriter, "CHECKPOINT_INTERVAL", 0.05)
    monkeypatch.setattr(SqliteWriter, "RESTART_FRAMES", 100)
    writer = SqliteWriter.for_engine(engine)
    assert writer is not None
    wal = path.with_name(path.name + "-wal")
    try:
        written = 0
        for batch in range(400):  # about 40 pages each, with no pause: the checkpoint beside them never catches up
            await writer.transaction(lambda connection, first=batch * 100: _insert_rows(connection, first),
                                     small=batch % 2 == 0)
            written += 100
        frames = wal.stat().st_size // 4096
        assert await writer.transaction(_count) == written
    finally:
        await writer.close()
    # A WAL never started over holds every page written (about 16,000); the file keeps its largest size.
    assert frames < 6_000, frames
