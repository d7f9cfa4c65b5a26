"""Two IRC transports side by side in one gateway: `[transports.irc]` and `[transports.irc-b]` with
`type = "irc"`, each on its own domain, both reaching the same ngircd. A nick a user sets through one is theirs
on that one only: the other neither lists it nor connects with it."""

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
from tests.e2e.irc.conftest import IRC, IRC_SECRET, NETWORK
from tests.e2e.test_adhoc_support import execute, notes, table
from tests.support.stack import raw_config, start_gateway
from tests.support.xmpp_client import TestClient

IRC_B = "irc-b.localhost"
IRC_B_SECRET = "irc-b-secret"
ALICE = "alice@localhost"


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Prosody with both IRC components declared."""
    if not prosody_available():
        pytest.skip("prosody is not installed")
    with ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(IRC, IRC_SECRET),
                                                         ComponentSpec(IRC_B, IRC_B_SECRET)]) as server:
        yield server


@pytest.fixture
async def gateway(prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str
                  ) -> AsyncIterator[Gateway]:
    common: dict[str, Any] = {
        "access": "open", "networks": [{"name": NETWORK, "host": "127.0.0.1", "port": ngircd.port, "tls": False}],
        "flood_burst": 1000, "flood_rate": 1000.0, "quit_grace_period": 0.5}
    transports = {"irc": {"jid": IRC, "secret": IRC_SECRET, **common},
                  "irc-b": {"type": "irc", "jid": IRC_B, "secret": IRC_B_SECRET, **common}}
    running = await start_gateway(raw_config(component_port=prosody.component_port, http_port=free_port(),
                                             database_url=sqlite_url, transports=transports), tmp_path)
    assert running.store is not None
    await running.store.users.add(ALICE)
    yield running
    await running.stop()


async def test_a_nick_set_on_one_irc_transport_is_not_the_others(gateway: Gateway, alice: TestClient,
                                                                 bob: RawIrcClient) -> None:
    alice.register_plugin("xep_0004")
    alice.register_plugin("xep_0050")
    await execute(alice, IRC, "irc/nick", {"network": NETWORK, "nick": "alicenick"})
    assert table(await execute(alice, IRC, "irc/settings")) == [
        {"network": NETWORK, "nick": "alicenick", "sasl account": "", "sasl password": "",
         "nickserv password": "", "always on": "default"}]
    assert "You have no IRC settings" in notes(await execute(alice, IRC_B, "irc/settings"))[0][1]

    await bob.join("#shared")
    for domain, nick in ((IRC, "joinnick"), (IRC_B, "otherjoin")):
        await alice.plugin["xep_0045"].join_muc_wait(JID(f"#shared%{NETWORK}@{domain}"), nick, timeout=10)
    seen = [await bob.expect(lambda line: line.command == "JOIN") for _ in range(2)]
    # Through irc the stored nick wins over the one of the join; through irc-b there is none.
    assert sorted(line.nick for line in seen) == ["alicenick", "otherjoin"]
    for name, nick in (("irc", "alicenick"), ("irc-b", "otherjoin")):
        connection = gateway.transports[name].sessions.get(ALICE, NETWORK)  # type: ignore[attr-defined]
        assert connection is not None and connection.nick == nick

    # Settings set and forgotten through irc-b leave irc's alone.
    await execute(alice, IRC_B, "irc/nick", {"network": NETWORK, "nick": "bnick"})
    assert [row["nick"] for row in table(await execute(alice, IRC_B, "irc/settings"))] == ["bnick"]
    await execute(alice, IRC_B, "irc/forget", {"network": NETWORK})
    assert "You have no IRC settings" in notes(await execute(alice, IRC_B, "irc/settings"))[0][1]
    assert [row["nick"] for row in table(await execute(alice, IRC, "irc/settings"))] == ["alicenick"]
