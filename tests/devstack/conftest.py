"""Fixtures: real Prosody and ejabberd servers on loopback, with one gateway-like component each."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.devstack.ejabberd import EjabberdServer, ejabberd_available
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, XmppServer, prosody_available

SMS = ComponentSpec("sms.localhost", "sms-secret")
IRC = ComponentSpec("irc.localhost", "irc-secret")


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """A fresh Prosody per test (it starts in ~0.1 s); sms.localhost may use XEP-0356."""
    if not prosody_available():
        pytest.skip("prosody is not installed (apt install prosody prosody-modules)")
    with ProsodyServer(tmp_path / "prosody", components=[SMS, IRC], privileged_components=[SMS.domain]) as server:
        yield server


@pytest.fixture(scope="session")
def ejabberd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    """One ejabberd for the session: Erlang takes about a second to start and to stop."""
    if not ejabberd_available():
        pytest.skip("ejabberd is not installed (apt install ejabberd)")
    workdir = tmp_path_factory.mktemp("ejabberd")
    with EjabberdServer(workdir, components=[SMS, IRC], privileged_components=[SMS.domain]) as server:
        yield server


@pytest.fixture(params=["prosody", "ejabberd"])
def xmpp_server(request: pytest.FixtureRequest) -> XmppServer:
    """Each of the two servers in turn, for what both must do alike."""
    server: XmppServer = request.getfixturevalue(request.param)
    return server


def component_spec(server: XmppServer, prefix: str) -> ComponentSpec:
    return next(c for c in server.components if c.domain.startswith(prefix))


def new_user(server: XmppServer) -> tuple[str, str]:
    """A freshly registered account: (bare JID, password)."""
    name, password = f"u{secrets.token_hex(4)}", secrets.token_hex(8)
    return server.register(name, password), password
