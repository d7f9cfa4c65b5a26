"""Users on SQLite and PostgreSQL; removing one removes everything of theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import OutboundMessage
from gateway.core.ports import UserRecord
from gateway.store.models import Binding, Contact, JournalEntry, SmsBlock, User
from gateway.store.store import Store
from gateway.store.users import UserExists, UserNotFound


async def test_add_get_all(store: Store) -> None:
    assert await store.users.get_user("alice@example.org") is None

    alice = await store.users.add("alice@example.org")
    await store.users.add("bob@example.org", is_admin=True)

    assert alice == UserRecord("alice@example.org", is_admin=False, enabled=True)
    assert await store.users.get_user("alice@example.org") == alice
    assert await store.users.all() == [alice, UserRecord("bob@example.org", is_admin=True, enabled=True)]


async def test_many_users_are_read_in_one_call_with_their_transports(store: Store) -> None:
    alice = await store.users.add("alice@example.org", transports=["irc", "sms"])
    bob = await store.users.add("bob@example.org", transports=["irc"])
    await store.users.add("carol@example.org")

    found = await store.users.get_users(["alice@example.org", "bob@example.org", "nobody@example.org"])

    assert found == {"alice@example.org": alice, "bob@example.org": bob}
    assert alice.transports == {"irc", "sms"}
    assert await store.users.get_users([]) == {}


async def test_adding_twice_raises_user_exists(store: Store) -> None:
    await store.users.add("alice@example.org")

    with pytest.raises(UserExists):
        await store.users.add("alice@example.org", is_admin=True)

    assert await store.users.all() == [UserRecord("alice@example.org", is_admin=False, enabled=True)]


async def test_update(store: Store) -> None:
    await store.users.add("alice@example.org")

    assert await store.users.update("alice@example.org", is_admin=True) == UserRecord(
        "alice@example.org", is_admin=True, enabled=True)
    assert await store.users.update("alice@example.org", enabled=False) == UserRecord(
        "alice@example.org", is_admin=True, enabled=False)
    assert await store.users.update("alice@example.org") == UserRecord(
        "alice@example.org", is_admin=True, enabled=False)
    assert await store.users.get_user("alice@example.org") == UserRecord(
        "alice@example.org", is_admin=True, enabled=False)
    with pytest.raises(UserNotFound):
        await store.users.update("nobody@example.org", enabled=False)


async def _count(engine: AsyncEngine, model: type[User] | type[Binding] | type[Contact] | type[JournalEntry]
                 ) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(model))).scalar_one())


async def test_remove_deletes_bindings_contacts_and_journal(store: Store) -> None:
    for jid in ("alice@example.org", "bob@example.org"):
        await store.users.add(jid)
    async with store.engine.begin() as connection:
        ids = {jid: user_id for jid, user_id in await connection.execute(select(User.jid, User.id))}
        for user_id in ids.values():
            await connection.execute(insert(Binding).values(
                user_id=user_id, transport="sms", address="+15551234567", is_default=True))
            await connection.execute(insert(Contact).values(
                user_id=user_id, transport="sms", address="+15557654321", name="Mom", roster_group="Family"))
    for jid in ids:
        await store.journal.record_outbound(OutboundMessage(transport="sms", user=jid, resource=None,
                                                            peer="+15557654321", body="hi", xmpp_id="1"))

    await store.users.remove("alice@example.org")

    assert await store.users.get_user("alice@example.org") is None
    assert [u.jid for u in await store.users.all()] == ["bob@example.org"]
    # The database cascades (on SQLite only with PRAGMA foreign_keys=ON): bob's rows stay.
    assert await _count(store.engine, Binding) == 1
    assert await _count(store.engine, Contact) == 1
    assert [r.user_jid for r in await store.journal.history()] == ["bob@example.org"]
    with pytest.raises(UserNotFound):
        await store.users.remove("alice@example.org")


# -- membership per transport ---------------------------------------------------------------------------------
async def test_users_belong_to_the_transports_they_were_added_for_or_joined(store: Store) -> None:
    alice = await store.users.add("alice@example.org", transports=["sms"])
    assert alice.transports == {"sms"}
    assert await store.users.join("alice@example.org", "irc", nick="alice_") is True
    assert await store.users.join("alice@example.org", "irc") is False  # already: the nick stays
    assert await store.users.nick("alice@example.org", "irc") == "alice_"
    assert await store.users.nick("alice@example.org", "sms") is None
    assert await store.users.join("alice@example.org", "irc", nick="alice2") is False
    assert await store.users.nick("alice@example.org", "irc") == "alice2"
    assert await store.users.join("new@example.org", "sms", create=True) is True
    with pytest.raises(UserNotFound):
        await store.users.join("nobody@example.org", "sms")

    assert [(u.jid, u.transports) for u in await store.users.all()] == [
        ("alice@example.org", {"irc", "sms"}), ("new@example.org", {"sms"})]
    record = await store.users.get_user("alice@example.org")
    assert record is not None and record.transports == {"irc", "sms"}


async def test_binding_an_address_admits_the_user_to_its_transport(store: Store) -> None:
    await store.users.add("alice@example.org")
    await store.bindings.bind("alice@example.org", "sms", "+15551234567")
    record = await store.users.get_user("alice@example.org")
    assert record is not None and record.transports == {"sms"}


async def test_leaving_a_transport_deletes_only_its_data_and_the_user_with_the_last(store: Store) -> None:
    jid = "alice@example.org"
    await store.users.add(jid, transports=["sms", "irc"])
    await store.users.add("bob@example.org", transports=["sms"])
    await store.bindings.bind(jid, "sms", "+15551234567")
    await store.contacts.add(jid, "sms", "+15557654321", "Mom")
    await store.contacts.add(jid, "irc", "carol%libera", "Carol")
    await store.contacts.add("bob@example.org", "sms", "+15557654321", "Mom")
    await store.sms.block("sms", jid, "+15550000000")
    await store.irc.set_account(jid, "libera", nick="alice", transport="irc")
    for transport in ("sms", "irc"):
        await store.journal.record_outbound(OutboundMessage(transport=transport, user=jid, resource=None,
                                                            peer="p", body="hi", xmpp_id=transport))

    assert await store.users.leave(jid, "sms") is False
    record = await store.users.get_user(jid)
    assert record is not None and record.transports == {"irc"}
    assert [(c.jid, c.transport) for c in await store.contacts.find(None)] == [
        (jid, "irc"), ("bob@example.org", "sms")]
    assert await store.bindings.find("sms", jid) == []
    async with store.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(SmsBlock)) == 0
    assert [r.transport for r in await store.journal.history()] == ["irc"]
    assert await store.irc.account(jid, "libera", transport="irc") is not None, "IRC settings are IRC's data"
    with pytest.raises(UserNotFound):
        await store.users.leave(jid, "sms")

    assert await store.users.leave(jid, "irc") is True
    assert await store.users.get_user(jid) is None
    assert await store.journal.history() == []
    assert [u.jid for u in await store.users.all()] == ["bob@example.org"]


async def test_leaving_without_membership_still_deletes_that_transports_data(store: Store) -> None:
    """On an open transport a user needs no membership to keep contacts there; leaving removes them."""
    await store.users.add("alice@example.org", transports=["irc"])
    await store.contacts.add("alice@example.org", "sms", "+15557654321", "Mom")
    with pytest.raises(UserNotFound):
        await store.users.leave("alice@example.org", "sms")
    assert await store.users.leave("alice@example.org", "sms", member_only=False) is False
    assert await store.contacts.find("alice@example.org") == []


async def test_leaving_irc_deletes_the_irc_settings(store: Store) -> None:
    await store.users.add("alice@example.org", transports=["sms", "irc"])
    await store.irc.set_account("alice@example.org", "libera", nick="alice", transport="irc")
    await store.users.leave("alice@example.org", "irc")
    assert await store.irc.account("alice@example.org", "libera", transport="irc") is None
    assert await store.users.get_user("alice@example.org") is not None


async def test_leaving_a_transport_or_the_gateway_forgets_the_room_memberships(store: Store) -> None:
    await store.users.add("alice@example.org", transports=["irc", "sms"])
    await store.rooms.joined("irc", "alice@example.org", "#a%net", "phone", "alice")
    await store.rooms.joined("irc", "alice@example.org", "#a%net", "laptop", "alice")
    await store.rooms.joined("irc", "bob@example.org", "#a%net", "res", "bob")  # not a user: rooms may be open
    assert {m.user for m in await store.rooms.memberships("irc")} == {"alice@example.org", "bob@example.org"}
    assert await store.rooms.resources("irc", "alice@example.org", "#a%net") == ("phone", "laptop")
    await store.users.leave("alice@example.org", "irc")
    assert [m.user for m in await store.rooms.memberships("irc")] == ["bob@example.org"]
    await store.rooms.joined("irc", "alice@example.org", "#b%net", "phone", "alice")
    await store.users.remove("alice@example.org")
    assert [m.user for m in await store.rooms.memberships("irc")] == ["bob@example.org"]


async def test_an_instance_named_otherwise_empties_its_kinds_own_tables(database_url: str) -> None:
    """`[transports.chat]` with type = "irc": leaving it deletes the user's IRC settings there, as leaving irc
    would; those of the irc instance stay."""
    store = await Store.open(database_url, migrate=True, kinds={"chat": "irc", "irc": "irc"})
    try:
        jid = "alice@example.org"
        await store.users.add(jid, transports=["chat", "irc", "sms"])
        await store.irc.set_account(jid, "libera", nick="alice", transport="chat")
        await store.irc.set_account(jid, "libera", nick="alice_irc", transport="irc")
        assert await store.users.leave(jid, "chat") is False
        assert await store.irc.account(jid, "libera", transport="chat") is None
        assert (await store.irc.account(jid, "libera", transport="irc")).nick == "alice_irc"  # type: ignore[union-attr]
    finally:
        await store.close()
