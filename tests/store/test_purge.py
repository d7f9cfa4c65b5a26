"""Purging the journal: archived room lines are kept for archive_retention_days, the rest for journal_retention_days;
a purge deletes in chunks, each its own transaction, so the journal's writer commits while it runs; a user's wipe of
their room archive deletes their settled archived rows only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import InboundMessage, Status
from gateway.store.archive import RoomArchive
from gateway.store.journal import JournalRepository
from gateway.store.models import JournalEntry

ROOM = "#chan%net"


@pytest.fixture
async def journal(engine: AsyncEngine) -> AsyncIterator[JournalRepository]:
    repository = JournalRepository(engine)
    yield repository
    await repository.close()


def line(body: str, *, user: str = "alice@example.org", archived: bool = True) -> InboundMessage:
    return InboundMessage(transport="irc", user=user, peer=ROOM, body=body, room_nick="bob", archived=archived)


async def _age(engine: AsyncEngine, days: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(JournalEntry).values(created_at=datetime.now(UTC) - timedelta(days=days)))


async def _settle_all(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(JournalEntry).values(status=Status.DELIVERED.value))


async def test_archived_lines_outlive_the_journal_s_retention(journal: JournalRepository,
                                                              engine: AsyncEngine) -> None:
    await journal.record_inbound(line("archived"))
    await journal.record_inbound(line("not archived", archived=False))
    await journal.record_inbound(InboundMessage(transport="sms", user="alice@example.org", peer="+15557654321",
                                                body="a text", provider_id="SM1"))
    await _settle_all(engine)
    await _age(engine, days=40)
    now = datetime.now(UTC)

    assert await journal.purge(now - timedelta(days=30), now - timedelta(days=90)) == 2
    assert [r.body for r in await journal.history()] == ["archived"]
    assert await journal.purge(now - timedelta(days=30), now - timedelta(days=35)) == 1
    assert await journal.count() == 0


async def test_a_purge_of_many_rows_goes_in_chunks_while_the_writer_commits(
        journal: JournalRepository, engine: AsyncEngine) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    row: dict[str, Any] = dict(direction="in", transport="irc", user_jid="alice@example.org", peer=ROOM,
                               status=Status.DELIVERED.value, receipt_requested=False, reported=True, body="old",
                               created_at=old, updated_at=old, room_nick="bob")
    async with engine.begin() as connection:
        await connection.execute(insert(JournalEntry), [dict(row, stanza_id=f"s{n}") for n in range(20_000)])
    deletes: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(1)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        purge = asyncio.get_running_loop().create_task(
            journal.purge(datetime.now(UTC) - timedelta(days=30), chunk=1000, pause=0.01))
        while not deletes:  # the purge has begun
            await asyncio.sleep(0)
        written, new = await journal.record_inbound(line("said during the purge"))
        assert new and not purge.done(), "the write was committed while the purge went on"
        assert await purge == 20_000
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(deletes) == 21  # 20 full chunks, and the one that found none left
    assert [r.id for r in await journal.history()] == [written.journal_id]


async def test_a_wipe_deletes_the_user_s_settled_archived_lines_only(journal: JournalRepository,
                                                                     engine: AsyncEngine) -> None:
    archive = RoomArchive(engine)
    shown, _ = await journal.record_inbound(line("shown"))
    await journal.record_inbound(InboundMessage(
        transport="irc", user="alice@example.org", peer="#other%net", body="other room", room_nick="bob"))
    await journal.record_inbound(line("bob's own", user="bob@example.org"))
    assert shown.journal_id is not None
    await _settle_all(engine)
    await journal.record_inbound(line("not yet shown"))

    assert await archive.forget("irc", "alice@example.org", ROOM, dry_run=True) == 1
    assert await archive.forget("irc", "alice@example.org", ROOM) == 1
    assert sorted(r.body for r in await journal.history()) == ["bob's own", "not yet shown", "other room"]
    assert await archive.forget("irc", "alice@example.org") == 1  # every room: the other one; pending stays
    assert sorted(r.body for r in await journal.history()) == ["bob's own", "not yet shown"]
