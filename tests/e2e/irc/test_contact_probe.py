"""Presence probes to IRC contacts answer with the IRC user's presence, not a blanket 'available'."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.devstack.ngircd import RawIrcClient
from tests.e2e.irc.conftest import IRC, NETWORK
from tests.e2e.irc.support import Presences
from tests.support.xmpp_client import TestClient

BOB, CAROL = f"bob%{NETWORK}@{IRC}", f"carol%{NETWORK}@{IRC}"


def from_(jid: str):  # type: ignore[no-untyped-def]
    return lambda presence: str(presence["from"].bare) == jid


async def test_probes_answer_what_is_known_of_the_irc_user(gateway: Gateway, alice: TestClient,
                                                           bob: RawIrcClient) -> None:
    presences = Presences(alice)
    alice.send_presence(pto=CAROL, ptype="probe")
    offline = await presences.next(from_(CAROL))
    assert offline["type"] == "unavailable" and f"not connected to {NETWORK}" in offline["status"]

    alice.send_message(mto=BOB, mbody="hi bob", mtype="chat")  # opens alice's connection; bob is now known
    await bob.expect(lambda line: line.command == "PRIVMSG" and line.params[0] == "bob", timeout=10)
    await presences.next(from_(BOB))

    alice.send_presence(pto=BOB, ptype="probe")
    online = await presences.next(from_(BOB))
    assert online["type"] == "available"
    alice.send_presence(pto=CAROL, ptype="probe")
    unknown = await presences.next(from_(CAROL))
    assert unknown["type"] == "unavailable" and "Not seen on IRC" in unknown["status"]
