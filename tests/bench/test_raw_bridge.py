"""The bench's server ceiling routes what the gateway routes, through real Prosody and ngircd: a room message to IRC
(and back to its sender), an IRC line to the room's XMPP member, each user on an IRC connection of their own."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest

from bench.irc_load import RawIrcLoad
from bench.raw_bridge import RawBridge
from bench.xmpp_load import CLIENT_NS, RawXmppClient, body_of
from gateway.devstack.ngircd import NgircdServer
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET

ROOM = f"#room%net@{LOOPBACK}"


@pytest.fixture
async def bridge(prosody: ProsodyServer, ngircd: NgircdServer) -> AsyncIterator[RawBridge]:
    running = RawBridge(LOOPBACK, LOOPBACK_SECRET, ngircd.port)
    await running.connect(prosody.component_port)
    await asyncio.wait_for(running.ready.wait(), 10)
    yield running
    await running.close()


async def test_the_bridge_routes_both_ways_on_an_irc_connection_of_the_users_own(
        prosody: ProsodyServer, ngircd: NgircdServer, bridge: RawBridge) -> None:
    prosody.register("alice", "alice-pw")
    alice = RawXmppClient("alice", "localhost", "alice-pw")
    observer = RawIrcLoad("observer")
    try:
        await alice.login(prosody.c2s_port)
        await observer.connect(ngircd.port)
        await observer.join("#room")
        await observer.join("#other")
        seen_joins = [observer.joined(channel, "alice") for channel in ("#room", "#other")]
        # Two rooms at once: the second join waits for the connection the first one opens.
        await asyncio.gather(alice.join_muc(ROOM, "alice"), alice.join_muc(f"#other%net@{LOOPBACK}", "alice"))
        await asyncio.wait_for(asyncio.gather(*seen_joins), 10)
        assert len(bridge.users) == 1

        lines: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        observer.on_privmsg = lambda source, target, text: lines.put_nowait((source, target, text))
        reflection = alice.expect(lambda e: e.tag == CLIENT_NS + "message" and body_of(e) == "hello irc")
        alice.send(f"<message to='{ROOM}' type='groupchat'><body>hello irc</body></message>")
        source, target, text = await asyncio.wait_for(lines.get(), 10)
        assert (source.partition("!")[0], target, text) == (":alice", "#room", "hello irc")
        echoed: ET.Element = await asyncio.wait_for(reflection, 10)
        assert echoed.get("from") == f"{ROOM}/alice" and echoed.get("type") == "groupchat"

        line = alice.expect(lambda e: e.tag == CLIENT_NS + "message" and body_of(e) == "hello <xmpp>")
        observer.privmsg("#room", "hello <xmpp>")
        received = await asyncio.wait_for(line, 10)
        assert received.get("from") == f"{ROOM}/observer" and received.get("type") == "groupchat"
    finally:
        await alice.close()
        await observer.close()


async def test_a_join_the_bridge_cannot_carry_to_irc_is_answered_with_an_error(prosody: ProsodyServer) -> None:
    bridge = RawBridge(LOOPBACK, LOOPBACK_SECRET, free_port())  # nothing listens there
    await bridge.connect(prosody.component_port)
    await asyncio.wait_for(bridge.ready.wait(), 10)
    prosody.register("bob", "bob-pw")
    bob = RawXmppClient("bob", "localhost", "bob-pw")
    try:
        await bob.login(prosody.c2s_port)
        with pytest.raises(ConnectionError, match="remote-server-timeout"):
            await bob.join_muc(ROOM, "bob")
    finally:
        await bob.close()
        await bridge.close()


async def test_with_stanza_ids_room_messages_carry_what_the_gateways_do(
        prosody: ProsodyServer, ngircd: NgircdServer) -> None:
    bridge = RawBridge(LOOPBACK, LOOPBACK_SECRET, ngircd.port, stanza_ids=True)
    await bridge.connect(prosody.component_port)
    await asyncio.wait_for(bridge.ready.wait(), 10)
    prosody.register("carol", "carol-pw")
    carol = RawXmppClient("carol", "localhost", "carol-pw")
    observer = RawIrcLoad("observer2")
    sid = "{urn:xmpp:sid:0}stanza-id"
    try:
        await carol.login(prosody.c2s_port)
        await observer.connect(ngircd.port)
        await observer.join("#room")
        seen = observer.joined("#room", "carol")
        await carol.join_muc(ROOM, "carol")
        await asyncio.wait_for(seen, 10)

        reflection = carol.expect(lambda e: e.tag == CLIENT_NS + "message" and body_of(e) == "mine")
        carol.send(f"<message to='{ROOM}' type='groupchat' id='c-1'><body>mine</body></message>")
        echoed: ET.Element = await asyncio.wait_for(reflection, 10)
        line = carol.expect(lambda e: e.tag == CLIENT_NS + "message" and body_of(e) == "theirs")
        observer.privmsg("#room", "theirs")
        received: ET.Element = await asyncio.wait_for(line, 10)

        assert echoed.get("id") == "c-1"  # XEP-0045 7.4: the client's id kept
        ids = [m.find(sid) for m in (echoed, received)]
        assert all(found is not None and found.get("by") == ROOM for found in ids)
        assert len({found.get("id") for found in ids if found is not None}) == 2
    finally:
        await carol.close()
        await observer.close()
        await bridge.close()
