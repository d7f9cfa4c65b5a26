"""GET /healthz and GET /metrics, without a gateway around them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.core.events import Direction
from gateway.web.metrics import Metrics
from gateway.web.server import Health, build_app

States = dict[str, str]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[States, Metrics], TestClient]]:
    clients: list[TestClient] = []

    def make(states: States, metrics: Metrics, database: str | None = None) -> TestClient:
        async def health() -> Health:
            return Health(states, database)

        client = TestClient(TestServer(build_app(health, metrics)))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.mark.parametrize(("states", "status"), [
    ({"sms.example.org": "connected", "irc.example.org": "connected"}, 200),
    ({"sms.example.org": "connected", "irc.example.org": "connecting"}, 503),
    ({"sms.example.org": "disconnected"}, 503),
    ({}, 503),  # nothing to serve is not healthy
])
async def test_healthz(serve: Callable[[States, Metrics], TestClient], states: States, status: int) -> None:
    client = serve(states, Metrics())
    await client.start_server()
    response = await client.get("/healthz")
    assert response.status == status
    assert await response.json() == {"status": "ok" if status == 200 else "degraded", "components": states,
                                     "database": "ok"}


async def test_healthz_is_503_with_the_reason_while_journal_writes_fail(
        serve: Callable[..., TestClient]) -> None:
    client = serve({"sms.example.org": "connected"}, Metrics(), "OperationalError: database or disk is full")
    await client.start_server()
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "OperationalError: database or disk is full"


async def test_metrics_are_prometheus_text(serve: Callable[[States, Metrics], TestClient]) -> None:
    metrics = Metrics()
    metrics.count_message("loopback", Direction.OUT)
    metrics.count_message("loopback", Direction.IN)
    metrics.count_message("loopback", Direction.OUT)
    metrics.connected.labels(component="loopback.localhost").set(1)
    metrics.reconnects.labels(component="loopback.localhost").inc()
    client = serve({}, metrics)
    await client.start_server()
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert 'xmpp_gateway_messages_total{direction="out",transport="loopback"} 2.0' in text
    assert 'xmpp_gateway_messages_total{direction="in",transport="loopback"} 1.0' in text
    assert 'xmpp_gateway_component_connected{component="loopback.localhost"} 1.0' in text
    assert 'xmpp_gateway_component_reconnects_total{component="loopback.localhost"} 1.0' in text
