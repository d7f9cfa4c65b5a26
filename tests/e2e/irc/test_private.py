"""Private messages: with nick%network, in-room (room/nick), /me, and a full flood queue told to the sender."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from slixmpp import Message

from gateway.app import Gateway
from gateway.core.events import Status
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from gateway.transports.irc.transport import IrcTransport
from tests.e2e.irc.conftest import IRC, NETWORK, irc_config, room_jid
from tests.e2e.irc.test_rooms import join
from tests.support.stack import start_gateway, wait_until
from tests.support.xmpp_client import TestClient

BOB = f"bob%{NETWORK}@{IRC}"


def chat(body: str):  # type: ignore[no-untyped-def]
    return lambda msg: msg["type"] == "chat" and msg["body"] == body


def privmsg_to_bob(line: object) -> bool:
    return line.command == "PRIVMSG" and line.params[0] == "bob"  # type: ignore[attr-defined]


async def test_private_messages_both_ways_with_action(gateway: object, alice: TestClient,
                                                      bob: RawIrcClient) -> None:
    alice.send_message(mto=BOB, mbody="hello bob", mtype="chat")
    line = await bob.expect(privmsg_to_bob, timeout=10)
    assert line.nick == "alice" and line.params[1] == "hello bob"
    alice.send_message(mto=BOB, mbody="/me waves", mtype="chat")
    assert (await bob.expect(privmsg_to_bob)).params[1] == "\x01ACTION waves\x01"
    await bob.send("PRIVMSG alice :hi \x1ditalic\x1d")
    reply = await alice.next_message(10, chat("hi _italic_"))
    assert reply["from"] == BOB
    await bob.send("PRIVMSG alice :\x01ACTION grins\x01")
    assert (await alice.next_message(10, chat("/me grins")))["from"] == BOB


async def test_in_room_private_messages(gateway: object, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#pm")
    await join(alice, "#pm", "alice")
    alice.send_message(mto=f"{room_jid('#pm')}/bob", mbody="psst", mtype="chat")
    line = await bob.expect(privmsg_to_bob, timeout=10)
    assert line.nick == "alice" and line.params[1] == "psst"
    await bob.send("PRIVMSG alice :what?")
    reply = await alice.next_message(10, chat("what?"))
    assert reply["from"] == f"{room_jid('#pm')}/bob"  # the answer stays in the room's private conversation
    assert reply.xml.find("{http://jabber.org/protocol/muc#user}x") is not None


async def test_after_leaving_the_room_a_private_message_is_an_ordinary_chat_again(
        gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#pm")
    await join(alice, "#pm", "alice")
    await join(alice, "#stay", "alice")  # alice's IRC connection stays open after she leaves #pm
    alice.send_message(mto=f"{room_jid('#pm')}/bob", mbody="psst", mtype="chat")
    await bob.expect(privmsg_to_bob, timeout=10)
    alice.plugin["xep_0045"].leave_muc(room_jid("#pm"), "alice")
    await bob.expect(lambda line: line.command == "PART" and line.nick == "alice", timeout=10)
    await bob.send("PRIVMSG alice :are you still there?")
    reply = await alice.next_message(10, chat("are you still there?"))
    assert reply["from"] == BOB  # was routed to the room she had left: kept as unroutable, nobody told
    store = gateway.store
    assert store is not None

    async def delivered() -> bool:  # the journal marks it once the stanza is written: a moment after it arrived
        [row] = [r for r in await store.journal.history(user="alice@localhost") if r.body == "are you still there?"]
        return row.status is Status.DELIVERED

    await wait_until(delivered, timeout=5)


async def test_what_a_connection_learned_goes_with_it(gateway: Gateway, alice: TestClient,
                                                      bob: RawIrcClient) -> None:
    await bob.join("#bye")
    await join(alice, "#bye", "alice")
    alice.send_message(mto=BOB, mbody="outside", mtype="chat")
    await bob.expect(lambda line: privmsg_to_bob(line) and line.params[1] == "outside", timeout=10)
    alice.send_message(mto=f"{room_jid('#bye')}/bob", mbody="in the room", mtype="chat")
    await bob.expect(lambda line: privmsg_to_bob(line) and line.params[1] == "in the room", timeout=10)
    sessions = cast(IrcTransport, gateway.transports["irc"]).sessions
    session = sessions.find("alice@localhost", NETWORK)
    assert session is not None and session.contacts and session.pm_rooms
    alice.plugin["xep_0045"].leave_muc(room_jid("#bye"), "alice")
    await wait_until(lambda: sessions.find("alice@localhost", NETWORK) is None, timeout=10)  # QUIT after the grace
    assert session.connection is not None and session.connection.closed  # the session went whole, with its learning


async def test_full_flood_queue_is_an_error_never_a_silent_drop(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        bob: RawIrcClient) -> None:
    running = await start_gateway(irc_config(prosody, ngircd, sqlite_url, queue_size=5), tmp_path)
    try:
        await bob.join("#flood")
        await join(alice, "#flood", "alice")
        many = "\n".join(f"line {n}" for n in range(10))  # 10 lines cannot fit a queue of 5
        stanza = alice.make_message(mto=room_jid("#flood"), mbody=many, mtype="groupchat")
        stanza["id"] = "too-many"
        stanza.send()

        def error(msg: Message) -> bool:
            return msg["type"] == "error" and msg["id"] == "too-many"

        refused = await alice.next_message(10, error)
        assert refused["error"]["condition"] == "resource-constraint"
        assert "try again" in refused["error"]["text"]

        stanza = alice.make_message(mto=BOB, mbody=many, mtype="chat")
        stanza["id"] = "too-many"
        stanza.send()
        refused = await alice.next_message(10, error)
        assert refused["error"]["condition"] == "resource-constraint"
        alice.send_message(mto=room_jid("#flood"), mbody="still here", mtype="groupchat")
        line = await bob.expect(lambda line: line.command == "PRIVMSG" and line.nick == "alice", timeout=10)
        assert line.params[1] == "still here"  # nothing of the refused bodies went out
    finally:
        await running.stop()


async def test_a_mapped_contact_comes_with_their_name(gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost")
    await gateway.store.contacts.add("alice@localhost", "irc", f"bob%{NETWORK}", "Bob the Builder")
    alice.send_message(mto=BOB, mbody="hello bob", mtype="chat")  # opens alice's IRC connection
    await bob.expect(privmsg_to_bob, timeout=10)
    await bob.send("PRIVMSG alice :can we fix it?")
    reply = await alice.next_message(10, chat("can we fix it?"))
    assert reply["from"] == BOB
    assert reply["nick"]["nick"] == "Bob the Builder"
