"""XEP-0050 ad-hoc commands from real clients on a real Prosody: admins see and run them, others are forbidden."""

from __future__ import annotations

import asyncio

import pytest
from slixmpp.exceptions import IqError

from gateway.devstack.prosody import ProsodyServer
from tests.e2e.test_adhoc_support import (  # noqa: F401 (the fixtures)
    ADMIN,
    SMS,
    Gateways,
    People,
    command_nodes,
    execute,
    gateways_fixture,
    loopback_table,
    notes,
    people_fixture,
    server_fixture,
    sms_table,
    table,
)
from tests.support.stack import LOOPBACK

USER_NODES = {"contacts", "contacts/add", "contacts/remove", "bindings", "unregister"}
ADMIN_NODES = {"admin/users/list", "admin/users/add", "admin/users/remove", "admin/users/enable",
               "admin/users/disable", "admin/users/admin", "admin/contacts/list", "admin/contacts/add",
               "admin/contacts/remove"}
SMS_NODES = {"admin/sms/bind", "admin/sms/unbind", "admin/sms/list"}


async def test_admin_manages_users_with_forms(server: ProsodyServer, gateways: Gateways, people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="closed"))
    boss = await people(server, "boss")
    store = gateway.store
    assert store is not None

    assert set(await command_nodes(boss, LOOPBACK)) == USER_NODES | ADMIN_NODES

    form = (await execute(boss, LOOPBACK, "admin/users/add"))["command"]["form"]
    fields = form.get_fields()
    assert {var: f["type"] for var, f in fields.items()} == {"jid": "jid-single", "admin": "boolean",
                                                                  "transports": "text-single"}
    assert fields["jid"]["required"]

    done = await execute(boss, LOOPBACK, "admin/users/add", {"jid": "carol@localhost", "admin": False})
    assert done["command"]["status"] == "completed"
    assert notes(done) == [("info", "Added carol@localhost; transports: loopback.")]
    await execute(boss, LOOPBACK, "admin/users/add", {"jid": "dave@localhost", "admin": True})
    again = await execute(boss, LOOPBACK, "admin/users/add", {"jid": "carol@localhost"})
    assert notes(again) == [("error", "carol@localhost is already a user of loopback")]
    unknown = await execute(boss, LOOPBACK, "admin/users/add", {"jid": "erin@localhost", "transports": "irc"})
    assert notes(unknown) == [("error", "no transport named irc is configured (configured: loopback)")]
    bad = await execute(boss, LOOPBACK, "admin/users/add", {"jid": "not a jid"})
    assert notes(bad)[0][0] == "error"

    await execute(boss, LOOPBACK, "admin/users/disable", {"jid": "carol@localhost"})
    await execute(boss, LOOPBACK, "admin/users/admin", {"jid": "dave@localhost", "admin": False})
    listed = await execute(boss, LOOPBACK, "admin/users/list")
    assert listed["command"]["status"] == "completed"
    assert table(listed) == [{"jid": "carol@localhost", "admin": "no", "enabled": "no", "transports": "loopback"},
                             {"jid": "dave@localhost", "admin": "no", "enabled": "yes", "transports": "loopback"}]
    await execute(boss, LOOPBACK, "admin/users/enable", {"jid": "carol@localhost"})
    carol = await store.users.get_user("carol@localhost")
    assert carol is not None and carol.enabled

    await execute(boss, LOOPBACK, "admin/users/remove", {"jid": "dave@localhost"})
    assert [u.jid for u in await store.users.all()] == ["carol@localhost"]


async def test_admin_maps_contacts_for_any_user(server: ProsodyServer, gateways: Gateways, people: People) -> None:
    gateway = await gateways(server, sms=sms_table())
    boss = await people(server, "boss")
    assert gateway.store is not None
    await gateway.store.users.add("carol@localhost")

    added = await execute(boss, SMS, "admin/contacts/add",
                          {"jid": "carol@localhost", "address": "(202) 555-0123", "name": "Mom", "group": "Family"})
    assert notes(added) == [("info", "Added Mom (+12025550123) to the contacts of carol@localhost.")]
    listed = await execute(boss, SMS, "admin/contacts/list", {"jid": "carol@localhost"})
    assert table(listed) == [{"name": "Mom", "address": "+12025550123", "jid": f"+12025550123@{SMS}",
                              "group": "Family"}]
    wrong = await execute(boss, SMS, "admin/contacts/add",
                          {"jid": "carol@localhost", "address": "12", "name": "Nobody"})
    assert notes(wrong)[0][0] == "error"
    await execute(boss, SMS, "admin/contacts/remove", {"jid": "carol@localhost", "address": "+12025550123"})
    assert await gateway.store.contacts.find("carol@localhost") == []


