"""Components keep their stream to the XMPP server up by themselves, and lose nothing when it breaks."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.config import parse_config
from gateway.core.events import Direction, InboundMessage, Status
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer
from gateway.xmpp import component as component_module
from gateway.xmpp.component import State
from tests.e2e.helpers import healthz, metric
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, raw_config, wait_until
from tests.support.xmpp_client import TestClient


async def echo_round_trip(client: TestClient, body: str) -> None:
    client.send_message(mto=f"echo@{LOOPBACK}", mbody=body, mtype="chat")
    echo = await client.next_message(predicate=lambda m: m["body"] == body)
    assert str(echo["from"]) == f"echo@{LOOPBACK}"


async def test_reconnects_by_itself_after_the_server_restarts(prosody: ProsodyServer, gateway: Gateway,
                                                               alice: TestClient) -> None:
    base = f"http://{gateway.config.http.listen}"
    component = gateway.components["loopback"]
    await echo_round_trip(alice, "before")
    assert await healthz(base) == (200, {"status": "ok", "components": {LOOPBACK: "connected"}, "database": "ok"})
    reconnects_before = await metric(base, "xmpp_gateway_component_reconnects_total", component=LOOPBACK)

    prosody.stop()
    await wait_until(lambda: component.state is not State.CONNECTED, timeout=5)
    status, body = await healthz(base)
    assert status == 503
    assert body["status"] == "degraded"
    assert body["components"][LOOPBACK] in ("disconnected", "connecting")
    # At least one attempt is refused while the server is away; the gateway keeps trying.
    await wait_until(lambda: metric(base, "xmpp_gateway_component_reconnects_total", component=LOOPBACK),
                     timeout=5)
    assert await metric(base, "xmpp_gateway_component_connected", component=LOOPBACK) == 0

    prosody.start()
    started = time.monotonic()
    assert await component.wait_connected(10), "no reconnect within 10 s"
    assert time.monotonic() - started < 10
    assert (await healthz(base))[0] == 200
    assert await metric(base, "xmpp_gateway_component_reconnects_total", component=LOOPBACK) > reconnects_before
    assert await metric(base, "xmpp_gateway_component_connected", component=LOOPBACK) == 1

    client = TestClient("alice@localhost", "alice-password")  # the old session ended with the server
    await client.start(port=prosody.c2s_port)
    try:
        await echo_round_trip(client, "after")
    finally:
        await client.stop()


async def test_a_wrong_secret_is_logged_clearly_and_retried_until_the_server_accepts(
        tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    server = ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(LOOPBACK, "the-server-secret")])
    server.start()
    raw = raw_config(component_port=server.component_port, http_port=free_port(), database_url=sqlite_url)
    gateway = Gateway(parse_config(raw, tmp_path / "config.toml", {}))
    try:
        await gateway.start()
        component = gateway.components["loopback"]
        base = f"http://{gateway.config.http.listen}"

        def refusals() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "not-authorized" in r.getMessage()]

        # One line per attempt, with a backoff that doubles up to reconnect_max_delay (2 s here).
        await wait_until(lambda: len(refusals()) >= 3, timeout=10)
        for record in refusals():
            assert record.name == "gateway.xmpp.component" and record.levelno == logging.ERROR
            assert "check the component secret" in record.getMessage()
        delays = [re.search(r"retrying in (\d+) s", r.getMessage()) for r in refusals()]
        assert [int(d.group(1)) for d in delays if d][:3] == [1, 2, 2]
        assert not [r for r in caplog.records if r.exc_info], "a refusal must not produce a traceback"
        assert component.state is not State.CONNECTED
        status, body = await healthz(base)
        assert status == 503
        assert body["components"][LOOPBACK] != "connected"
        assert component.state is not State.CONNECTED

        # The operator fixes the server's side; the same gateway object connects without a restart.
        server.components = (ComponentSpec(LOOPBACK, LOOPBACK_SECRET),)
        server.restart()
        assert await component.wait_connected(10)
        assert (await healthz(base))[0] == 200
    finally:
        await gateway.stop()
        server.stop()


async def test_a_stanza_cut_off_with_the_stream_is_sent_again_with_its_id(prosody: ProsodyServer,
                                                                         gateway: Gateway,
                                                                         alice: TestClient) -> None:
    assert gateway.router is not None and gateway.store is not None and prosody.pid is not None
    component = gateway.components["loopback"]
    await echo_round_trip(alice, "warm-up")
    assert await component.outbox.wait_empty(5)

    # Freeze the server: what the component writes now sits unread in the socket, and no ping comes back.
    os.kill(prosody.pid, signal.SIGSTOP)
    try:
        await gateway.router.receive(InboundMessage(transport="loopback", user="alice@localhost", peer="echo",
                                                    body="written into a frozen server", provider_id="frozen-1"))
        await asyncio.sleep(0.5)
        [row] = [r for r in await gateway.store.journal.history(direction=Direction.IN)
                 if r.provider_id == "frozen-1"]
        assert row.status is Status.PENDING, "written to the stream but not confirmed by a ping"
        assert len(component.outbox) == 1
    finally:
        os.kill(prosody.pid, signal.SIGKILL)  # the server dies with the stanza unread
    prosody.stop()
    await wait_until(lambda: component.state is not State.CONNECTED, timeout=5)

    prosody.start()
    assert await component.wait_connected(10)
    client = TestClient("alice@localhost", "alice-password")
    await client.start(port=prosody.c2s_port)
    try:
        copy = await client.next_message(predicate=lambda m: m["body"] == "written into a frozen server",
                                         timeout=10)
        assert copy["id"] == row.xmpp_id
        assert str(copy["from"]) == f"echo@{LOOPBACK}"

        async def delivered() -> bool:
            assert gateway.store is not None
            rows = await gateway.store.journal.history(direction=Direction.IN)
            return [r.status for r in rows if r.id == row.id] == [Status.DELIVERED]

        await wait_until(delivered, timeout=5)
        assert len(component.outbox) == 0
        with pytest.raises(TimeoutError):  # once: the frozen server never processed the first write
            await client.next_message(predicate=lambda m: m["body"] == "written into a frozen server",
                                      timeout=1)
    finally:
        await client.stop()


@pytest.fixture
def fast_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ping an idle stream every 0.3 s and give up after 1 s (60 s and 10 s in service)."""
    monkeypatch.setattr(component_module, "KEEPALIVE_INTERVAL", 0.3)
    monkeypatch.setattr(component_module, "PING_TIMEOUT", 1.0)


async def test_a_server_that_stops_answering_is_noticed_by_the_keepalive(fast_keepalive: None,
                                                                        prosody: ProsodyServer,
                                                                        gateway: Gateway) -> None:
    assert prosody.pid is not None
    component = gateway.components["loopback"]
    base = f"http://{gateway.config.http.listen}"
    await asyncio.sleep(1)  # idle, yet the keepalive pings are answered
    assert component.state is State.CONNECTED
    os.kill(prosody.pid, signal.SIGSTOP)  # the TCP connection stays open, nothing answers
    try:
        await wait_until(lambda: component.state is not State.CONNECTED, timeout=5)
        assert (await healthz(base))[0] == 503
    finally:
        os.kill(prosody.pid, signal.SIGCONT)
    assert await component.wait_connected(10)
    assert (await healthz(base))[0] == 200
