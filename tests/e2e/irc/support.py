"""Helpers for IRC e2e tests that need a server other than the conftest's ngircd (InspIRCd, TLS, a paused one)."""

from __future__ import annotations

import asyncio
from typing import Any

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import IRC, IRC_SECRET, NETWORK
from tests.support.stack import raw_config
from tests.support.xmpp_client import TestClient


def irc_config_for(prosody: ProsodyServer, port: int, database_url: str, *, network: dict[str, Any] | None = None,
                   **settings: Any) -> dict[str, Any]:
    """A config with the IRC transport on one network at 127.0.0.1:`port` (plain unless `network` says else)."""
    transport = {
        "jid": IRC, "secret": IRC_SECRET, "access": "open",
        "networks": [{"name": NETWORK, "host": "127.0.0.1", "port": port, "tls": False, **(network or {})}],
        "flood_burst": 1000, "flood_rate": 1000.0, "quit_grace_period": 0.5, **settings,
    }
    return raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=database_url,
                      transports={"irc": transport})


class Presences:
    """Every presence a client receives, in order (slixmpp has no catch-all presence event)."""

    def __init__(self, client: TestClient) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        client.register_handler(Callback("test presences", MatchXPath("{jabber:client}presence"),
                                         self.queue.put_nowait))

    async def next(self, match: Any, timeout: float = 10) -> Any:
        """The next presence that matches, skipping others; TimeoutError if none comes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            presence = await asyncio.wait_for(self.queue.get(), max(0.01, deadline - loop.time()))
            if match(presence):
                return presence
