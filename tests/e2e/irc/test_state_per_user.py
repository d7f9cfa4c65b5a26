"""What the gateway keeps per user in a room: nothing in slixmpp's in-memory roster."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.devstack.ngircd import RawIrcClient
from tests.e2e.irc.conftest import room_jid
from tests.e2e.irc.test_rooms import join
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
