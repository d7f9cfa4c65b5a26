"""The engine's connection pool on PostgreSQL (gateway/store/database.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text

from gateway.store.database import POOL_SIZE
from gateway.store.store import Store


async def test_reads_beyond_the_pool_wait_for_a_connection_instead_of_opening_and_closing_one(
        store: Store, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's hot reads run in the store's reader (tests/store/test_reader.py)")
    opened: list[Any] = []
    event.listen(store.engine.sync_engine, "connect", lambda connection, _record: opened.append(connection))

    async def read() -> None:
        async with store.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)  # all of them hold a connection at once

    async def many_reads() -> None:
        await asyncio.gather(*(read() for _ in range(3 * POOL_SIZE)))

    await many_reads()
    assert 0 < len(opened) <= POOL_SIZE
    first = len(opened)
    await many_reads()
    assert len(opened) == first  # every connection was kept for the next reads
