"""Join refusals and keys, two resources of one user, injection through bodies and subjects, long and multi-line
bodies, and what changes in a room (kicks, nicks, modes, topic, away) as MUC stanzas."""

from __future__ import annotations

import asyncio

import pytest
from slixmpp.exceptions import PresenceError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gateway.app import Gateway
from gateway.devstack.ngircd import IrcLine, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import room_jid
from tests.e2e.irc.test_rooms import codes, groupchat, item, join, privmsg_to
from tests.support.xmpp_client import TestClient


def watch_presences(client: TestClient, queue: asyncio.Queue) -> None:  # type: ignore[type-arg]
    """Every presence the client receives goes to `queue` (slixmpp has no catch-all presence event)."""
    client.register_handler(Callback("test presences", MatchXPath("{jabber:client}presence"), queue.put_nowait))


def from_alice(command: str):  # type: ignore[no-untyped-def]
    return lambda line: line.command == command and line.nick == "alice"


@pytest.mark.parametrize(("mode", "condition", "numeric_text"), [
    ("+i", "registration-required", "Cannot join channel (+i)"),
    ("+k sesame", "not-authorized", "Cannot join channel (+k)"),
    ("+b alice!*@*", "forbidden", "Cannot join channel (+b)"),
    ("+l 1", "service-unavailable", "Cannot join channel (+l)"),
])
async def test_join_refusals_are_muc_errors_with_text(gateway: Gateway, alice: TestClient, bob: RawIrcClient,
                                                      mode: str, condition: str, numeric_text: str) -> None:
    await bob.join("#closed")
    await bob.send(f"MODE #closed {mode}")
    await bob.expect_command("MODE")
    with pytest.raises(PresenceError) as refused:
        await join(alice, "#closed", "alice")
    assert refused.value.condition == condition
    assert numeric_text in refused.value.text


