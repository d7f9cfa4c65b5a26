"""No nick spam: a room presence that only changes availability (away, xa, dnd) sends AWAY, never NICK."""

from __future__ import annotations

import asyncio

import pytest

from gateway.app import Gateway
from gateway.devstack.ngircd import RawIrcClient
from tests.e2e.irc.conftest import room_jid
from tests.e2e.irc.test_rooms import join
from tests.support.xmpp_client import TestClient


async def whois_away(bob: RawIrcClient, nick: str) -> str | None:
    """The away text WHOIS shows for `nick` (None: not away), reading through the end of that WHOIS (318)."""
    await bob.send(f"WHOIS {nick}")
    away: str | None = None
    while True:
        line = await bob.expect(lambda line: line.command in ("301", "318"))
        if line.command == "318":
            return away
        away = line.params[-1]


@pytest.mark.parametrize("show", ["xa", "dnd"])
async def test_xa_and_dnd_send_away_never_nick(gateway: Gateway, alice: TestClient, bob: RawIrcClient,
                                               show: str) -> None:
    await bob.join("#quiet")
    await join(alice, "#quiet", "alice")
    await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
    for status in ("first", "second"):  # a status update while away changes the AWAY text
        alice.send_presence(pto=f"{room_jid('#quiet')}/alice", pshow=show, pstatus=status)
        await asyncio.sleep(0.4)
        assert await whois_away(bob, "alice") == status
    alice.send_presence(pto=f"{room_jid('#quiet')}/alice")
    await asyncio.sleep(0.4)
    assert await whois_away(bob, "alice") is None
    assert not [line for line in bob.received if line.command == "NICK"]
