"""The hot-path reads (gateway/store/reader.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from gateway.store.store import Store


def _value(connection: Connection) -> int:
    return int(connection.execute(text("SELECT 7")).scalar_one())


def _broken(connection: Connection) -> int:
    return int(connection.execute(text("SELECT * FROM no_such_table")).scalar_one())


async def test_each_read_gets_its_own_result_and_a_failing_one_fails_alone(store: Store) -> None:
    results = await asyncio.gather(*(store.reader.run(_broken if i == 5 else _value) for i in range(10)),
                                   return_exceptions=True)
    assert [r for i, r in enumerate(results) if i != 5] == [7] * 9
    assert "no_such_table" in str(results[5])
    assert await store.reader.run(_value) == 7  # the reader goes on after a failed read


async def test_reads_asked_at_once_share_a_hand_over_on_a_sqlite_file(store: Store, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's reads run on the engine's pooled connections")
    transactions: list[Any] = []
    event.listen(store.reader.engine, "begin", transactions.append)
    assert await asyncio.gather(*(store.reader.run(_value) for _ in range(100))) == [7] * 100
    assert 1 <= len(transactions) <= 2  # the first read's, and one for all that queued behind it


async def test_a_read_sees_what_was_committed_before_it_was_asked(store: Store) -> None:
    assert await store.users.get_user("alice@example.org") is None
    await store.users.add("alice@example.org", transports=["sms"])
    user = await store.users.get_user("alice@example.org")
    assert user is not None and user.transports == frozenset({"sms"})
    await store.users.update("alice@example.org", enabled=False)
    user = await store.users.get_user("alice@example.org")
    assert user is not None and not user.enabled


async def test_reads_queued_before_close_run_and_later_ones_are_refused(store: Store) -> None:
    queued = [asyncio.create_task(store.reader.run(_value)) for _ in range(20)]
    await asyncio.sleep(0)
    await store.reader.close()
    assert [await task for task in queued] == [7] * 20
    with pytest.raises(RuntimeError, match="closed"):
        await store.reader.run(_value)
    await store.reader.close()  # closing again (the store does, on its own close) changes nothing
