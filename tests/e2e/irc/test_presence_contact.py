"""An IRC contact's presence (nick%network@irc.localhost) once the user and that IRC user talked privately: online,
away (learned from the server when we write to an away user), gone when they quit a channel we share."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.devstack.ngircd import RawIrcClient
from tests.e2e.irc.conftest import IRC, NETWORK
from tests.e2e.irc.support import Presences
from tests.e2e.irc.test_rooms import join
from tests.support.xmpp_client import TestClient

BOB = f"bob%{NETWORK}@{IRC}"


def from_bob(presence: object) -> bool:
    return str(presence["from"].bare) == BOB  # type: ignore[index]


async def test_contact_presence_online_away_and_gone(gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    presences = Presences(alice)
    alice.send_message(mto=BOB, mbody="hi bob", mtype="chat")
    await bob.expect(lambda line: line.command == "PRIVMSG" and line.params[0] == "bob", timeout=10)
    online = await presences.next(from_bob)
    assert online["type"] == "available" and online["show"] == ""

    await bob.send("AWAY :at lunch")
    await bob.expect_command("306")
    alice.send_message(mto=BOB, mbody="still there?", mtype="chat")
    away = await presences.next(from_bob)
    assert away["show"] == "away" and away["status"] == "at lunch"

    await bob.send("AWAY")
    await bob.join("#shared")
    await join(alice, "#shared", "alice")
    await bob.send("QUIT :off home")
    gone = await presences.next(lambda p: from_bob(p) and p["type"] == "unavailable")
    assert "off home" in gone["status"]  # ngircd quotes the reason
