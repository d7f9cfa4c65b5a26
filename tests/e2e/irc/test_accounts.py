"""A user's own IRC credentials, set with the ad-hoc command from a real client, log them in with SASL PLAIN on
InspIRCd linked to atheme; the password is shown masked and is in neither the database file nor the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway.devstack.inspircd import InspircdServer, atheme_available, inspircd_available
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import IRC, NETWORK
from tests.e2e.irc.support import irc_config_for
from tests.e2e.irc.test_rooms import join
from tests.e2e.test_adhoc_support import execute, notes, table
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

pytestmark = pytest.mark.skipif(not (inspircd_available() and atheme_available()),
                                reason="inspircd and atheme-services are needed")

ACCOUNT = "aliceacct"
PASSWORD = "sasl-pw-4b7e19c2"


@pytest.fixture(scope="module")
def inspircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InspircdServer]:
    import asyncio

    with InspircdServer(Path(tmp_path_factory.mktemp("inspircd")), sasl=True) as server:
        asyncio.run(server.register_account(ACCOUNT, PASSWORD))
        yield server


async def test_sasl_with_credentials_set_by_the_user(prosody: ProsodyServer, inspircd: InspircdServer,
                                                     alice: TestClient, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    database = tmp_path / "gateway.db"
    raw = irc_config_for(prosody, inspircd.port, f"sqlite+aiosqlite:///{database}")
    raw["database"]["secret_key"] = Fernet.generate_key().decode()
    gateway = await start_gateway(raw, tmp_path)
    try:
        assert gateway.store is not None
        await gateway.store.users.add("alice@localhost")
        alice.register_plugin("xep_0004")
        alice.register_plugin("xep_0050")
        form = (await execute(alice, IRC, "irc/sasl"))["command"]["form"]
        assert form.get_fields()["password"]["type"] == "text-private"
        done = await execute(alice, IRC, "irc/sasl", {"network": NETWORK, "account": ACCOUNT, "password": PASSWORD})
        assert notes(done)[0][0] == "info" and PASSWORD not in notes(done)[0][1]
        await execute(alice, IRC, "irc/nick", {"network": NETWORK, "nick": "alicenick"})
        shown = table(await execute(alice, IRC, "irc/settings"))
        assert shown == [{"network": NETWORK, "nick": "alicenick", "sasl account": ACCOUNT,
                          "sasl password": "********", "nickserv password": "", "always on": "default"}]

        await join(alice, "#sasl", "whatever")
        connection = gateway.transports["irc"].sessions.get("alice@localhost", NETWORK)  # type: ignore[attr-defined]
        assert connection is not None
        assert "sasl" in connection.caps and connection.account == ACCOUNT  # logged in by SASL PLAIN
        assert connection.nick == "alicenick"  # the stored nick, not the one of the join
    finally:
        await gateway.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
    assert ACCOUNT.encode() in stored and PASSWORD.encode() not in stored
    assert PASSWORD not in caplog.text
