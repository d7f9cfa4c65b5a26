"""The journal writer's thread on a SQLite file: its commits never checkpoint; a second thread does, after writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.database import create_engine, upgrade
from gateway.store.writer_thread import WriterThread


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
    monkeypatch.setattr(WriterThread, "CHECKPOINT_INTERVAL", 0.2)
    writer = WriterThread.for_engine(engine)
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
        assert WriterThread.for_engine(engine) is None
    finally:
        await engine.dispose()
