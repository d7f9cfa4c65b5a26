"""Channels as group chats: join, occupants with roles, subject, talking both ways, /me, notices, leaving."""

from __future__ import annotations

from slixmpp import Message

from gateway.app import Gateway
from gateway.devstack.ngircd import IrcLine, RawIrcClient
from tests.e2e.irc.conftest import IRC, NETWORK, room_jid
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

MUC_USER = "{http://jabber.org/protocol/muc#user}"


def codes(stanza: object) -> set[str]:
    xml = stanza.xml  # type: ignore[attr-defined]
    return {status.get("code") for status in xml.iter(f"{MUC_USER}status")}


def item(stanza: object) -> dict[str, str]:
    found = stanza.xml.find(f"{MUC_USER}x/{MUC_USER}item")  # type: ignore[attr-defined]
    return dict(found.attrib) if found is not None else {}


def privmsg_to(target: str, text: str | None = None) -> object:
    def match(line: IrcLine) -> bool:
        return line.command == "PRIVMSG" and line.params[0].lower() == target.lower() and (
            text is None or line.params[-1] == text)
    return match


def groupchat(body: str | None = None):  # type: ignore[no-untyped-def]
    def match(msg: Message) -> bool:
        return msg["type"] == "groupchat" and bool(msg["body"]) and (body is None or msg["body"] == body)
    return match


def stanza_id(msg: Message) -> str | None:
    """The room's stanza-id of a message (XEP-0359): the journal's id, the same on a redelivery."""
    found = msg.xml.find("{urn:xmpp:sid:0}stanza-id")
    return found.get("id") if found is not None else None


async def join(client: TestClient, channel: str, nick: str, password: str | None = None) -> tuple:  # type: ignore[type-arg]
    return await client.plugin["xep_0045"].join_muc_wait(room_jid(channel), nick, password=password, timeout=10)


async def test_join_shows_self_presence_occupants_with_roles_and_subject(
        gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#room")  # bob is first in: channel operator
    await bob.send("TOPIC #room :Welcome to \x02the\x02 room")
    await bob.expect_command("TOPIC")
    presence, subject, occupants, _ = await join(alice, "#room", "alice")
    assert "110" in codes(presence)
    assert item(presence)["role"] == "participant"
    by_nick = {p["from"].resource: p for p in occupants}
    assert set(by_nick) >= {"bob"}
    assert item(by_nick["bob"]) == {"affiliation": "admin", "role": "moderator"}
    assert subject["subject"] == "Welcome to *the* room"
    line = await bob.expect(lambda line: line.command == "JOIN")
    assert line.nick == "alice"


async def test_a_room_without_a_topic_ends_the_join_with_one_empty_subject(
        gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#notopic")
    _, subject, _, _ = await join(alice, "#notopic", "alice")
    [element] = subject.xml.findall("{jabber:client}subject")  # two were written
    assert not element.text


async def test_talk_both_ways_with_reflection_and_action(gateway: Gateway, alice: TestClient,
                                                         bob: RawIrcClient) -> None:
    await bob.join("#talk")
    await join(alice, "#talk", "alice")
    await bob.send("PRIVMSG #talk :hello \x02alice\x02")
    msg = await alice.next_message(10, groupchat())
    assert msg["from"] == f"#talk%{NETWORK}@{IRC}/bob"
    assert msg["body"] == "hello *alice*"
    assert stanza_id(msg) and msg.xml.get("id") is None  # the stanza-id is its id; no second copy of it

    out = alice.make_message(mto=room_jid("#talk"), mbody="hi bob", mtype="groupchat")
    out["id"] = "client-id-1"
    out["origin_id"]["id"] = "origin-1"
    out.send()
    await bob.expect(privmsg_to("#talk", "hi bob"))
    echo = await alice.next_message(10, groupchat("hi bob"))
    assert echo["id"] == "client-id-1"
    assert echo["from"].resource == "alice"
    assert echo.xml.find("{urn:xmpp:sid:0}origin-id").get("id") == "origin-1"
    assert echo.xml.find("{urn:xmpp:sid:0}stanza-id").get("id")

    alice.send_message(mto=room_jid("#talk"), mbody="/me waves", mtype="groupchat")
    await bob.expect(privmsg_to("#talk", "\x01ACTION waves\x01"))
    await bob.send("PRIVMSG #talk :\x01ACTION nods\x01")
    assert (await alice.next_message(10, groupchat("/me nods")))["from"].resource == "bob"
    await bob.send("NOTICE #talk :a notice")
    assert (await alice.next_message(10, groupchat("a notice")))["from"].resource == "bob"


async def test_leaving_parts_the_channel(gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#leave")
    await join(alice, "#leave", "alice")
    await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
    alice.plugin["xep_0045"].leave_muc(room_jid("#leave"), "alice")
    await bob.expect(lambda line: line.command == "PART" and line.nick == "alice")
    # the connection closes a grace period (0.5 s here) after the last channel is left
    sessions = gateway.transports["irc"].sessions  # type: ignore[attr-defined]
    await wait_until(lambda: sessions.get("alice@localhost", NETWORK) is None, timeout=5)
    await bob.send("WHOIS alice")
    await bob.expect_command("401")  # no such nick: the connection QUIT
