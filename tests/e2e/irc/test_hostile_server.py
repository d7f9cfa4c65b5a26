"""An IRC server that says what no real one would: odd nicks, formatting codes where none belong, controls.

Real Prosody and the gateway in-process; the IRC network is tests/support/hostile_irc.py. Each test is one case of
the untrusted-input issue: none may cut the IRC component's stream, stop the gateway, or keep anyone's messages
from arriving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slixmpp import JID

from gateway.app import Gateway
from gateway.core.events import InboundMessage
from gateway.devstack.prosody import ProsodyServer
from gateway.store.store import Store
from gateway.xmpp.addressing import local_part, resource_part
from tests.e2e.irc.conftest import IRC, NETWORK, room_jid
from tests.e2e.irc.support import Presences, irc_config_for
from tests.e2e.irc.test_rooms import join
from tests.support.hostile_irc import HostileIrcServer
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

HEBREW_AND_LATIN = "Jo\u05d0\u05d1"  # nodeprep's bidi rule refuses this as a local part
MUC_USER = "{http://jabber.org/protocol/muc#user}"
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@pytest.fixture
async def hostile() -> AsyncIterator[HostileIrcServer]:
    async with HostileIrcServer() as server:
        yield server


@pytest.fixture
async def gateway(prosody: ProsodyServer, hostile: HostileIrcServer, tmp_path: Path, sqlite_url: str
                  ) -> AsyncIterator[Gateway]:
    running = await start_gateway(irc_config_for(prosody, hostile.port, sqlite_url), tmp_path)
    yield running
    await running.stop()


def contact(nick: str) -> str:
    return f"{local_part(f'{nick}%{NETWORK}')}@{IRC}"


def reconnects(gateway: Gateway) -> float:
    return gateway.metrics.reconnects.labels(component=IRC)._value.get()  # type: ignore[no-any-return]


async def still_flowing(gateway: Gateway, hostile: HostileIrcServer, alice: TestClient, tag: str) -> None:
    """The stream was never cut, and an ordinary private message still arrives."""
    await hostile.send(f":carol!u@h PRIVMSG alice :still here {tag}")
    await alice.next_message(10, lambda m: m["body"] == f"still here {tag}")
    assert reconnects(gateway) == 0


async def test_private_messages_from_nicks_no_jid_could_hold_arrive_and_can_be_answered(
        gateway: Gateway, hostile: HostileIrcServer, alice: TestClient) -> None:
    await join(alice, "#keep", "alice")  # keeps alice's connection open between the messages
    client = await hostile.wait_client("alice")
    for index, nick in enumerate((HEBREW_AND_LATIN, "nul\x00nick", "\u200eltr", "bell\x07")):
        await hostile.send(f":{nick}!u@h PRIVMSG alice :message {index}", client)
        got = await alice.next_message(10, lambda m, index=index: m["body"] == f"message {index}")
        assert got["from"] == JID(contact(nick))
        alice.send_message(mto=got["from"], mbody=f"reply {index}", mtype="chat")
        if "\x00" in nick:  # no IRC line can carry a NUL: the reply is refused with the reason
            error = await alice.next_message(10, lambda m: m["type"] == "error")
            assert "NUL" in error["error"]["text"]
            continue
        line = await hostile.wait_line(lambda line, index=index: line.command == "PRIVMSG"
                                       and line.params[-1] == f"reply {index}")
        # The nick itself, not an escaped one; only its ASCII letters may come back folded (as IRC compares).
        assert line.params[0] == nick.translate(ASCII_LOWER)
    await still_flowing(gateway, hostile, alice, "after odd nicks")


async def test_a_journaled_message_from_such_a_nick_does_not_stop_the_next_start(
        prosody: ProsodyServer, hostile: HostileIrcServer, tmp_path: Path, sqlite_url: str,
        alice: TestClient) -> None:
    # What a crash leaves: a message from such a nick journaled, not yet delivered.
    config = irc_config_for(prosody, hostile.port, sqlite_url)
    first = await start_gateway(config, tmp_path)
    await first.stop()
    store = await Store.open(sqlite_url)
    try:
        await store.journal.record_inbound(InboundMessage(transport="irc", user="alice@localhost",
                                                          peer=f"{HEBREW_AND_LATIN}%{NETWORK}", body="kept"))
    finally:
        await store.close()
    second = await start_gateway(config, tmp_path)  # raised InvalidJID in resume before
    try:
        got = await alice.next_message(10, lambda m: m["body"] == "kept")
        assert got["from"] == JID(contact(HEBREW_AND_LATIN))
    finally:
        await second.stop()


async def test_quit_and_away_reasons_with_formatting_codes_become_plain_statuses(
        gateway: Gateway, hostile: HostileIrcServer, alice: TestClient) -> None:
    presences = Presences(alice)
    hostile.names["#q"] = "@alice bob"
    await join(alice, "#q", "alice")
    client = await hostile.wait_client("alice")
    await hostile.send(":bob!u@h PRIVMSG alice :hi", client)  # bob becomes a contact too
    await alice.next_message(10, lambda m: m["body"] == "hi")
    await hostile.send(":bob!u@h AWAY :\x02out\x02 \x0304for lunch\x03", client)
    away = await presences.next(lambda p: p["from"] == JID(f"{room_jid('#q')}/bob") and p["show"] == "away")
    assert away["status"] == "out for lunch"
    await hostile.send(":bob!u@h QUIT :\x0304bye\x03 \x1fnow\x1f", client)
    occupant, contact = JID(f"{room_jid('#q')}/bob"), JID(f"bob%{NETWORK}@{IRC}")
    gone = {}
    while len(gone) < 2:  # the room's and the contact's, in either order
        presence = await presences.next(lambda p: p["from"] in (occupant, contact) and p["type"] == "unavailable")
        gone[presence["from"]] = presence
    assert gone[occupant].xml.findtext(f"{MUC_USER}x/{MUC_USER}item/{MUC_USER}reason") == "bye now"
    assert gone[contact]["status"] == "bye now"
    await still_flowing(gateway, hostile, alice, "after the quit")


async def test_server_numerics_with_colour_codes_become_plain_notices(
        gateway: Gateway, hostile: HostileIrcServer, alice: TestClient) -> None:
    await join(alice, "#keep", "alice")
    client = await hostile.wait_client("alice")
    await hostile.send(":hostile.test 401 alice zed :\x0304No such\x03 \x02nick\x02\x07", client)
    notice = await alice.next_message(10, lambda m: "No such" in m["body"])
    assert notice["from"] == JID(f"{NETWORK}@{IRC}")
    assert notice["body"] == "No such nick"
    await still_flowing(gateway, hostile, alice, "after the numeric")


async def test_room_lines_and_names_from_nicks_no_resource_could_hold(
        gateway: Gateway, hostile: HostileIrcServer, alice: TestClient) -> None:
    odd = ["\x07", "\u200e", "c1\x85x", "nul\x00"]
    hostile.names["#odd"] = "@alice " + " ".join(odd)
    _, _, occupants, _ = await join(alice, "#odd", "alice")  # internal-server-error before
    assert {p["from"].resource for p in occupants} >= {resource_part(nick) for nick in odd}
    await join(alice, "#plain", "alice")
    client = await hostile.wait_client("alice")
    for nick in odd:  # a round of lines: one bad line stopped the rest of the round and later rounds before
        await hostile.send(f":{nick}!u@h PRIVMSG #odd :line from {nick!r}", client)
    await hostile.send(":bob!u@h PRIVMSG #plain :in another room", client)
    for nick in odd:
        got = await alice.next_message(10, lambda m, nick=nick: m["body"] == f"line from {nick!r}")
        assert got["from"] == JID(f"{room_jid('#odd')}/{resource_part(nick)}")
    await alice.next_message(10, lambda m: m["body"] == "in another room")
    # An in-room private message to such a nick reaches exactly that nick.
    alice.send_message(mto=f"{room_jid('#odd')}/{resource_part(odd[1])}", mbody="psst", mtype="chat")
    line = await hostile.wait_line(lambda line: line.command == "PRIVMSG" and line.params[-1] == "psst")
    assert line.params[0] == odd[1]
    await still_flowing(gateway, hostile, alice, "after odd occupants")


async def test_a_line_said_while_the_network_is_reconnecting_gets_an_error_saying_so(
        gateway: Gateway, hostile: HostileIrcServer, alice: TestClient) -> None:
    await join(alice, "#down", "alice")
    await hostile.stop()  # the network goes away; the gateway keeps trying to reconnect
    await alice.next_message(10, lambda m: "reconnecting" in m["body"])  # the room says so
    alice.send_message(mto=room_jid("#down"), mbody="anyone?", mtype="groupchat")
    error = await alice.next_message(10, lambda m: m["type"] == "error")
    assert error["error"]["condition"] == "recipient-unavailable"
    assert error["error"]["text"] == f"Reconnecting to {NETWORK}; try again shortly."  # not "join it first"


async def test_a_stop_does_not_wait_for_a_join_the_network_never_answers(
        prosody: ProsodyServer, hostile: HostileIrcServer, tmp_path: Path, sqlite_url: str, alice: TestClient) -> None:
    answer = hostile._answer

    async def silent_on_join(client: object, line: object) -> None:
        if line.command != "JOIN":  # type: ignore[attr-defined]
            await answer(client, line)  # type: ignore[arg-type]

    hostile._answer = silent_on_join  # type: ignore[method-assign]
    running = await start_gateway(irc_config_for(prosody, hostile.port, sqlite_url), tmp_path)
    alice.send_presence(pto=f"{room_jid('#void')}/alice")
    await hostile.wait_line(lambda line: line.command == "JOIN")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await running.stop()  # waited for the join's 30 s timeout (or for ever) before
    assert loop.time() - started < 15
