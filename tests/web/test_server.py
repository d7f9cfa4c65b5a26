"""GET /healthz and GET /metrics, without a gateway around them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.core.events import Direction
from gateway.devstack.ports import free_port
from gateway.web.metrics import Metrics
from gateway.web.server import Health, WebServer, build_app

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


@pytest.mark.parametrize("request_bytes", [
    b"GET /\xc3\xbc HTTP/1.1\r\nHost: x\r\n\r\n",  # a raw non-ASCII path
    b"GET /echo HTTP/1.1\r\nHost x\r\n\r\n",  # a header without its colon
    b"DELETE /metrics HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
], ids=["non-ASCII path", "broken header", "a body left unread that does not decode"])
async def test_a_request_aiohttp_cannot_read_is_one_warning_line_not_a_traceback(
        caplog: pytest.LogCaptureFixture, request_bytes: bytes) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    async def health() -> Health:
        return Health({})

    port = free_port()
    server = WebServer(build_app(health, Metrics(), [web.post("/echo", echo)]), "127.0.0.1", port)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request_bytes)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(100), 5)
        writer.close()
        await asyncio.sleep(0.1)  # aiohttp logs after it answered
    finally:
        await server.stop()
    assert answer.split(b"\r\n")[0].split(b" ")[1] in (b"400", b"405")
    logged = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [r.levelname for r in logged] == ["WARNING"] and logged[0].exc_info is None
