"""The parts of a text sent in several: each part's last reported status, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from gateway.core.events import OutboundMessage, Outcome, Status
from gateway.store.models import SmsPart, utcnow
from gateway.store.store import Store


async def _text(store: Store) -> int:
    message = await store.journal.record_outbound(
        OutboundMessage("sms", "alice@example.org", None, "+15557654321", "long", "x-1"))
    assert message.journal_id is not None
    return message.journal_id


async def test_the_delivered_parts_are_counted_and_a_repeat_counts_once(store: Store) -> None:
    journal_id = await _text(store)
    assert await store.sms.record_part(journal_id, 2, "delivered", None) == 1
    assert await store.sms.record_part(journal_id, 2, "delivered", None) == 1  # Twilio repeats callbacks
    assert await store.sms.record_part(journal_id, 1, "undelivered", 30003) == 1
    assert await store.sms.record_part(journal_id, 1, "delivered", None) == 2
    assert await store.sms.record_part(await _text(store), 1, "delivered", None) == 1  # another text's own


async def test_concurrent_callbacks_never_all_miss_the_last_part(store: Store) -> None:
    journal_id = await _text(store)
    counts = await asyncio.gather(*(store.sms.record_part(journal_id, part, "delivered", None)
                                    for part in range(1, 6)))
    assert max(counts) == 5


async def test_the_parts_go_with_their_journal_row(store: Store) -> None:
    journal_id = await _text(store)
    await store.sms.record_part(journal_id, 1, "delivered", None)
    done = Outcome((await store.journal.accepted_outbound("sms"))[0], Status.FAILED, error_condition="x")
    assert await store.journal.record_outcome(done)
    await store.journal.mark_reported(journal_id)  # settled: the purge may take it
    assert await store.journal.purge(utcnow() + timedelta(days=1)) == 1
    async with store.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(SmsPart)) == 0
