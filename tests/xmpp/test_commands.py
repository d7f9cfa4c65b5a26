"""Command objects without XMPP: parsing chat text, checking values, access on every call, chat help."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.commands.command import (
    Access,
    Command,
    CommandError,
    Context,
    Field,
    FieldType,
    Forbidden,
    Result,
    Values,
)
from gateway.commands.command_set import CommandSet
from gateway.core.policy import AccessControl, AccessPolicy
from gateway.store.store import Store
from gateway.transports.base import AddressError
from gateway.transports.loopback.descriptor import LoopbackDescriptor
from gateway.xmpp.administration import commands_for
from gateway.xmpp.chat import ChatCommands

ADMIN = "root@example.org"


class Transport(SimpleNamespace):
    """Enough of a transport for commands: a name, a domain, addresses and help."""

    def __init__(self, mode: str = "closed") -> None:
        super().__init__(name="loopback", prompt=None, settings=SimpleNamespace(jid="loop.example.org", access=mode))

    def normalize_peer(self, text: str) -> str:
        if " " in text or not text:
            raise AddressError("no spaces in loopback addresses")
        return text

    def help_text(self) -> str:
        return "Loopback help."


class Notes:
    def __init__(self) -> None:
        self.changed = 0
        self.gone: list[str] = []

    def contacts_changed(self) -> None:
        self.changed += 1

    def unregistered(self, jid: str) -> None:
        self.gone.append(jid)


async def echo(context: Context, values: Values) -> Result:
    return Result(f"{context.jid}: {dict(values)}")


ECHO = Command("echo", "Echo", "Echo the values.", Access.USER, echo,
               (Field("address", "Address"), Field("name", "Name", rest=True), Field("group", "Group", required=False)),
               words=("echo",))
FLAG = Command("flag", "Flag", "A boolean.", Access.ADMIN, echo,
               (Field("admin", "Admin", FieldType.BOOLEAN, required=False, default=False),), words=("flag",))


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url, migrate=True)
    yield store
    await store.close()


def command_set(store: Store, mode: str = "closed", commands: tuple[Command, ...] = (ECHO, FLAG)) -> CommandSet:
    # A clock that moves on by more than the cache keeps a record at every look: every call reads the store.
    access = AccessControl(store.users, frozenset({ADMIN}), {"loopback": AccessPolicy(mode, ("*@team.org",))},
                           clock=itertools.count(step=AccessControl.CACHE_SECONDS * 10).__next__)
    transport: Any = Transport(mode)
    return CommandSet(commands, access, transport, store, Notes())


def test_chat_text_fills_fields_in_order_and_the_rest_field_takes_spaces() -> None:
    assert ECHO.parse("+1555 Aunt May") == {"address": "+1555", "name": "Aunt May"}
    assert ECHO.usage == "echo <address> <name>"
    with pytest.raises(CommandError, match=r"Name is required\. Usage: echo <address> <name>"):
        ECHO.parse("+1555")


def test_values_are_checked_and_booleans_converted() -> None:
    assert FLAG.values({}) == {"admin": False}
    assert FLAG.values({"admin": "yes"}) == {"admin": True}
    assert FLAG.values({"admin": ["0"]}) == {"admin": False}
    with pytest.raises(CommandError, match="yes or no"):
        FLAG.values({"admin": "maybe"})
    choice = Command("c", "C", "", Access.USER, echo, (Field("mode", "Mode", FieldType.LIST, options=("a", "b")),))
    with pytest.raises(CommandError, match="one of: a, b"):
        choice.values({"mode": "c"})


async def test_admin_commands_are_refused_to_others_on_every_call(store: Store) -> None:
    commands = command_set(store)
    await store.users.add("alice@example.org")
    with pytest.raises(Forbidden, match="only admins"):
        await commands.run("alice@example.org", FLAG, {})
    assert [c.node for c in await commands.visible("alice@example.org")] == ["echo"]

    await store.users.update("alice@example.org", is_admin=True)  # the flag counts as soon as it is set
    assert (await commands.run("alice@example.org", FLAG, {"admin": True})).text == \
        "alice@example.org: {'admin': True}"
    assert [c.node for c in await commands.visible(ADMIN)] == ["echo", "flag"]
    await store.users.update("alice@example.org", enabled=False)  # a disabled admin is no admin
    with pytest.raises(Forbidden):
        await commands.run("alice@example.org", FLAG, {})


async def test_user_commands_follow_the_access_policy(store: Store) -> None:
    closed, allowlist = command_set(store, "closed"), command_set(store, "allowlist")
    with pytest.raises(Forbidden, match="not a user"):
        await closed.run("eve@example.org", ECHO, {"address": "a", "name": "b"})
    await allowlist.run("bob@team.org", ECHO, {"address": "a", "name": "b"})
    with pytest.raises(Forbidden, match="not allowed"):
        await allowlist.run("eve@example.org", ECHO, {"address": "a", "name": "b"})


async def test_user_contact_commands_work_on_the_callers_data_only(store: Store) -> None:
    commands = command_set(store, "open", commands_for(LoopbackDescriptor()))
    await store.users.add("alice@example.org")
    await store.users.add("bob@example.org")
    await store.contacts.add("bob@example.org", "loopback", "echo", "Bob's echo")
    add = commands.by_word("add")
    remove = commands.by_word("remove")
    assert add is not None and remove is not None
    await commands.run("alice@example.org", add, {"address": "echo", "name": "My echo", "group": "Tests"})
    with pytest.raises(CommandError, match="no spaces"):
        await commands.run("alice@example.org", add, {"address": "two words", "name": "x"})
    assert [(c.name, c.group) for c in await store.contacts.find("alice@example.org")] == [("My echo", "Tests")]
    await commands.run("alice@example.org", remove, {"address": "echo"})
    assert await store.contacts.find("alice@example.org") == []
    assert [c.name for c in await store.contacts.find("bob@example.org")] == ["Bob's echo"]
    assert isinstance(commands.notify, Notes) and commands.notify.changed == 2

    stranger = commands.by_word("contacts")
    assert stranger is not None and stranger.needs_user
    with pytest.raises(Forbidden, match="not registered"):
        await commands.run("carol@example.org", stranger, {})


async def test_chat_help_lists_admin_commands_for_admins_only(store: Store) -> None:
    chat = ChatCommands(command_set(store, "open", commands_for(LoopbackDescriptor())))
    mine = await chat.help("alice@example.org")
    assert mine.startswith("Loopback help.") and "add <address> <name>" in mine and "user-add" not in mine
    assert "Admin commands:" in await chat.help(ADMIN) and "user-add <jid> [admin]" in await chat.help(ADMIN)
    assert (await chat.handle("alice@example.org", "user-add x@y.org")).startswith("Unknown command: user-add")
    assert await chat.handle(ADMIN, "user-add x@y.org") == "Added x@y.org; transports: loopback."


async def test_admins_remove_a_user_from_one_transport_or_everywhere(store: Store) -> None:
    access = AccessControl(store.users, frozenset({ADMIN}),
                           {name: AccessPolicy("closed", ()) for name in ("loopback", "sms")})
    transport: Any = Transport()
    commands = CommandSet(commands_for(LoopbackDescriptor()), access, transport, store, Notes())
    remove = next(c for c in commands_for(LoopbackDescriptor()) if c.node == "admin/users/remove")
    await store.users.add("alice@example.org", transports=("loopback", "sms"))

    with pytest.raises(CommandError, match="no transport named irc"):
        await commands.run(ADMIN, remove, {"jid": "alice@example.org", "transport": "irc"})
    result = await commands.run(ADMIN, remove, {"jid": "alice@example.org", "transport": "sms"})
    assert result.text == ("Removed alice@example.org from sms with their bindings, contacts and message journal "
                           "there.")
    record = await store.users.get_user("alice@example.org")
    assert record is not None and record.transports == frozenset({"loopback"})
    result = await commands.run(ADMIN, remove, {"jid": "alice@example.org", "transport": "loopback"})
    assert result.text.endswith("it was their last transport, so the user is gone.")
    assert await store.users.get_user("alice@example.org") is None
