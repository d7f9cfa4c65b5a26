"""DNS rebinding: a server a user names is connected to at the address that was checked, never resolved again."""

from __future__ import annotations

from typing import Any, cast

import pytest

from gateway.core.events import Refusal
from gateway.devstack.ngircd import NgircdServer
from gateway.store.irc import IrcRepository
from gateway.transports.irc.accounts import IrcAccounts
from gateway.transports.irc.connection import IrcConnection, IrcIdentity
from tests.transports.irc.conftest import Recorder, settings


class Rebinding:
    """A DNS that answers 127.0.0.1 once, then an address the check would refuse... or none at all."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.pop(0) if self.answers else []


def accounts(resolver: Any, **overrides: Any) -> IrcAccounts:
    return IrcAccounts(settings(allow_arbitrary_servers=True, **overrides), cast(IrcRepository, None),
                       resolver=resolver)


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        await accounts(Rebinding(["127.0.0.1"])).arbitrary("irc.rebind.test")
    assert "internal address" in refused.value.text
    with pytest.raises(Refusal):  # one bad address among good ones is enough
        await accounts(Rebinding(["203.0.113.7", "10.0.0.1"])).arbitrary("irc.rebind.test")
    with pytest.raises(Refusal):  # the system's own answer for localhost
        await IrcAccounts(settings(allow_arbitrary_servers=True), cast(IrcRepository, None)).arbitrary("localhost")


async def test_the_connection_goes_to_the_checked_address(ngircd: NgircdServer,
                                                          connections: list[IrcConnection]) -> None:
    # Internal addresses allowed here only so that the checked address can be our ngircd; the name itself resolves
    # nowhere (.invalid), so the connection can only succeed by using the address that was checked.
    dns = Rebinding(["127.0.0.1"])
    network = await accounts(dns, allow_private_addresses=True).arbitrary("irc.rebind.invalid")
    assert (network.host, network.address) == ("irc.rebind.invalid", "127.0.0.1")
    network = network.model_copy(update={"port": ngircd.port, "tls": False})
    connection = IrcConnection("alice@example.org", network, settings(), IrcIdentity("rebound"), Recorder(),
                               connect_timeout=5.0)
    connections.append(connection)
    await connection.connect()
    assert connection.connected and dns.asked == ["irc.rebind.invalid"]  # resolved once, by the check
