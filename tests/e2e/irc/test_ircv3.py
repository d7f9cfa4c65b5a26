"""IRCv3 on InspIRCd through XMPP: server-time becomes a XEP-0203 delay, IRC AWAY (away-notify) becomes the
occupant's show and status, and echo-message does not double our own reflection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.devstack.inspircd import InspircdServer, inspircd_available
from gateway.devstack.ngircd import RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import NETWORK, room_jid
from tests.e2e.irc.support import Presences, irc_config_for
from tests.e2e.irc.test_rooms import groupchat, join, privmsg_to
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient


@pytest.fixture(scope="module")
def inspircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InspircdServer]:
    """One InspIRCd for the module: registration there takes about a second per client."""
    if not inspircd_available():
        pytest.skip("inspircd is not installed")
    with InspircdServer(tmp_path_factory.mktemp("inspircd")) as server:
        yield server


@pytest.fixture
async def gateway(prosody: ProsodyServer, inspircd: InspircdServer, tmp_path: Path, sqlite_url: str
                  ) -> AsyncIterator[Gateway]:
    running = await start_gateway(irc_config_for(prosody, inspircd.port, sqlite_url), tmp_path)
    yield running
    await running.stop()


@pytest.fixture
async def dave(inspircd: InspircdServer) -> AsyncIterator[RawIrcClient]:
    """A plain IRC user on the InspIRCd (no caps: he sees what any client sees)."""
    client = await RawIrcClient.connect(inspircd.port)
    await client.register("dave")
    yield client
    await client.close()


def caps_of(gateway: Gateway, user: str) -> frozenset[str]:
    connection = gateway.transports["irc"].sessions.get(user, NETWORK)  # type: ignore[attr-defined]
    assert connection is not None
    return frozenset(connection.caps)


async def test_server_time_becomes_a_delay(gateway: Gateway, alice: TestClient, dave: RawIrcClient) -> None:
    await dave.join("#time")
    await join(alice, "#time", "alice")
    assert "server-time" in caps_of(gateway, "alice@localhost")
    await dave.send("PRIVMSG #time :stamped")
    msg = await alice.next_message(10, groupchat("stamped"))
    stamp = msg["delay"]["stamp"]
    assert stamp is not None, "the server-time tag did not become a XEP-0203 delay"
    assert abs(stamp - datetime.now(UTC)) < timedelta(seconds=30)


async def test_irc_away_becomes_the_occupants_show(gateway: Gateway, alice: TestClient, dave: RawIrcClient) -> None:
    await dave.join("#away")
    presences = Presences(alice)
    await join(alice, "#away", "alice")
    assert "away-notify" in caps_of(gateway, "alice@localhost")
    await dave.send("AWAY :gone fishing")
    away = await presences.next(lambda p: p["from"].resource == "dave" and p["show"] == "away")
    assert away["status"] == "gone fishing"
    await dave.send("AWAY")
    back = await presences.next(lambda p: p["from"].resource == "dave" and p["type"] == "available")
    assert back["show"] == "" and back["status"] == ""


async def test_echo_message_does_not_double_the_reflection(gateway: Gateway, alice: TestClient,
                                                           dave: RawIrcClient) -> None:
    await dave.join("#echo")
    await join(alice, "#echo", "alice")
    assert "echo-message" in caps_of(gateway, "alice@localhost")
    stanza = alice.make_message(mto=room_jid("#echo"), mbody="only once", mtype="groupchat")
    stanza["id"] = "once-1"
    stanza.send()
    await dave.expect(privmsg_to("#echo", "only once"), timeout=10)
    alice.send_message(mto=room_jid("#echo"), mbody="marker", mtype="groupchat")
    await dave.expect(privmsg_to("#echo", "marker"), timeout=10)
    bodies: list[str] = []
    while "marker" not in bodies:  # the server's echo of "only once" comes before the marker's
        msg = await alice.next_message(10, groupchat())
        bodies.append(msg["body"])
        if msg["body"] == "only once":
            assert msg["id"] == "once-1"
    await asyncio.sleep(0.3)
    while not alice.messages.empty():
        bodies.append(alice.messages.get_nowait()["body"])
    assert bodies.count("only once") == 1, f"our message was reflected {bodies.count('only once')} times"
