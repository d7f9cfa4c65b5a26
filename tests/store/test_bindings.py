"""Bindings on both databases: defaults, shared lines, and clear refusals."""

from __future__ import annotations

import pytest

from gateway.store.bindings import BindingExists, BindingNotFound
from gateway.store.store import Store
from gateway.store.users import UserNotFound


async def test_first_binding_is_default_and_a_new_default_replaces_it(store: Store) -> None:
    await store.users.add("alice@example.org")
    first = await store.bindings.bind("alice@example.org", "sms", "+15550000001")
    second = await store.bindings.bind("alice@example.org", "sms", "+15550000002")
    assert first.is_default and not second.is_default

    await store.bindings.bind("alice@example.org", "sms", "+15550000003", default=True)
    defaults = [b.address for b in await store.bindings.find("sms", "alice@example.org") if b.is_default]
    assert defaults == ["+15550000003"]


async def test_unbinding_the_default_promotes_another(store: Store) -> None:
    await store.users.add("alice@example.org")
    await store.bindings.bind("alice@example.org", "sms", "+15550000001")
    await store.bindings.bind("alice@example.org", "sms", "+15550000002")
    await store.bindings.unbind("alice@example.org", "sms", "+15550000001")
    assert [(b.address, b.is_default) for b in await store.bindings.find("sms")] == [("+15550000002", True)]


async def test_a_shared_line_reaches_every_enabled_user(store: Store) -> None:
    for jid in ("alice@example.org", "bob@example.org", "carol@example.org"):
        await store.users.add(jid)
        await store.bindings.bind(jid, "sms", "+15550000001")
    await store.users.update("carol@example.org", enabled=False)
    async def users_for(transport: str, number: str) -> list[str]:
        return [r.jid for r in await store.sms.recipients(transport, number, "+15557654321")]

    assert await users_for("sms", "+15550000001") == ["alice@example.org", "bob@example.org"]
    assert await users_for("sms", "+15559999999") == []
    assert await users_for("irc", "+15550000001") == []


async def test_refusals(store: Store) -> None:
    with pytest.raises(UserNotFound):
        await store.bindings.bind("nobody@example.org", "sms", "+15550000001")
    await store.users.add("alice@example.org")
    await store.bindings.bind("alice@example.org", "sms", "+15550000001")
    with pytest.raises(BindingExists):
        await store.bindings.bind("alice@example.org", "sms", "+15550000001")
    with pytest.raises(BindingNotFound):
        await store.bindings.unbind("alice@example.org", "sms", "+15550000002")
    with pytest.raises(BindingNotFound):
        await store.bindings.unbind("nobody@example.org", "sms", "+15550000001")
