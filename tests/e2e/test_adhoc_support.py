"""Shared by the administration e2e tests (ad-hoc, registration, chat commands, rosters); holds no tests.

Test modules import the fixtures (`*_fixture`, registered under the name without the suffix).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slixmpp import JID, Iq

from gateway.app import Gateway
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, find_mod_privilege, prosody_available
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, raw_config, start_gateway, to_toml
from tests.support.xmpp_client import TestClient

SMS = "sms.localhost"
SMS_SECRET = "sms-secret"
ACCOUNT_SID = "AC" + "5a" * 16
ADMIN = "boss@localhost"  # a config admin in every gateway these tests start
COMMANDS_NS = "http://jabber.org/protocol/commands"

People = Callable[..., Awaitable[TestClient]]


def sms_table(**settings: Any) -> dict[str, Any]:
    """The SMS transport's config table; the API is never called by these tests."""
    return {"jid": SMS, "secret": SMS_SECRET, "account_sid": ACCOUNT_SID, "auth_token": "token",
            "api_base_url": "http://127.0.0.1:9", "access": "open", **settings}


def loopback_table(**settings: Any) -> dict[str, Any]:
    return {"jid": LOOPBACK, "secret": LOOPBACK_SECRET, "access": "open", **settings}


def make_prosody(workdir: Path, privileged: bool) -> ProsodyServer:
    if not prosody_available():
        pytest.skip("prosody is not installed")
    if privileged and find_mod_privilege() is None:
        pytest.skip("mod_privilege is not installed (apt install prosody-modules)")
    return ProsodyServer(workdir, components=[ComponentSpec(SMS, SMS_SECRET), ComponentSpec(LOOPBACK, LOOPBACK_SECRET)],
                         privileged_components=[SMS] if privileged else [])


@pytest.fixture(name="server")
def server_fixture(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Prosody with the SMS and loopback components, without XEP-0356."""
    with make_prosody(tmp_path / "prosody", privileged=False) as prosody:
        yield prosody


@pytest.fixture(name="privileged_server")
def privileged_server_fixture(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Prosody that grants sms.localhost the roster privilege (mod_privilege)."""
    with make_prosody(tmp_path / "prosody", privileged=True) as prosody:
        yield prosody


@pytest.fixture(name="people")
async def people_fixture() -> AsyncIterator[People]:
    """`await people(server, "alice")`: a logged-in client alice@localhost with ad-hoc support."""
    started: list[TestClient] = []

    async def login(prosody: ProsodyServer, name: str) -> TestClient:
        client = TestClient(prosody.register(name, "pw"), "pw")
        client.register_plugin("xep_0004")
        client.register_plugin("xep_0050")
        await client.start(port=prosody.c2s_port)
        started.append(client)
        return client

    yield login
    for client in started:
        await client.stop()


class Gateways:
    """`await gateways(server, sms=sms_table(), ...)`: a running gateway with ADMIN as config admin; its config
    is also written to tmp_path/config.toml, for the CLI. All are stopped at the end of the test."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.running: list[Gateway] = []

    async def __call__(self, prosody: ProsodyServer, **transports: dict[str, Any]) -> Gateway:
        raw = raw_config(component_port=prosody.component_port, http_port=free_port(),
                         database_url=self.database_url, admins=(ADMIN,), transports=transports)
        (self.tmp_path / "config.toml").write_text(to_toml(raw))
        gateway = await start_gateway(raw, self.tmp_path)
        self.running.append(gateway)
        return gateway

    async def stop(self, gateway: Gateway) -> None:
        self.running.remove(gateway)
        await gateway.stop()


@pytest.fixture(name="gateways")
async def gateways_fixture(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Gateways]:
    gateways = Gateways(tmp_path, sqlite_url)
    yield gateways
    for gateway in list(gateways.running):
        await gateways.stop(gateway)


# -- ad-hoc from the client side ------------------------------------------------------------------------------
async def command_nodes(client: TestClient, to: str) -> dict[str, str]:
    """The commands `client` is offered at `to`: node -> name."""
    items = await client.plugin["xep_0030"].get_items(jid=JID(to), node=COMMANDS_NS, timeout=5)
    return {item[1]: item[2] for item in items["disco_items"]["items"]}


async def execute(client: TestClient, to: str, node: str, values: dict[str, Any] | None = None) -> Iq:
    """Run a command; with `values`, submit them in the form it answers with. Raises IqError on errors."""
    adhoc = client.plugin["xep_0050"]
    first: Iq = await adhoc.send_command(JID(to), node, action="execute", timeout=5)
    if values is None:
        return first
    assert first["command"]["status"] == "executing", first
    form = client.plugin["xep_0004"].make_form(ftype="submit")
    for var, value in values.items():
        form.add_field(var=var, value=value, ftype="boolean" if isinstance(value, bool) else None)
    result: Iq = await adhoc.send_command(JID(to), node, action="complete", sessionid=first["command"]["sessionid"],
                                          payload=form, timeout=5)
    return result


def notes(iq: Iq) -> list[tuple[str, str]]:
    return list(iq["command"]["notes"])


def table(iq: Iq) -> list[dict[str, str]]:
    """The rows of a command's result form."""
    form = iq["command"]["form"]
    return [{var: str(value) for var, value in item.items()} for item in form.get_items()]
