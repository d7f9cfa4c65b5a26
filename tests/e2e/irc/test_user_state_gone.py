"""Nothing the gateway keeps in memory for a user outlives them: once they left the IRC transport, or went offline
and their connection closed, no key or value in the IRC transport, its sessions or the MUC service names them.

The objects are walked generically (every dict, set, list and attribute of the IRC and MUC modules' objects), so a
dict keyed by user that is added later is caught without this test knowing its name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

from gateway.app import Gateway
from gateway.devstack.ngircd import RawIrcClient
from tests.e2e.irc.conftest import IRC, NETWORK, room_jid
from tests.e2e.irc.test_rooms import join
from tests.e2e.test_registration_irc import NS, submit
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

ALICE = "alice@localhost"
BOB = f"bob%{NETWORK}@{IRC}"
# Objects of these modules are walked into; others (the component, the router, the store, asyncio) are not ours
# to inspect here.
OWN_MODULES = ("gateway.transports.irc.", "gateway.xmpp.muc")


def _attributes(value: object) -> Iterator[tuple[str, Any]]:
    if hasattr(value, "__dict__"):
        yield from vars(value).items()
    for cls in type(value).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(value, name):
                yield name, getattr(value, name)


def mentions(root: object, user: str) -> list[str]:
    """Where under `root` `user` is named, in a key or a value, as paths (empty when nowhere)."""
    found: list[str] = []
    seen: set[int] = set()

    def walk(value: object, path: str) -> None:
        if isinstance(value, str):
            if user in value:
                found.append(path)
            return
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, dict):
            for key, item in list(value.items()):
                walk(key, f"{path}[key {key!r}]")
                walk(item, f"{path}[{key!r}]")
        elif isinstance(value, (set, frozenset, list, tuple)):
            for index, item in enumerate(list(value)):
                walk(item, f"{path}[{index}]")
        elif type(value).__module__.startswith(OWN_MODULES):
            for name, item in _attributes(value):
                walk(item, f"{path}.{name}")

    walk(root, "")
    return found


def kept_of(gateway: Gateway, user: str) -> list[str]:
    return [f"{name}{path}" for name, root in (("transport", gateway.transports["irc"]), ("muc", gateway.mucs["irc"]))
            for path in mentions(root, user)]


async def forgotten(gateway: Gateway, user: str) -> None:
    with contextlib.suppress(TimeoutError):
        await wait_until(lambda: not kept_of(gateway, user), timeout=5)
    assert kept_of(gateway, user) == []


async def talk_to_bob(gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    """alice in a room with bob, with a private conversation in it and one outside: state of every kind."""
    await bob.join("#kept")
    await join(alice, "#kept", "alice")
    alice.send_message(mto=BOB, mbody="outside", mtype="chat")
    await bob.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "outside", timeout=10)
    alice.send_message(mto=f"{room_jid('#kept')}/bob", mbody="inside", mtype="chat")
    await bob.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "inside", timeout=10)
    kept = kept_of(gateway, ALICE)
    # The walk sees the state (else the assertions below prove nothing).
    assert any(".sessions._sessions" in path for path in kept) and any("._members" in path for path in kept)


async def test_nothing_of_a_user_outlives_their_leaving_the_transport(gateway: Gateway, alice: TestClient,
                                                                      bob: RawIrcClient) -> None:
    await submit(alice, "alice")
    await talk_to_bob(gateway, alice, bob)
    query = ET.Element(f"{{{NS}}}query")
    ET.SubElement(query, f"{{{NS}}}remove")
    await alice.iq(IRC, query, type="set")
    await bob.expect(lambda line: line.command == "QUIT" and line.nick == "alice", timeout=10)
    await forgotten(gateway, ALICE)


async def test_nothing_of_a_user_outlives_their_going_offline(gateway: Gateway, alice: TestClient,
                                                              bob: RawIrcClient) -> None:
    await talk_to_bob(gateway, alice, bob)
    await alice.stop()  # their server tells the room: the IRC side parts, and QUITs after the grace period
    await bob.expect(lambda line: line.command == "PART" and line.nick == "alice", timeout=10)
    await wait_until(lambda: gateway.transports["irc"].sessions.get(ALICE, NETWORK) is None,  # type: ignore[attr-defined]
                     timeout=10)
    await forgotten(gateway, ALICE)
