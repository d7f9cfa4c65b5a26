"""An outcome the user was told is unknown is final but not settled, on both databases: the provider's later
'delivered' or 'failed' is recorded (once), with a receipt for the user whether they asked for one or not."""

from __future__ import annotations

import pytest

from gateway.core.events import OutboundMessage, Outcome, Status
from gateway.store.store import Store


async def _unknown(store: Store) -> OutboundMessage:
    message = await store.journal.record_outbound(OutboundMessage(
        transport="sms", user="alice@example.org", resource="phone", peer="+12025550123", body="hi",
        xmpp_id="m1", receipt_requested=False))
    assert message.journal_id is not None
    assert await store.journal.record_outcome(Outcome(message, Status.UNKNOWN, error_condition="x"))
    await store.journal.mark_reported(message.journal_id)
    return message


@pytest.mark.parametrize("later", [Status.DELIVERED, Status.FAILED])
async def test_a_later_final_report_leaves_unknown_once(store: Store, later: Status) -> None:
    message = await _unknown(store)
    assert message.journal_id is not None
    opened = await store.journal.open_outbound("sms", message.journal_id)
    assert opened is not None and opened.receipt_requested  # the user was left in doubt: tell them
    assert await store.journal.record_outcome(Outcome(opened, later))
    await store.journal.mark_reported(message.journal_id)
    assert await store.journal.open_outbound("sms", message.journal_id) is None
    assert not await store.journal.record_outcome(Outcome(opened, later))
    [row] = await store.journal.history()
    assert row.status is later


@pytest.mark.parametrize("status", [Status.SENT, Status.SENDING])
async def test_unknown_is_not_undone_by_an_open_status(store: Store, status: Status) -> None:
    message = await _unknown(store)
    assert not await store.journal.record_outcome(Outcome(message, status))
    [row] = await store.journal.history()
    assert row.status is Status.UNKNOWN
