"""The SMS transport's state on both databases: opt-outs, block lists, the daily segment limit."""

from __future__ import annotations

import asyncio
from datetime import date

from gateway.store.store import Store

DAY = date(2026, 11, 25)


async def test_opt_out_is_per_sender_and_recipient(store: Store) -> None:
    await store.sms.opt_out("+15550000001", "+15557654321")
    await store.sms.opt_out("+15550000001", "+15557654321")  # Twilio may report it twice
    assert await store.sms.is_opted_out("+15550000001", "+15557654321")
    assert not await store.sms.is_opted_out("+15550000002", "+15557654321")
    assert await store.sms.opt_in("+15550000001", "+15557654321")
    assert not await store.sms.is_opted_out("+15550000001", "+15557654321")
    assert not await store.sms.opt_in("+15550000001", "+15557654321")


async def test_block_list_belongs_to_one_user_and_goes_with_them(store: Store) -> None:
    await store.users.add("alice@example.org")
    await store.users.add("bob@example.org")
    await store.sms.block("sms", "alice@example.org", "+15557654321")
    await store.sms.block("sms", "alice@example.org", "+15557654321")
    assert await store.sms.blocked("sms", "alice@example.org") == ["+15557654321"]
    assert await store.sms.blocked("sms", "bob@example.org") == []
    await store.users.remove("alice@example.org")
    await store.users.add("alice@example.org")
    assert await store.sms.blocked("sms", "alice@example.org") == []
    assert not await store.sms.unblock("sms", "alice@example.org", "+15557654321")


async def test_daily_limit_is_never_passed_even_by_concurrent_senders(store: Store) -> None:
    await store.users.add("alice@example.org")
    results = await asyncio.gather(*(store.sms.reserve_segments("sms", "alice@example.org", DAY, 3, limit=10)
                                     for _ in range(6)))
    assert results.count(True) == 3
    assert await store.sms.used_segments("sms", "alice@example.org", DAY) == 9
    assert not await store.sms.reserve_segments("sms", "alice@example.org", DAY, 2, limit=10)
    assert await store.sms.reserve_segments("sms", "alice@example.org", DAY, 1, limit=10)
    await store.sms.release_segments("sms", "alice@example.org", DAY, 4)
    assert await store.sms.used_segments("sms", "alice@example.org", DAY) == 6
    assert await store.sms.used_segments("sms", "alice@example.org", date(2026, 11, 26)) == 0


async def test_block_lists_and_daily_usage_belong_to_one_sms_instance(store: Store) -> None:
    jid = "alice@example.org"
    await store.users.add(jid, transports=["sms", "sms-work"])
    await store.sms.block("sms", jid, "+15557654321")
    assert await store.sms.blocked("sms-work", jid) == []
    assert not await store.sms.unblock("sms-work", jid, "+15557654321")

    assert await store.sms.reserve_segments("sms", jid, DAY, 10, limit=10)
    assert await store.sms.reserve_segments("sms-work", jid, DAY, 2, limit=10), "each instance has its own limit"
    assert (await store.sms.used_segments("sms", jid, DAY), await store.sms.used_segments("sms-work", jid, DAY)) == (
        10, 2)

    await store.sms.block("sms-work", jid, "+15550000000")
    await store.users.leave(jid, "sms-work")  # its block list goes; the other instance's stays
    assert await store.sms.blocked("sms", jid) == ["+15557654321"]
    assert await store.sms.blocked("sms-work", jid) == []
