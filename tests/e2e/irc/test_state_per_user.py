"""What the gateway keeps per user in a room: nothing in slixmpp's in-memory roster, and one occupant list for
the users of a room while they see the same occupants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.app import Gateway
from gateway.core.rooms import Occupant
from gateway.devstack.ngircd import RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import muc_client, room_jid
from tests.e2e.irc.support import Presences
from tests.e2e.irc.test_rooms import item, join
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient


async def test_room_presences_leave_nothing_in_slixmpp_roster(gateway: Gateway, alice: TestClient,
                                                               bob: RawIrcClient) -> None:
    await bob.join("#state")
    await join(alice, "#state", "alice")
    alice.send_presence(pto=f"{room_jid('#state')}/alice", pshow="away")
    await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
    component = gateway.components["irc"]
    await alice.plugin["xep_0199"].ping(jid=component.domain, timeout=5)  # the presences above were handled
    roster = component.roster
    nodes = [roster[key] for key in list(roster.keys())]
    assert all(len(node) == 0 and node.last_status is None for node in nodes)


async def test_users_in_one_room_share_one_occupant_list_while_it_is_the_same(
        gateway: Gateway, prosody: ProsodyServer, alice: TestClient, bob: RawIrcClient) -> None:
    carol = await muc_client(prosody, "carol")
    try:
        seen_by_alice, seen_by_carol = Presences(alice), Presences(carol)
        await bob.join("#state")
        await join(alice, "#state", "alice")
        await join(carol, "#state", "carol")
        await seen_by_alice.next(from_nick("carol"))
        muc = gateway.mucs["irc"]
        room = str(room_jid("#state"))

        def lists() -> tuple[dict[str, Occupant], dict[str, Occupant]]:
            return (muc._members[("alice@localhost", room)].occupants,
                    muc._members[("carol@localhost", room)].occupants)

        assert lists()[0] is lists()[1]
        assert set(lists()[0]) == {"bob", "alice", "carol"}
        # A presence's lock lives only while presences of that user and room are handled (carol's join may still be
        # storing her membership).
        await wait_until(lambda: muc._locks == {}, timeout=5)
        # Changes seen by both: still one list, with the change.
        await bob.send("NICK bobby")
        for seen in (seen_by_alice, seen_by_carol):
            await seen.next(from_nick("bobby"))
        await bob.send("MODE #state +v carol")
        for seen in (seen_by_alice, seen_by_carol):
            await seen.next(lambda p: from_nick("carol")(p) and item(p).get("affiliation") == "member")
        assert lists()[0] is lists()[1]
        assert set(lists()[0]) == {"bobby", "alice", "carol"}
        assert lists()[0]["carol"].affiliation == "member"
        # One leaves: the other's list loses them; the room is forgotten when the last user leaves.
        carol.plugin["xep_0045"].leave_muc(room_jid("#state"), "carol")
        await seen_by_alice.next(from_nick("carol", "unavailable"))
        assert set(muc._members[("alice@localhost", room)].occupants) == {"bobby", "alice"}
        alice.plugin["xep_0045"].leave_muc(room_jid("#state"), "alice")
        await wait_until(lambda: ("alice@localhost", room) not in muc._members, timeout=5)
        assert room not in muc._occupants._last
    finally:
        await carol.stop()


def from_nick(nick: str, kind: str | None = None) -> Callable[[Any], bool]:
    def match(presence: Any) -> bool:
        return str(presence["from"]) == f"{room_jid('#state')}/{nick}" and (kind is None or presence["type"] == kind)
    return match
