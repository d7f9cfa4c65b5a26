"""Several XMPP users in one channel share one member list per (network, channel); the first connection in it
applies the lines about it for everyone, and when it leaves or drops the next one takes over after a NAMES."""

from __future__ import annotations

from typing import Any

from gateway.app import Gateway
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import NETWORK, muc_client, room_jid
from tests.e2e.irc.support import Presences
from tests.e2e.irc.test_rooms import codes, item, join
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

ROOM = "#shared"


def from_nick(nick: str, kind: str | None = None) -> Any:
    def match(presence: Any) -> bool:
        return str(presence["from"]) == f"{room_jid(ROOM)}/{nick}" and (kind is None or presence["type"] == kind)
    return match


def members(gateway: Gateway, user: str) -> set[str]:
    connection = gateway.transports["irc"].sessions.get(user, NETWORK)  # type: ignore[attr-defined]
    channel = connection.channel(ROOM) if connection is not None else None
    return {m.nick for m in channel.members.values()} if channel is not None else set()


async def test_users_in_one_channel_share_its_member_list_across_hand_overs(
        gateway: Gateway, prosody: ProsodyServer, ngircd: NgircdServer, alice: TestClient, bob: RawIrcClient,
        irc_clients: list[RawIrcClient]) -> None:
    carol = await muc_client(prosody, "carol")
    try:
        sessions = gateway.transports["irc"].sessions  # type: ignore[attr-defined]
        seen_by_alice, seen_by_carol = Presences(alice), Presences(carol)
        await bob.join(ROOM)  # bob is first in: operator
        await join(alice, ROOM, "alice")  # alice's connection is the writer
        await join(carol, ROOM, "carol")
        alice_conn, carol_conn = sessions.get("alice@localhost", NETWORK), sessions.get("carol@localhost", NETWORK)
        assert alice_conn.channel(ROOM) is carol_conn.channel(ROOM)  # one list, not one per user
        await wait_until(lambda: members(gateway, "carol@localhost") == {"bob", "alice", "carol"}, timeout=5)
        await seen_by_alice.next(from_nick("carol"))  # alice saw carol come in

        # A mode change reaches both users, applied once.
        await bob.send(f"MODE {ROOM} +v carol")
        for seen in (seen_by_alice, seen_by_carol):
            voiced = await seen.next(lambda p: from_nick("carol")(p) and item(p).get("affiliation") == "member")
            assert item(voiced)["role"] == "participant"

        # The writer leaves: carol's connection takes over; joins, modes and nick changes still reach carol.
        alice.plugin["xep_0045"].leave_muc(room_jid(ROOM), "alice")
        await seen_by_carol.next(from_nick("alice", "unavailable"))
        await wait_until(lambda: carol_conn.directory.writer(ROOM) is carol_conn, timeout=5)
        dave = await RawIrcClient.connect(ngircd.port)
        irc_clients.append(dave)
        await dave.register("dave")
        await dave.join(ROOM)
        await seen_by_carol.next(from_nick("dave"))
        await bob.send(f"MODE {ROOM} +o dave")
        op = await seen_by_carol.next(lambda p: from_nick("dave")(p) and item(p).get("role") == "moderator")
        assert item(op)["affiliation"] == "admin"
        await bob.send("NICK bobby")
        renamed = await seen_by_carol.next(lambda p: from_nick("bob", "unavailable")(p) and "303" in codes(p))
        assert item(renamed)["nick"] == "bobby"
        assert members(gateway, "carol@localhost") == {"bobby", "carol", "dave"}

        # alice comes back (now second in); then the writer's connection drops: alice's takes over, re-reads
        # NAMES, and sees the rest of the channel's life.
        await join(alice, ROOM, "alice")
        alice_conn = sessions.get("alice@localhost", NETWORK)
        assert alice_conn.channel(ROOM) is carol_conn.channel(ROOM)
        carol_conn._abort("dropped by the test")
        await wait_until(lambda: alice_conn.directory.writer(ROOM) is alice_conn, timeout=5)
        await seen_by_alice.next(from_nick("carol", "unavailable"))  # carol's IRC nick quit
        await dave.send(f"PART {ROOM} :bye")
        await seen_by_alice.next(from_nick("dave", "unavailable"))
        await bob.send(f"MODE {ROOM} +v alice")
        await seen_by_alice.next(lambda p: from_nick("alice")(p) and item(p).get("affiliation") == "member")
        # carol is back by herself (reconnect and rejoin): alice sees her, and the list is right for both.
        await seen_by_alice.next(lambda p: from_nick("carol")(p) and p["type"] != "unavailable", timeout=15)
        await wait_until(lambda: members(gateway, "alice@localhost") == {"bobby", "alice", "carol"}, timeout=10)
        assert members(gateway, "carol@localhost") == {"bobby", "alice", "carol"}
    finally:
        await carol.stop()