async def test_admin_binds_sms_numbers(server: ProsodyServer, gateways: Gateways, people: People) -> None:
    gateway = await gateways(server, sms=sms_table(), loopback=loopback_table())
    boss = await people(server, "boss")
    assert gateway.store is not None

    assert set(await command_nodes(boss, SMS)) == USER_NODES | ADMIN_NODES | SMS_NODES
    assert not SMS_NODES & set(await command_nodes(boss, LOOPBACK)), "SMS commands belong to the SMS component"

    bound = await execute(boss, SMS, "admin/sms/bind", {"jid": "carol@localhost", "number": "+1 202 555 0100"})
    assert notes(bound) == [("info", "Bound +12025550100 to carol@localhost, the default (added as a new user).")]
    listed = await execute(boss, SMS, "admin/sms/list", {})
    assert table(listed) == [{"jid": "carol@localhost", "number": "+12025550100", "default": "yes"}]
    await execute(boss, SMS, "admin/sms/unbind", {"jid": "carol@localhost", "number": "+12025550100"})
    assert await gateway.store.bindings.find("sms") == []


async def test_non_admin_neither_sees_nor_runs_admin_commands(server: ProsodyServer, gateways: Gateways,
                                                              people: People) -> None:
    gateway = await gateways(server, sms=sms_table())
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost")
    alice = await people(server, "alice")

    assert set(await command_nodes(alice, SMS)) == USER_NODES
    for node in ("admin/users/add", "admin/users/list", "admin/sms/bind"):
        with pytest.raises(IqError) as refused:
            await execute(alice, SMS, node)
        assert refused.value.iq["error"]["condition"] == "forbidden"
        assert "only admins" in refused.value.iq["error"]["text"]
    assert [u.jid for u in await gateway.store.users.all()] == ["alice@localhost"]


async def test_admin_flag_in_the_database_is_checked_on_every_step(server: ProsodyServer, gateways: Gateways,
                                                                   people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table())
    assert gateway.store is not None
    await gateway.store.users.add("eve@localhost", is_admin=True)
    eve = await people(server, "eve")
    assert set(await command_nodes(eve, LOOPBACK)) >= ADMIN_NODES

    first = await execute(eve, LOOPBACK, "admin/users/add")  # the form came while she was an admin
    await gateway.store.users.update("eve@localhost", is_admin=False)
    await asyncio.sleep(1.1)  # AccessControl caches a user record for one second
    form = eve.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="jid", value="mallory@localhost")
    with pytest.raises(IqError) as refused:
        await eve.plugin["xep_0050"].send_command(LOOPBACK, "admin/users/add", action="complete",
                                                   sessionid=first["command"]["sessionid"], payload=form, timeout=5)
    assert refused.value.iq["error"]["condition"] == "forbidden"
    assert await gateway.store.users.get_user("mallory@localhost") is None
    assert not ADMIN_NODES & set(await command_nodes(eve, LOOPBACK))


async def test_config_admin_sees_admin_commands_without_a_user_record(server: ProsodyServer, gateways: Gateways,
                                                                      people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="closed"))
    boss = await people(server, ADMIN.split("@")[0])
    listed = await execute(boss, LOOPBACK, "admin/users/list")
    assert notes(listed) == [("info", "There are no users.")]
    assert gateway.store is not None
    await gateway.store.users.add(ADMIN)  # a user record without the admin flag: [xmpp] admins makes them one
    listed = await execute(boss, LOOPBACK, "admin/users/list")
    assert table(listed) == [{"jid": ADMIN, "admin": "yes", "enabled": "yes", "transports": ""}]
