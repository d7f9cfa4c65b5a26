"""IrcSessions against a real ngircd: one shared connection per (bare JID, network), QUIT after the grace period,
persistent connections, caps on networks and channels per user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gateway.core.events import Refusal
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.ports import LOOPBACK
from gateway.transports.irc.connection import IrcIdentity
from gateway.transports.irc.events import IrcEvents
from gateway.transports.irc.session import IrcSessions
from gateway.transports.irc.settings import IrcNetwork
from tests.transports.irc.conftest import Recorder, settings

Factory = Callable[..., IrcSessions]


@pytest.fixture
async def make_sessions(ngircd: NgircdServer) -> AsyncIterator[Factory]:
    made: list[IrcSessions] = []
    recorders: dict[tuple[str, str], Recorder] = {}

    def factory(**overrides: Any) -> IrcSessions:
        networks = [{"name": name, "host": LOOPBACK, "port": ngircd.port, "tls": False} for name in ("one", "two")]

        def events_for(owner: str, network: IrcNetwork) -> IrcEvents:
            return recorders.setdefault((owner, network.name), Recorder())

        async def identity_for(owner: str, network: IrcNetwork) -> IrcIdentity:
            return IrcIdentity(owner.split("@", 1)[0])

        sessions = IrcSessions(
            settings(networks=networks, **overrides),
            events_for=events_for,
            identity_for=identity_for,
            connection_options={"reconnect_min_delay": 0.05, "connect_timeout": 5.0, "join_timeout": 5.0},
        )
        sessions.recorders = recorders  # type: ignore[attr-defined]
        made.append(sessions)
        return sessions

    yield factory
    for sessions in made:
        await sessions.close_all()


async def count_users(port: int, nick_prefix: str) -> int:
    client = await RawIrcClient.connect(port)
    try:
        await client.register(f"cnt{nick_prefix}"[:20])
        await client.send(f"WHO {nick_prefix}*")
        await client.expect_command("315")
        return len([line for line in client.received if line.command == "352"])
    finally:
        await client.close()


async def test_one_connection_per_user_and_network(ngircd: NgircdServer, make_sessions: Factory) -> None:
    sessions = make_sessions()
    a, b = await asyncio.gather(sessions.connection("shareA@x.org", "one"), sessions.connection("shareA@x.org", "ONE"))
    assert a is b and a.connected
    await sessions.join("shareA@x.org", "one", "#shared")
    assert await sessions.join("shareA@x.org", "one", "#shared") is a.channel("#shared")  # a second resource
    other_network = await sessions.connection("shareA@x.org", "two")
    other_user = await sessions.connection("shareB@x.org", "one")
    assert len({id(a), id(other_network), id(other_user)}) == 3
    assert await count_users(ngircd.port, "share") == 3


async def test_quit_after_the_grace_period_unless_persistent(ngircd: NgircdServer, make_sessions: Factory) -> None:
    sessions = make_sessions(quit_grace_period=0.3)
    conn = await sessions.connection("graceful@x.org", "one")
    await sessions.join("graceful@x.org", "one", "#g")
    await asyncio.sleep(0.5)
    assert conn.connected  # in a channel: never closed
    await sessions.part("graceful@x.org", "one", "#g")
    await asyncio.sleep(0.1)
    assert conn.connected and sessions.get("graceful@x.org", "one") is conn  # within the grace period
    await sessions.join("graceful@x.org", "one", "#g2")  # back in time: the timer is off
    await sessions.part("graceful@x.org", "one", "#g2")
    rec: Recorder = sessions.recorders[("graceful@x.org", "one")]  # type: ignore[attr-defined]
    down = await rec.wait("on_disconnected", timeout=2)
    assert not down.reconnecting and conn.closed and sessions.find("graceful@x.org", "one") is None  # gone whole
    assert await count_users(ngircd.port, "graceful") == 0
    assert "one" not in sessions._directories  # type: ignore[attr-defined]  # nobody left on it: its channels go

    keeper = make_sessions(quit_grace_period=0.1, persistent_connections=True)
    kept = await keeper.connection("keeper@x.org", "one")
    await keeper.join("keeper@x.org", "one", "#k")
    await keeper.part("keeper@x.org", "one", "#k")
    await asyncio.sleep(0.4)
    assert kept.connected and keeper.get("keeper@x.org", "one") is kept


async def test_caps_on_networks_and_channels(make_sessions: Factory) -> None:
    sessions = make_sessions(max_networks_per_user=1, max_channels_per_user=2)
    await sessions.join("capped@x.org", "one", "#c1")
    await sessions.join("capped@x.org", "one", "#c2")
    with pytest.raises(Refusal) as info:
        await sessions.join("capped@x.org", "one", "#c3")
    assert info.value.condition == "policy-violation" and "2 IRC channels" in info.value.text
    conn = sessions.get("capped@x.org", "one")
    assert conn is not None and not conn.is_joined("#c3")
    await sessions.join("capped@x.org", "one", "#C1")  # a channel the user is in does not count twice
    with pytest.raises(Refusal) as info:
        await sessions.connection("capped@x.org", "two")
    assert info.value.condition == "policy-violation" and "one" in info.value.text
    assert sessions.get("capped@x.org", "two") is None
    with pytest.raises(Refusal) as info:
        await sessions.join("capped2@x.org", "nowhere", "#n", nick="first")
    assert info.value.condition == "item-not-found"
    # A refused open leaves no session behind: not even the nick asked for.
    assert sessions.find("capped@x.org", "two") is None and sessions.find("capped2@x.org", "nowhere") is None
    assert sessions.networks_of("capped2@x.org") == []
