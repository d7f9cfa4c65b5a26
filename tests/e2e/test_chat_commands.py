"""The same commands as chat text to a component's JID, from real clients on a real Prosody."""

from __future__ import annotations

from gateway.devstack.prosody import ProsodyServer
from tests.e2e.test_adhoc_support import (  # noqa: F401 (the fixtures)
    SMS,
    Gateways,
    People,
    gateways_fixture,
    people_fixture,
    server_fixture,
    sms_table,
)
from tests.support.xmpp_client import TestClient


async def ask(client: TestClient, text: str) -> str:
    client.send_message(mto=SMS, mbody=text, mtype="chat")
    reply = await client.next_message(predicate=lambda m: str(m["from"]) == SMS and bool(m["body"]))
    assert reply["type"] == "chat"
    return str(reply["body"])


async def test_a_user_manages_their_own_contacts(server: ProsodyServer, gateways: Gateways, people: People) -> None:
    gateway = await gateways(server, sms=sms_table(access="closed"))
    store = gateway.store
    assert store is not None
    await store.users.add("alice@localhost")
    await store.users.add("bob@localhost")
    await store.bindings.bind("alice@localhost", "sms", "+12025550100")
    await store.contacts.add("bob@localhost", "sms", "+12025550199", "Bob's secret friend")
    alice = await people(server, "alice")

    help_text = await ask(alice, "help")
    assert "+<country code><number>" in help_text  # the transport's own help
    assert "add <address> <name>" in help_text and "contacts" in help_text and "unregister" in help_text
    assert "user-add" not in help_text and "sms-bind" not in help_text, "no admin commands for a user"

    assert await ask(alice, "add 202-555-0123 Aunt May") == \
        "Added Aunt May (+12025550123) to the contacts of alice@localhost."
    assert "alice@localhost already has the contact +12025550123" in await ask(alice, "add 2025550123 May again")
    assert "Usage: add <address> <name>" in await ask(alice, "add 2025550124")
    listed = await ask(alice, "contacts")
    assert "Aunt May  +12025550123  +12025550123@sms.localhost" in listed
    assert "secret friend" not in listed, "a user sees only their own contacts"
    assert "+12025550100  yes" in await ask(alice, "numbers")
    assert "Removed +12025550123" in await ask(alice, "remove +12025550123")
    assert "has no contact" in await ask(alice, "remove +12025550199"), "bob's contact is not alice's to remove"
    assert [c.name for c in await store.contacts.find("bob@localhost")] == ["Bob's secret friend"]

    for admin_only in ("users", "sms-bind alice@localhost +12025550101", "user-contacts bob@localhost"):
        assert (await ask(alice, admin_only)).startswith("Unknown command")
    assert [b.address for b in await store.bindings.find("sms")] == ["+12025550100"]


async def test_unregister_as_chat_text_needs_a_yes(server: ProsodyServer, gateways: Gateways,
                                                   people: People) -> None:
    gateway = await gateways(server, sms=sms_table())
    store = gateway.store
    assert store is not None
    await store.users.add("alice@localhost")
    await store.contacts.add("alice@localhost", "sms", "+12025550123", "Mom")
    alice = await people(server, "alice")

    assert "Nothing was deleted" in await ask(alice, "unregister")
    assert await store.users.get_user("alice@localhost") is not None
    assert "You are unregistered" in await ask(alice, "unregister yes")
    assert await store.users.get_user("alice@localhost") is None
    assert await store.contacts.find("alice@localhost") == []
    assert "not registered" in await ask(alice, "contacts")


async def test_admins_run_admin_commands_as_chat_text(server: ProsodyServer, gateways: Gateways,
                                                      people: People) -> None:
    gateway = await gateways(server, sms=sms_table())
    store = gateway.store
    assert store is not None
    boss = await people(server, "boss")

    assert "Admin commands:" in await ask(boss, "help")
    assert await ask(boss, "user-add carol@localhost") == "Added carol@localhost; transports: sms."
    assert "Bound +12025550100 to carol@localhost" in await ask(boss, "sms-bind carol@localhost +12025550100")
    assert await ask(boss, "user-contact-add carol@localhost +12025550123 Uncle Joe") == \
        "Added Uncle Joe (+12025550123) to the contacts of carol@localhost."
    assert "Uncle Joe" in await ask(boss, "user-contacts carol@localhost")
    assert "carol@localhost  no  yes" in await ask(boss, "users")
    assert (await ask(boss, "frobnicate")).startswith("Unknown command: frobnicate")


async def test_someone_the_policy_refuses_is_told_so(server: ProsodyServer, gateways: Gateways,
                                                     people: People) -> None:
    await gateways(server, sms=sms_table(access="closed"))
    mallory = await people(server, "mallory")
    assert (await ask(mallory, "contacts")).startswith("Forbidden: mallory@localhost is not a user")
