"""The gateway on ejabberd (23.01 from Debian 12, 24.12 from its backports, which `make test` installs there): the
deploy/ snippet's shape connects, echoes and survives a restart; mapped contacts are pushed into rosters with the
XEP-0356 grant ejabberd gives (urn:xmpp:privilege:1 before 24, :2 after)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.devstack.ejabberd import EjabberdServer, ejabberd_available
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec
from gateway.xmpp.component import State
from tests.e2e.test_adhoc_support import SMS, SMS_SECRET, sms_table
from tests.e2e.test_roster import roster
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, fetch, raw_config, start_gateway, wait_until
from tests.support.xmpp_client import TestClient


@pytest.fixture(scope="module")
def ejabberd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    if not ejabberd_available():
        pytest.skip("ejabberd is not installed (make test installs it)")
    with EjabberdServer(tmp_path_factory.mktemp("ejabberd"),
                        components=[ComponentSpec(LOOPBACK, LOOPBACK_SECRET), ComponentSpec(SMS, SMS_SECRET)],
                        privileged_components=[SMS]) as server:
        server.register("bob", "bob-password")
        yield server


@pytest.fixture
async def gateway_on_ejabberd(ejabberd: EjabberdServer, tmp_path: Path, sqlite_url: str) -> AsyncIterator[Gateway]:
    raw = raw_config(component_port=ejabberd.component_port, http_port=free_port(), database_url=sqlite_url)
    running = await start_gateway(raw, tmp_path)
    yield running
    await running.stop()


async def _round_trip(client: TestClient, body: str) -> None:
    client.make_message(mto=f"echo@{LOOPBACK}", mbody=body, mtype="chat").send()
    echo = await client.next_message(timeout=10, predicate=lambda m: m["body"] == body)
    assert str(echo["from"]) == f"echo@{LOOPBACK}"


async def test_echo_and_reconnect_on_ejabberd(ejabberd: EjabberdServer, gateway_on_ejabberd: Gateway) -> None:
    client = TestClient(f"bob@{ejabberd.domain}", "bob-password")
    await client.start(port=ejabberd.c2s_port)
    try:
        await _round_trip(client, "hello from ejabberd")
    finally:
        await client.stop()

    component = gateway_on_ejabberd.components["loopback"]
    health_url = f"http://{gateway_on_ejabberd.config.http.listen}/healthz"
    ejabberd.stop()
    await wait_until(lambda: component.state is not State.CONNECTED, timeout=10)
    assert (await fetch(health_url))[0] == 503
    ejabberd.start()
    await wait_until(lambda: component.state is State.CONNECTED, timeout=10)
    assert (await fetch(health_url))[0] == 200

    client = TestClient(f"bob@{ejabberd.domain}", "bob-password")
    await client.start(port=ejabberd.c2s_port)
    try:
        await _round_trip(client, "after the restart")
    finally:
        await client.stop()


async def _server_version(client: TestClient, domain: str) -> tuple[int, int]:
    """ejabberd's own version (XEP-0092), e.g. (23, 1)."""
    answer = await client.plugin["xep_0092"].get_version(domain, timeout=5)
    major, minor = answer["software_version"]["version"].split(".")[:2]
    return int(major), int(minor.split("-")[0])


async def test_mapped_contacts_use_the_roster_privilege_ejabberd_grants(
        ejabberd: EjabberdServer, tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.xmpp.roster")
    raw = raw_config(component_port=ejabberd.component_port, http_port=free_port(), database_url=sqlite_url,
                     transports={"sms": sms_table()})
    gateway = await start_gateway(raw, tmp_path)
    alice = TestClient(ejabberd.register("alice", "alice-password"), "alice-password")
    alice.register_plugin("xep_0172")
    asked: list[tuple[str, str]] = []
    alice.add_event_handler("presence_subscribe", lambda p: asked.append((str(p["from"]), p["nick"]["nick"])))
    await alice.start(port=ejabberd.c2s_port)
    user = f"alice@{ejabberd.domain}"
    mom, dad = f"+12025550123@{SMS}", f"+12025550124@{SMS}"
    try:
        store = gateway.store
        assert store is not None
        await store.users.add(user, transports=["sms"])
        await store.contacts.add(user, "sms", "+12025550123", "Mom", "Family")
        await store.contacts.add(user, "sms", "+12025550124", "Dad")
        sync = gateway.administrations["sms"].roster
        await wait_until(lambda: sync.passes >= 1 and not sync._wake.is_set(), timeout=10)
        await wait_until(lambda: sync.passes >= 3, timeout=10)  # both contacts handled

        modes = [r.getMessage() for r in caplog.records if "roster mode" in r.getMessage()]
        # ejabberd 23.01 grants in XEP-0356 v0.3's namespace, 24.12 in v0.4's: the gateway takes either.
        granted = [f"{SMS}: roster mode: privileged pushes (XEP-0356 urn:xmpp:privilege:{v} from {ejabberd.domain})"
                   for v in (1, 2)]
        assert modes[0] in granted
        if await _server_version(alice, ejabberd.domain) >= (23, 10):
            items = await roster(alice)
            assert items[mom]["name"] == "Mom" and items[mom]["groups"] == ["Family"]
            assert items[dad]["name"] == "Dad"
            assert asked == [], "with the grant, no subscription request is sent"
            assert len(modes) == 1
        else:
            # ejabberd before 23.10 fails every privileged roster set it granted (processone/ejabberd#3942): the
            # gateway says so once and asks by presence, with the names, instead of a warning per contact.
            await wait_until(lambda: len(asked) == 2, timeout=10)
            assert sorted(asked) == [(mom, "Mom"), (dad, "Dad")]
            assert len(modes) == 2 and "subscription requests" in modes[1] and "ejabberd#3942" in modes[1], modes
            warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
            assert warnings == [modes[1]], "one line says it, not one per contact"
    finally:
        await alice.stop()
        await gateway.stop()
