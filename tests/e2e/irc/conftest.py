"""IRC end to end: real Prosody with the irc.localhost component, a real ngircd, the gateway in-process, and real
slixmpp clients joining channels as group chats (XEP-0045)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from slixmpp import JID

from gateway.app import Gateway
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from tests.support.stack import raw_config, start_gateway
from tests.support.xmpp_client import TestClient

IRC = "irc.localhost"
IRC_SECRET = "irc-secret"
NETWORK = "test"


def room_jid(channel: str) -> JID:
    """The room JID of a channel on the test network (a '#' needs no XEP-0106 escaping)."""
    return JID(f"{channel}%{NETWORK}@{IRC}")


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Overrides the root fixture: Prosody with the IRC component declared."""
    if not prosody_available():
        pytest.skip("prosody is not installed")
    with ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(IRC, IRC_SECRET)]) as server:
        yield server


def irc_config(prosody: ProsodyServer, ngircd: NgircdServer, database_url: str, **settings: Any) -> dict[str, Any]:
    transport = {
        "jid": IRC, "secret": IRC_SECRET, "access": "open",
        "networks": [{"name": NETWORK, "host": "127.0.0.1", "port": ngircd.port, "tls": False}],
        "flood_burst": 1000, "flood_rate": 1000.0, "quit_grace_period": 0.5, **settings,
    }
    return raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=database_url,
                      transports={"irc": transport})


@pytest.fixture
async def gateway(prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str
                  ) -> AsyncIterator[Gateway]:
    """Overrides the root fixture: the gateway with only the IRC transport, pointed at `ngircd`."""
    running = await start_gateway(irc_config(prosody, ngircd, sqlite_url), tmp_path)
    yield running
    await running.stop()


async def muc_client(prosody: ProsodyServer, user: str, resource: str = "res") -> TestClient:
    jid = prosody.register(user, f"{user}-password") if resource == "res" else f"{user}@localhost"
    client = TestClient(f"{jid}/{resource}", f"{user}-password")
    client.register_plugin("xep_0045")
    await client.start(port=prosody.c2s_port)
    return client


@pytest.fixture
async def alice(prosody: ProsodyServer) -> AsyncIterator[TestClient]:
    client = await muc_client(prosody, "alice")
    yield client
    await client.stop()


@pytest.fixture
async def irc_clients() -> AsyncIterator[list[RawIrcClient]]:
    """Raw IRC clients a test opens on the ngircd; closed at the end."""
    opened: list[RawIrcClient] = []
    yield opened
    for client in opened:
        await client.close()


@pytest.fixture
async def bob(ngircd: NgircdServer, irc_clients: list[RawIrcClient]) -> RawIrcClient:
    """bob, a plain IRC user on the test network."""
    client = await RawIrcClient.connect(ngircd.port)
    irc_clients.append(client)
    await client.register("bob")
    return client
