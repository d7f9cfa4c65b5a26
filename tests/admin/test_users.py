"""User administration: bare JIDs only, and a refusal that says why."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.admin.users import AdminError, add_user, bare_jid, list_users, remove_user
from gateway.core.ports import UserRecord
from gateway.store.store import Store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(database_url, migrate=True)
    yield opened
    await opened.close()


def test_a_bare_jid_is_normalised() -> None:
    assert bare_jid("  Alice@Example.ORG ") == "alice@example.org"


@pytest.mark.parametrize(("text", "reason"), [
    ("alice@example.org/phone", "'alice@example.org/phone' is not a bare JID like alice@example.org"),
    ("example.org", "'example.org' is not a bare JID like alice@example.org"),
    ("a b@example.org", "'a b@example.org' is not a valid JID: "),
    ("alice@", "'alice@' is not a valid JID: "),
])
def test_anything_but_a_bare_jid_is_refused(text: str, reason: str) -> None:
    with pytest.raises(AdminError) as caught:
        bare_jid(text)
    assert str(caught.value).startswith(reason)


async def test_add_list_remove(store: Store) -> None:
    assert await add_user(store, "Bob@Example.org") == UserRecord("bob@example.org", is_admin=False, enabled=True)
    await add_user(store, "alice@example.org", admin=True)
    assert [(u.jid, u.is_admin) for u in await list_users(store)] == [
        ("alice@example.org", True), ("bob@example.org", False)]

    await remove_user(store, "BOB@example.org")
    assert [u.jid for u in await list_users(store)] == ["alice@example.org"]


async def test_adding_a_user_twice_is_refused(store: Store) -> None:
    await add_user(store, "alice@example.org")
    with pytest.raises(AdminError, match=r"^alice@example\.org is already a user$"):
        await add_user(store, "Alice@example.org", admin=True)
    assert [(u.jid, u.is_admin) for u in await list_users(store)] == [("alice@example.org", False)]


async def test_removing_a_missing_user_is_refused(store: Store) -> None:
    with pytest.raises(AdminError, match=r"^carol@example\.org is not a user$"):
        await remove_user(store, "carol@example.org")
