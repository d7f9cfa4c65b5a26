"""Outcomes on both databases: a final status is never left, and a reported one is not recorded twice."""

from __future__ import annotations

from gateway.core.events import OutboundMessage, Outcome, Status
from gateway.store.journal import JournalRepository
from gateway.store.store import Store


async def _message(journal: JournalRepository, receipt: bool = True) -> OutboundMessage:
    return await journal.record_outbound(OutboundMessage(
        transport="sms", user="alice@example.org", resource="phone", peer="+12025550123", body="hi",
        xmpp_id="m1", receipt_requested=receipt))


async def test_a_late_sent_does_not_undo_delivered(store: Store) -> None:
    message = await _message(store.journal)
    assert await store.journal.record_outcome(Outcome(message, Status.SENT, provider_id="SM1"))
    assert await store.journal.record_outcome(Outcome(message, Status.DELIVERED))
    assert not await store.journal.record_outcome(Outcome(message, Status.SENT, provider_id="SM1"))
    assert not await store.journal.record_outcome(Outcome(message, Status.FAILED, error_condition="x"))
    [row] = await store.journal.history()
    assert row.status is Status.DELIVERED and row.error is None


async def test_a_repeated_outcome_counts_until_it_is_reported(store: Store) -> None:
    message = await _message(store.journal)
    assert await store.journal.record_outcome(Outcome(message, Status.DELIVERED))
    # Not yet reported (a restart replays it): recording it again is allowed, so it gets reported.
    assert await store.journal.record_outcome(Outcome(message, Status.DELIVERED))
    assert message.journal_id is not None
    await store.journal.mark_reported(message.journal_id)
    assert not await store.journal.record_outcome(Outcome(message, Status.DELIVERED))
