"""The gateway on ejabberd 23.01: the deploy/ snippet's shape connects, echoes and survives a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.devstack.ejabberd import EjabberdServer, ejabberd_available
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec
from gateway.xmpp.component import State
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, fetch, raw_config, start_gateway, wait_until
from tests.support.xmpp_client import TestClient


@pytest.fixture(scope="module")
def ejabberd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    if not ejabberd_available():
        pytest.skip("ejabberd is not installed (make test installs it)")
    with EjabberdServer(tmp_path_factory.mktemp("ejabberd"),
                        components=[ComponentSpec(LOOPBACK, LOOPBACK_SECRET)]) as server:
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
