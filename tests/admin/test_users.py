"""User administration: bare JIDs only, and a refusal that says why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.admin.users import AdminError, add_user, bare_jid, list_users, remove_user, set_admin, set_enabled
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


async def test_enable_disable_and_the_admin_flag(store: Store) -> None:
    await add_user(store, "alice@example.org")

    assert await set_enabled(store, "Alice@example.org", False) == (
        UserRecord("alice@example.org", is_admin=False, enabled=False), True)
    assert (await set_enabled(store, "alice@example.org", False))[1] is False  # nothing changed
    assert await set_admin(store, "alice@example.org", True) == (
        UserRecord("alice@example.org", is_admin=True, enabled=False), True)
    assert await store.users.get_user("alice@example.org") == UserRecord("alice@example.org", True, False)

    assert await set_enabled(store, "alice@example.org", True) == (
        UserRecord("alice@example.org", is_admin=True, enabled=True), True)
    assert await set_admin(store, "alice@example.org", False) == (
        UserRecord("alice@example.org", is_admin=False, enabled=True), True)
    assert await store.users.get_user("alice@example.org") == UserRecord("alice@example.org", False, True)


@pytest.mark.parametrize("change", [lambda s, j: set_enabled(s, j, False), lambda s, j: set_admin(s, j, True)])
async def test_flags_of_a_missing_user_or_a_bad_jid_are_refused(store: Store, change: Any) -> None:
    with pytest.raises(AdminError, match=r"^carol@example\.org is not a user$"):
        await change(store, "carol@example.org")
    with pytest.raises(AdminError, match="is not a bare JID"):
        await change(store, "carol@example.org/phone")
    assert await list_users(store) == []
