"""Which numbers texted which user: the journal's inbound rows, on both databases."""

from __future__ import annotations

from datetime import timedelta

from gateway.core.events import InboundMessage, OutboundMessage, Status
from gateway.store.models import utcnow
from gateway.store.store import Store

NUMBER = "+15551234567"


async def test_only_an_inbound_text_to_that_user_counts(store: Store) -> None:
    assert not await store.sms.has_texted("sms", "alice@example.org", NUMBER)
    await store.journal.record_outbound(OutboundMessage("sms", "alice@example.org", None, NUMBER, "hi", "x-1"))
    await store.journal.record_inbound(InboundMessage("sms", "bob@example.org", NUMBER, "hi bob", provider_id="SM1"))
    await store.journal.record_inbound(InboundMessage("other", "alice@example.org", NUMBER, "hi", provider_id="SM2"))
    assert not await store.sms.has_texted("sms", "alice@example.org", NUMBER)
    await store.journal.record_inbound(InboundMessage("sms", "alice@example.org", NUMBER, "hi", provider_id="SM3"))
    assert await store.sms.has_texted("sms", "alice@example.org", NUMBER)
    assert await store.sms.has_texted("sms", "bob@example.org", NUMBER)
    assert not await store.sms.has_texted("sms", "bob@example.org", "+15557654321")


async def test_it_is_known_as_long_as_the_journal_keeps_one_of_its_texts(store: Store) -> None:
    stored, _ = await store.journal.record_inbound(
        InboundMessage("sms", "alice@example.org", NUMBER, "hi", provider_id="SM1"))
    assert stored.journal_id is not None
    await store.journal.mark_all([stored.journal_id], Status.DELIVERED)
    assert await store.sms.has_texted("sms", "alice@example.org", NUMBER)
    assert await store.journal.purge(utcnow() + timedelta(days=1)) == 1  # past journal_retention_days
    assert not await store.sms.has_texted("sms", "alice@example.org", NUMBER)
