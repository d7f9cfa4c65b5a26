"""Users on SQLite and PostgreSQL; removing one removes everything of theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import OutboundMessage
from gateway.core.ports import UserRecord
from gateway.store.models import Binding, Contact, JournalEntry, User
from gateway.store.store import Store
from gateway.store.users import UserExists, UserNotFound


async def test_add_get_all(store: Store) -> None:
    assert await store.users.get_user("alice@example.org") is None

    alice = await store.users.add("alice@example.org")
    await store.users.add("bob@example.org", is_admin=True)

    assert alice == UserRecord("alice@example.org", is_admin=False, enabled=True)
    assert await store.users.get_user("alice@example.org") == alice
    assert await store.users.all() == [alice, UserRecord("bob@example.org", is_admin=True, enabled=True)]


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
