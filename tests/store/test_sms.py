"""The SMS transport's state on both databases: opt-outs, block lists, the daily segment limit."""

from __future__ import annotations

import asyncio
from datetime import date

from gateway.store.store import Store

DAY = date(2026, 11, 25)


LINE = "+15550000001"  # a number bound to the users below


async def _blocks(store: Store, transport: str, jid: str, sender: str) -> bool:
    """Whether `jid` blocks `sender` on `transport`, as a text from `sender` to LINE sees it."""
    return {r.jid: r.blocks_sender for r in await store.sms.recipients(transport, LINE, sender)}[jid]


async def _opted_out(store: Store, jid: str, peer: str) -> dict[str, bool]:
    return {n.address: n.peer_opted_out for n in await store.sms.sending_numbers("sms", jid, peer)}


async def test_opt_out_is_per_sender_and_recipient(store: Store) -> None:
    await store.users.add("alice@example.org")
    await store.bindings.bind("alice@example.org", "sms", "+15550000001")
    await store.bindings.bind("alice@example.org", "sms", "+15550000002")
    await store.sms.opt_out("+15550000001", "+15557654321")
    await store.sms.opt_out("+15550000001", "+15557654321")  # Twilio may report it twice
    assert await _opted_out(store, "alice@example.org", "+15557654321") == {"+15550000001": True,
                                                                             "+15550000002": False}
    assert await _opted_out(store, "alice@example.org", "+15550009999") == {"+15550000001": False,
                                                                             "+15550000002": False}
    assert await store.sms.opt_in("+15550000001", "+15557654321")
    assert await _opted_out(store, "alice@example.org", "+15557654321") == {"+15550000001": False,
                                                                             "+15550000002": False}
    assert not await store.sms.opt_in("+15550000001", "+15557654321")


async def test_block_list_belongs_to_one_user_and_goes_with_them(store: Store) -> None:
    for jid in ("alice@example.org", "bob@example.org"):
        await store.users.add(jid)
        await store.bindings.bind(jid, "sms", LINE)
    await store.sms.block("sms", "alice@example.org", "+15557654321")
    await store.sms.block("sms", "alice@example.org", "+15557654321")
    assert await _blocks(store, "sms", "alice@example.org", "+15557654321")
    assert not await _blocks(store, "sms", "alice@example.org", "+15550009999")
    assert not await _blocks(store, "sms", "bob@example.org", "+15557654321")
    await store.users.remove("alice@example.org")
    await store.users.add("alice@example.org")
    await store.bindings.bind("alice@example.org", "sms", LINE)
    assert not await _blocks(store, "sms", "alice@example.org", "+15557654321")
    assert not await store.sms.unblock("sms", "alice@example.org", "+15557654321")


async def test_what_a_text_needs_comes_with_the_user_s_contact(store: Store) -> None:
    jid, peer = "alice@example.org", "+15557654321"
    await store.users.add(jid)
    await store.bindings.bind(jid, "sms", "+15550000002")
    await store.bindings.bind(jid, "sms", "+15550000001")
    assert [(n.address, n.is_default, n.contact_name, n.contact_via)
            for n in await store.sms.sending_numbers("sms", jid, peer)] == [
        ("+15550000001", False, None, None), ("+15550000002", True, None, None)]
    await store.contacts.add(jid, "sms", peer, "Mom", via="+15550000001")
    assert {(n.contact_name, n.contact_via) for n in await store.sms.sending_numbers("sms", jid, peer)} == {
        ("Mom", "+15550000001")}
    assert [(r.jid, r.sender_name) for r in await store.sms.recipients("sms", "+15550000002", peer)] == [
        (jid, "Mom")]
    assert await store.sms.sending_numbers("sms-work", jid, peer) == []
    assert await store.sms.sending_numbers("sms", "bob@example.org", peer) == []


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
    await store.bindings.bind(jid, "sms", LINE)
    await store.bindings.bind(jid, "sms-work", LINE)
    await store.sms.block("sms", jid, "+15557654321")
    assert not await _blocks(store, "sms-work", jid, "+15557654321")
    assert not await store.sms.unblock("sms-work", jid, "+15557654321")

    assert await store.sms.reserve_segments("sms", jid, DAY, 10, limit=10)
    assert await store.sms.reserve_segments("sms-work", jid, DAY, 2, limit=10), "each instance has its own limit"
    assert (await store.sms.used_segments("sms", jid, DAY), await store.sms.used_segments("sms-work", jid, DAY)) == (
        10, 2)

    await store.sms.block("sms-work", jid, "+15550000000")
    await store.users.leave(jid, "sms-work")  # its block list goes; the other instance's stays
    assert await _blocks(store, "sms", jid, "+15557654321")
    await store.bindings.bind(jid, "sms-work", LINE)
    assert not await _blocks(store, "sms-work", jid, "+15550000000")
