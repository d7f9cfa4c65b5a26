"""Each installed transport's far side, for the contract tests: a few lines per transport. A new transport adds
its own here (tests/contract/test_contract.py fails for an installed kind that has none)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.core.events import OutboundMessage, Status
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.store.store import Store
from gateway.transports.sms.sandbox import SmsSandbox
from tests.contract.kit import USER, Bench, Foreign, eventually


class LoopbackForeign(Foreign):
    """The far end is an echo: what it received comes back, and saying something is having it echoed."""

    kind = "loopback"
    peer = "echo"
    invalid_peers = ("", "  ")
    final = Status.DELIVERED

    async def received(self, bench: Bench, message: OutboundMessage) -> None:
        await bench.router.wait(lambda: any(m.body == message.body for m in bench.router.inbound))

    async def say(self, bench: Bench, body: str) -> str:
        await bench.send(body)
        return body


class PagerForeign(Foreign):
    """tests/plugin_transport: a pager answers every page with its sender's tone."""

    kind = "pager"
    peer = "p1234"
    invalid_peers = ("", "1234", "p1", "pager")
    final = Status.DELIVERED

    async def received(self, bench: Bench, message: OutboundMessage) -> None:
        await bench.router.wait(lambda: any(m.peer == message.peer for m in bench.router.inbound))

    async def say(self, bench: Bench, body: str) -> str:
        await bench.send(body)
        return "(beep)"  # PagerSettings.default_tone


ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "contract-auth-token"
NUMBER = "+12025550100"  # bound to the user
PHONE = "+12025550123"


class SmsForeign(Foreign):
    """The project's Twilio sandbox over real HTTP; its webhooks reach the transport's routes."""

    kind = "sms"
    peer = PHONE
    invalid_peers = ("", "hello", "+1", "12")
    final = Status.DELIVERED
    failing_peer = "+15005530003"  # the sandbox sends it, then reports it undelivered (30003)

    def __init__(self) -> None:
        self.sandbox = SmsSandbox(ACCOUNT_SID, AUTH_TOKEN, numbers=[NUMBER], status_delay=0.01, retry_delay=0.05)

    async def start(self, store: Store, public_url: str) -> None:
        await self.sandbox.start()
        self.sandbox.webhook_url = f"{public_url}/sms/inbound"
        await store.bindings.bind(USER, "sms", NUMBER)

    def settings(self) -> dict[str, Any]:
        return {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base_url": self.sandbox.url,
                "number_check": "possible", "rate": 100.0, "burst": 100}

    async def received(self, bench: Bench, message: OutboundMessage) -> None:
        async def arrived() -> bool:
            return any(m.body == message.body for m in self.sandbox.sent_to(message.peer))

        await eventually(arrived)

    async def say(self, bench: Bench, body: str) -> str:
        result = await self.sandbox.send_inbound(PHONE, NUMBER, body)
        assert result.delivered, result
        return body

    async def stop(self) -> None:
        await self.sandbox.stop()


NETWORK = "test"


class IrcForeign(Foreign):
    """A real ngircd, with bob on it as a bare client."""

    kind = "irc"
    peer = f"bob%{NETWORK}"
    invalid_peers = ("", "bob%", "%test", "bob%no network", "no spaces%test")
    failing_peer = f"#contract%{NETWORK}"  # a channel is joined as a room, not written to

    def __init__(self, server: NgircdServer) -> None:
        self.server = server
        self.bob: RawIrcClient | None = None

    @classmethod
    def make(cls, request: pytest.FixtureRequest) -> Foreign:
        server: NgircdServer = request.getfixturevalue("ngircd")  # tests/conftest.py
        return cls(server)

    async def start(self, store: Store, public_url: str) -> None:
        self.bob = await RawIrcClient.connect(self.server.port)
        await self.bob.register("bob")

    def settings(self) -> dict[str, Any]:
        return {"networks": [{"name": NETWORK, "host": "127.0.0.1", "port": self.server.port, "tls": False}],
                "flood_burst": 1000, "flood_rate": 1000.0, "quit_grace_period": 0.2}

    async def received(self, bench: Bench, message: OutboundMessage) -> None:
        await self._privmsg(message.body)

    async def _privmsg(self, body: str) -> str:
        """Wait for the user's PRIVMSG with `body` at bob; returns the user's nick."""
        assert self.bob is not None
        line = await self.bob.expect(lambda line: line.command == "PRIVMSG" and line.params[-1] == body, 10)
        return (line.source or "").partition("!")[0]

    async def say(self, bench: Bench, body: str) -> str:
        assert self.bob is not None
        # The user is on IRC once they wrote to someone there: bob answers that.
        await bench.send("hello bob")
        nick = await self._privmsg("hello bob")
        await self.bob.send(f"PRIVMSG {nick} :{body}")
        return body

    async def stop(self) -> None:
        if self.bob is not None:
            await asyncio.wait_for(self.bob.close(), 5)


ADAPTERS: dict[str, type[Foreign]] = {
    foreign.kind: foreign for foreign in (LoopbackForeign, PagerForeign, SmsForeign, IrcForeign)}
