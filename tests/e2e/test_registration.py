"""XEP-0077 in-band registration with the components on a real Prosody, under each access policy."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from slixmpp import Iq, Presence
from slixmpp.exceptions import IqError

from gateway.devstack.prosody import ProsodyServer
from tests.e2e.test_adhoc_support import (  # noqa: F401 (the fixtures)
    ADMIN,
    SMS,
    Gateways,
    People,
    gateways_fixture,
    loopback_table,
    people_fixture,
    server_fixture,
    sms_table,
)
from tests.support.stack import LOOPBACK, wait_until
from tests.support.xmpp_client import TestClient

NS = "jabber:iq:register"


async def form(client: TestClient, to: str) -> Iq:
    return await client.iq(to, ET.Element(f"{{{NS}}}query"), type="get")


async def register(client: TestClient, to: str) -> Iq:
    return await client.iq(to, ET.Element(f"{{{NS}}}query"), type="set")


async def unregister(client: TestClient, to: str) -> Iq:
    query = ET.Element(f"{{{NS}}}query")
    ET.SubElement(query, f"{{{NS}}}remove")
    return await client.iq(to, query, type="set")


async def refused(client: TestClient, to: str) -> tuple[str, str]:
    with pytest.raises(IqError) as raised:
        await register(client, to)
    return raised.value.iq["error"]["condition"], raised.value.iq["error"]["text"]


def registered(iq: Iq) -> bool:
    return iq.xml.find(f"{{{NS}}}query/{{{NS}}}registered") is not None


async def test_closed_refuses_strangers_and_confirms_added_users(server: ProsodyServer, gateways: Gateways,
                                                                 people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="closed"))
    assert gateway.store is not None
    alice, carol, boss = await people(server, "alice"), await people(server, "carol"), await people(server, "boss")

    condition, text = await refused(alice, LOOPBACK)
    assert condition == "not-allowed"
    assert "closed" in text and "admin" in text
    assert await gateway.store.users.get_user("alice@localhost") is None

    await gateway.store.users.add("carol@localhost", transports=["loopback"])  # an admin added her
    assert registered(await form(carol, LOOPBACK))
    await register(carol, LOOPBACK)

    await register(boss, LOOPBACK)  # config admins always may
    assert ADMIN.split("@")[0] == "boss" and await gateway.store.users.get_user(ADMIN) is not None


async def test_allowlist_registers_matching_jids_only(server: ProsodyServer, gateways: Gateways,
                                                      people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="allowlist", allowlist=["team-*@localhost"]))
    assert gateway.store is not None
    member, bob = await people(server, "team-a"), await people(server, "bob")

    assert not registered(await form(member, LOOPBACK))
    await register(member, LOOPBACK)
    assert registered(await form(member, LOOPBACK))
    assert await gateway.store.users.get_user("team-a@localhost") is not None

    condition, text = await refused(bob, LOOPBACK)
    assert condition == "forbidden" and "not allowed" in text
    assert await gateway.store.users.get_user("bob@localhost") is None


async def test_open_registers_anyone_and_the_gateway_asks_to_be_in_the_roster(
        server: ProsodyServer, gateways: Gateways, people: People) -> None:
    gateway = await gateways(server, sms=sms_table(access="open"))
    assert gateway.store is not None
    alice = await people(server, "alice")
    subscriptions: list[Presence] = []
    alice.add_event_handler("presence_subscribe", subscriptions.append)

    reply = await form(alice, SMS)
    query = reply.xml.find(f"{{{NS}}}query")
    assert query is not None
    assert "Phone numbers are bound by an admin" in (query.findtext(f"{{{NS}}}instructions") or "")
    fields = query.findall("{jabber:x:data}x/{jabber:x:data}field")
    assert [(f.get("var"), f.findtext("{jabber:x:data}value")) for f in fields] == [("FORM_TYPE", NS)]

    await register(alice, SMS)
    assert await gateway.store.users.get_user("alice@localhost") is not None
    assert await gateway.store.bindings.find("sms", "alice@localhost") == [], "registration never binds a number"
    await wait_until(lambda: subscriptions, timeout=5)
    assert [str(p["from"]) for p in subscriptions] == [SMS]  # XEP-0100: the gateway asks to be in the roster


async def test_unregister_deletes_the_user_with_their_data(server: ProsodyServer, gateways: Gateways,
                                                          people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="open"))
    store = gateway.store
    assert store is not None
    alice = await people(server, "alice")
    await register(alice, LOOPBACK)
    await store.contacts.add("alice@localhost", "loopback", "echo", "Echo")
    alice.send_message(mto=f"echo@{LOOPBACK}", mbody="hello", mtype="chat")
    await alice.next_message(predicate=lambda m: m["body"] == "hello")
    assert {r.user_jid for r in await store.journal.history()} == {"alice@localhost"}
    echo_presence: list[str] = []
    alice.add_event_handler("presence", lambda p: echo_presence.append(p["type"])
                            if p["from"].bare == f"echo@{LOOPBACK}" else None)
    alice.send_presence(pto=f"echo@{LOOPBACK}", ptype="probe")
    await wait_until(lambda: echo_presence == ["available"], timeout=5)

    await unregister(alice, LOOPBACK)
    # The contacts shown to her as available go offline with her leaving, and the component keeps none of it.
    await wait_until(lambda: echo_presence == ["available", "unavailable"], timeout=5)
    assert not [pair for pair in gateway.components["loopback"]._presented if "alice@localhost" in pair]
    assert await store.users.get_user("alice@localhost") is None
    assert await store.contacts.find("alice@localhost") == []
    assert await store.journal.history() == [], "the journal goes too"
    assert not registered(await form(alice, LOOPBACK))

    with pytest.raises(IqError) as raised:
        await unregister(alice, LOOPBACK)
    assert raised.value.iq["error"]["condition"] == "item-not-found"


async def test_disabled_user_cannot_register_again(server: ProsodyServer, gateways: Gateways,
                                                   people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="open"))
    assert gateway.store is not None
    await gateway.store.users.add("dave@localhost")
    await gateway.store.users.update("dave@localhost", enabled=False)
    dave = await people(server, "dave")
    condition, text = await refused(dave, LOOPBACK)
    assert condition == "forbidden" and "disabled" in text


async def test_registration_and_membership_are_per_transport(server: ProsodyServer, gateways: Gateways,
                                                             people: People) -> None:
    gateway = await gateways(server, sms=sms_table(access="closed"), loopback=loopback_table(access="open"))
    store = gateway.store
    assert store is not None
    alice, bob = await people(server, "alice"), await people(server, "bob")

    await register(alice, LOOPBACK)  # open: she becomes a member of loopback only
    assert not registered(await form(alice, SMS))
    condition, text = await refused(alice, SMS)
    assert condition == "not-allowed" and "closed" in text, "a member of loopback is a stranger to closed sms"
    alice.send_message(mto=f"+12025550123@{SMS}", mbody="hello", mtype="chat")
    error = await alice.next_message(predicate=lambda m: m["type"] == "error")
    assert error["error"]["condition"] == "registration-required"

    await store.users.add("bob@localhost", transports=["sms"])  # an admin added him for SMS
    assert registered(await form(bob, SMS)) and not registered(await form(bob, LOOPBACK))
    await register(bob, SMS)
    await register(bob, LOOPBACK)
    await store.contacts.add("bob@localhost", "sms", "+12025550123", "Mom")
    await store.contacts.add("bob@localhost", "loopback", "echo", "Echo")
    bob.send_message(mto=f"echo@{LOOPBACK}", mbody="hello", mtype="chat")
    await bob.next_message(predicate=lambda m: m["body"] == "hello")

    await unregister(bob, SMS)  # only SMS data goes; the user and their loopback data stay
    record = await store.users.get_user("bob@localhost")
    assert record is not None and record.transports == {"loopback"}
    assert [c.transport for c in await store.contacts.find("bob@localhost")] == ["loopback"]
    assert {r.transport for r in await store.journal.history()} == {"loopback"}
    assert not registered(await form(bob, SMS)) and registered(await form(bob, LOOPBACK))
    condition, _ = await refused(bob, SMS)
    assert condition == "not-allowed", "having left closed SMS, only an admin can let him back"

    await unregister(bob, LOOPBACK)
    assert await store.users.get_user("bob@localhost") is None
