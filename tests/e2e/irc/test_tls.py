"""TLS to the IRC server with certificate verification on: a server whose certificate the network's CA signed is
joined; one the CA did not sign is refused, and the user's join fails with an error that says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slixmpp.exceptions import PresenceError

from gateway.devstack.certs import make_test_certificate
from gateway.devstack.ngircd import NgircdServer, ngircd_available
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.support import irc_config_for
from tests.e2e.irc.test_rooms import codes, join
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient


@pytest.fixture
def tls_ngircd(tmp_path: Path) -> Iterator[NgircdServer]:
    if not ngircd_available():
        pytest.skip("ngircd is not installed")
    with NgircdServer(tmp_path / "ngircd-tls", tls=True) as server:
        yield server


async def test_tls_verified_with_the_networks_ca(prosody: ProsodyServer, tls_ngircd: NgircdServer, tmp_path: Path,
                                                 sqlite_url: str, alice: TestClient) -> None:
    assert tls_ngircd.tls_port is not None and tls_ngircd.ca_path is not None
    raw = irc_config_for(prosody, tls_ngircd.tls_port, sqlite_url,
                         network={"tls": True, "ca_file": str(tls_ngircd.ca_path)})
    running = await start_gateway(raw, tmp_path)
    try:
        presence, *_ = await join(alice, "#secure", "alice")
        assert "110" in codes(presence)
    finally:
        await running.stop()


async def test_a_certificate_the_ca_did_not_sign_is_refused_with_a_clear_error(
        prosody: ProsodyServer, tls_ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient) -> None:
    assert tls_ngircd.tls_port is not None
    other_ca, _, _ = make_test_certificate(tmp_path / "other-ca", "irc.localhost")
    raw = irc_config_for(prosody, tls_ngircd.tls_port, sqlite_url, network={"tls": True, "ca_file": str(other_ca)})
    running = await start_gateway(raw, tmp_path)
    try:
        with pytest.raises(PresenceError) as refused:
            await join(alice, "#secure", "alice")
        assert refused.value.condition == "remote-server-not-found"
        assert "certificate" in refused.value.text and "refused" in refused.value.text, refused.value.text
    finally:
        await running.stop()