async def test_an_error_presence_keeps_the_id_of_the_presence_it_answers(
        gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#invite")
    await bob.send("MODE #invite +i")
    await bob.expect_command("MODE")
    presences: asyncio.Queue = asyncio.Queue()  # type: ignore[type-arg]
    watch_presences(alice, presences)
    alice.send_raw(f"<presence to='{room_jid('#invite')}/alice' id='join-1'>"
                   "<x xmlns='http://jabber.org/protocol/muc'/></presence>")
    while (error := await asyncio.wait_for(presences.get(), 10))["type"] != "error":
        pass
    assert error["id"] == "join-1"  # RFC 6120 8.1.3: clients match the error to their request by it
    assert error["error"]["condition"] == "registration-required"


async def test_channel_key_is_the_muc_password(gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#keyed")
    await bob.send("MODE #keyed +k sesame")
    await bob.expect_command("MODE")
    presence, *_ = await join(alice, "#keyed", "alice", password="sesame")
    assert "110" in codes(presence)


async def test_two_resources_share_one_membership(gateway: Gateway, prosody: ProsodyServer, alice: TestClient,
                                                  bob: RawIrcClient) -> None:
    from tests.e2e.irc.conftest import muc_client

    phone = await muc_client(prosody, "alice", "phone")
    try:
        await bob.join("#both")
        await join(alice, "#both", "alice")
        presence, *_ = await join(phone, "#both", "alice")
        assert "110" in codes(presence)
        await bob.send("PRIVMSG #both :to everyone")
        for client in (alice, phone):
            await client.next_message(10, groupchat("to everyone"))
        alice.send_message(mto=room_jid("#both"), mbody="from res", mtype="groupchat")
        for client in (alice, phone):
            echo = await client.next_message(10, groupchat("from res"))
            assert echo["from"].resource == "alice"
        await bob.expect(privmsg_to("#both", "from res"))
        phone.plugin["xep_0045"].leave_muc(room_jid("#both"), "alice")
        await asyncio.sleep(0.5)
        assert not [line for line in bob.received if line.command == "PART"]  # alice/res is still in
        assert len([line for line in bob.received if line.command == "JOIN" and line.nick == "alice"]) == 1
        alice.plugin["xep_0045"].leave_muc(room_jid("#both"), "alice")
        await bob.expect(from_alice("PART"))
    finally:
        await phone.stop()


async def test_line_breaks_in_body_and_subject_cannot_inject_commands(gateway: Gateway, alice: TestClient,
                                                                      bob: RawIrcClient) -> None:
    # NUL cannot travel in XML 1.0 at all; CR and LF can (as character references) and are what matters here.
    await bob.join("#inject")
    await join(alice, "#inject", "alice")
    await bob.expect(from_alice("JOIN"))
    stanza = alice.make_message(mto=room_jid("#inject"), mbody="first\r\nKICK #inject bob :pwned\rQUIT :x",
                                mtype="groupchat")
    stanza.send()
    lines = [await bob.expect(from_alice("PRIVMSG")) for _ in range(3)]
    assert [list(line.params) for line in lines] == [
        ["#inject", "first"], ["#inject", "KICK #inject bob :pwned"], ["#inject", "QUIT :x"]]
    subject = alice.make_message(mto=room_jid("#inject"), mtype="groupchat")
    subject["subject"] = "new topic\r\nPART #inject"
    subject.send()
    topic = await bob.expect(from_alice("TOPIC"))
    assert list(topic.params) == ["#inject", "new topic PART #inject"]
    alice.send_message(mto=room_jid("#inject"), mbody="marker", mtype="groupchat")
    await bob.expect(privmsg_to("#inject", "marker"))
    assert not [line for line in bob.received if line.nick == "alice" and line.command in ("KICK", "QUIT", "PART")]


async def test_multi_line_and_long_bodies_are_split_whole(gateway: Gateway, alice: TestClient,
                                                          bob: RawIrcClient) -> None:
    await bob.join("#long")
    await join(alice, "#long", "alice")
    await bob.expect(from_alice("JOIN"))
    alice.send_message(mto=room_jid("#long"), mbody="one\ntwo\n\nthree", mtype="groupchat")
    lines = [await bob.expect(from_alice("PRIVMSG")) for _ in range(3)]
    assert [line.params[1] for line in lines] == ["one", "two", "three"]
    text = "中文字符" * 60 + "👍🏽" * 30  # 720 + 240 bytes: no blank to cut at, clusters must stay whole
    alice.send_message(mto=room_jid("#long"), mbody=text, mtype="groupchat")
    pieces: list[IrcLine] = []
    while "".join(line.params[1] for line in pieces) != text:
        pieces.append(await bob.expect(from_alice("PRIVMSG")))
        assert len(pieces) < 5
    assert len(pieces) >= 2
    assert all("\ufffd" not in line.params[1] and len(line.raw.encode()) <= 512 for line in pieces)
    assert not any(line.params[1].startswith("🏽") for line in pieces)  # the skin tone stays with its hand


async def with_carol(channel: str, alice: TestClient, bob: RawIrcClient,
                     irc_clients: list[RawIrcClient]) -> RawIrcClient:
    """bob and a new IRC user, carol, in `channel`, then alice joins it from XMPP; carol is returned."""
    carol = await RawIrcClient.connect(bob.writer.get_extra_info("peername")[1])
    irc_clients.append(carol)
    await carol.register("carol")
    await bob.join(channel)
    await carol.join(channel)
    await join(alice, channel, "alice")
    return carol


async def test_kicks_nick_changes_modes_and_topic(gateway: Gateway, alice: TestClient, bob: RawIrcClient,
                                                  irc_clients: list[RawIrcClient], ngircd: object) -> None:
    carol = await with_carol("#events", alice, bob, irc_clients)

    def presence_from(nick: str, ptype: str | None = None):  # type: ignore[no-untyped-def]
        return lambda p: p["from"].resource == nick and (ptype is None or p["type"] == ptype)

    presences: asyncio.Queue = asyncio.Queue()  # type: ignore[type-arg]
    watch_presences(alice, presences)

    async def next_presence(match):  # type: ignore[no-untyped-def]
        while True:
            p = await asyncio.wait_for(presences.get(), 10)
            if match(p):
                return p

    await bob.send("MODE #events +v carol")
    voiced = await next_presence(presence_from("carol"))
    assert item(voiced) == {"affiliation": "member", "role": "participant"}
    await bob.send("MODE #events +o alice")
    opped = await next_presence(presence_from("alice"))
    assert item(opped) == {"affiliation": "admin", "role": "moderator"} and "110" in codes(opped)

    await carol.send("NICK caroline")
    gone = await next_presence(presence_from("carol", "unavailable"))
    assert "303" in codes(gone) and item(gone)["nick"] == "caroline"
    assert item(gone)["role"] == "participant"  # she stays: not role='none', which reads as leaving
    back = await next_presence(presence_from("caroline"))
    assert back["type"] == "available" and item(back)["role"] == "participant"

    await bob.send("KICK #events caroline :behave")
    kicked = await next_presence(presence_from("caroline", "unavailable"))
    assert "307" in codes(kicked)
    assert kicked.xml.find(".//{http://jabber.org/protocol/muc#user}reason").text == "behave"

    await bob.send("TOPIC #events :fresh topic")
    subject = await alice.next_message(10, lambda m: m["type"] == "groupchat" and bool(m["subject"]))
    assert subject["subject"] == "fresh topic" and subject["from"].resource == "bob"

    await bob.send("KICK #events alice :out")
    own = await next_presence(presence_from("alice", "unavailable"))
    assert {"110", "307"} <= codes(own)


async def test_own_nick_change_and_away_without_nick_spam(gateway: Gateway, alice: TestClient,
                                                          bob: RawIrcClient) -> None:
    await bob.join("#nicks")
    await join(alice, "#nicks", "alice")
    await bob.expect(from_alice("JOIN"))
    # A presence update (away) to the same nick: AWAY, never NICK.
    alice.send_presence(pto=f"{room_jid('#nicks')}/alice", pshow="away", pstatus="lunch")
    await asyncio.sleep(0.5)
    await bob.send("WHOIS alice")
    away = await bob.expect_command("301")
    assert away.params[-1] == "lunch"
    assert not [line for line in bob.received if line.command == "NICK"]

    presences: asyncio.Queue = asyncio.Queue()  # type: ignore[type-arg]
    watch_presences(alice, presences)
    alice.send_presence(pto=f"{room_jid('#nicks')}/alicia")
    nick = await bob.expect(lambda line: line.command == "NICK")
    assert nick.nick == "alice" and list(nick.params) == ["alicia"]
    while True:
        p = await asyncio.wait_for(presences.get(), 10)
        if p["type"] == "unavailable" and p["from"].resource == "alice":
            break
    assert {"303", "110"} <= codes(p) and item(p)["nick"] == "alicia"


async def test_room_events_keep_their_order_with_the_messages_before_them(
        gateway: Gateway, alice: TestClient, bob: RawIrcClient, irc_clients: list[RawIrcClient]) -> None:
    carol = await with_carol("#order", alice, bob, irc_clients)
    seen: asyncio.Queue = asyncio.Queue()  # type: ignore[type-arg]
    alice.register_handler(Callback("test order", MatchXPath("{jabber:client}message"), seen.put_nowait))
    watch_presences(alice, seen)

    # Messages wait for their journal commit; the part and the topic right behind them must not overtake them.
    lines = [*(f"PRIVMSG #order :line {n}" for n in range(20)), "TOPIC #order :after the lines", "PART #order :bye"]
    await carol.send_raw("".join(f"{line}\r\n" for line in lines).encode())
    order: list[str] = []
    while "carol left" not in order:
        stanza = await asyncio.wait_for(seen.get(), 10)
        if stanza["from"].bare != room_jid("#order"):
            continue
        if stanza.name == "presence" and stanza["from"].resource == "carol" and stanza["type"] == "unavailable":
            order.append("carol left")
        elif stanza.name == "message" and stanza["subject"]:
            order.append("topic")
        elif stanza.name == "message" and stanza["body"].startswith("line "):
            order.append(stanza["body"])
    assert order == [f"line {n}" for n in range(20)] + ["topic", "carol left"]
