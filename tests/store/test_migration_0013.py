"""Revision 0013: the journal's unique provider ids cover only rows that have one; rows and duplicates survive it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import InboundMessage
from gateway.store.database import create_engine, downgrade, upgrade
from gateway.store.journal import JournalRepository

ROW = ("INSERT INTO journal (direction, transport, user_jid, peer, provider_id, status, receipt_requested, reported, "
       "body, created_at, updated_at) VALUES ('in', 'sms', 'alice@example.org', '+15557654321', :provider_id, "
       "'pending', false, true, :body, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")


def inbound(provider_id: str | None, body: str) -> InboundMessage:
    return InboundMessage(transport="sms", user="alice@example.org", peer="+15557654321", body=body,
                          provider_id=provider_id)


async def _index_definition(engine: AsyncEngine) -> str:
    """How the database itself declares uq_journal_provider."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'uq_journal_provider'"
        else:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_journal_provider'"
        return str((await connection.execute(text(query))).scalar_one())


async def test_rows_without_a_provider_id_leave_the_unique_index_and_duplicates_are_still_refused(
        database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0012")
        async with engine.begin() as connection:
            for provider_id, body in (("SM1", "first"), (None, "no id"), (None, "no id either")):
                await connection.execute(text(ROW), {"provider_id": provider_id, "body": body})

        await upgrade(engine, "0013")

        assert "provider_id IS NOT NULL" in await _index_definition(engine)
        journal = JournalRepository(engine)
        try:
            assert sorted(row.body for row in await journal.history()) == ["first", "no id", "no id either"]
            again, new = await journal.record_inbound(inbound("SM1", "first, sent twice"))
            assert (new, again.journal_id) == (False, None)
            results = await journal.record_inbound_many([inbound("SM2", "new"), inbound("SM2", "new, twice"),
                                                         inbound(None, "third without an id")])
            assert [result[1] for result in results if not isinstance(result, BaseException)] == [True, False, True]
            assert await journal.count() == 5
        finally:
            await journal.close()

        await downgrade(engine, "0012")  # the constraint again, over every row

        assert await _table_constraint(engine)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM journal"))).scalar() == 5
    finally:
        await engine.dispose()


async def _table_constraint(engine: AsyncEngine) -> bool:
    """Whether uq_journal_provider is a unique constraint of the table again, as revision 0012 has it."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'journal'"
            return "CONSTRAINT uq_journal_provider UNIQUE" in str((await connection.execute(text(query))).scalar_one())
        query = "SELECT count(*) FROM pg_constraint WHERE conname = 'uq_journal_provider' AND contype = 'u'"
        return int((await connection.execute(text(query))).scalar_one()) == 1
