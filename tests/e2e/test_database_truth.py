"""The sender is told the truth when the database fails under them: never "failed" for a message that is then
delivered, and /healthz says when writes fail."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg
import pytest

from gateway.app import Gateway
from gateway.core.router import NOT_CONFIRMED, NOT_RECORDED
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.helpers import healthz
from tests.support.stack import LOOPBACK, raw_config, start_gateway, wait_until
from tests.support.xmpp_client import TestClient


async def _terminate_backends(admin_dsn: str, database: str, stop: asyncio.Event) -> int:
    """Kill the gateway's PostgreSQL connections again and again, as an operator's mistake or a failover would."""
    killed = 0
    connection = await asyncpg.connect(admin_dsn)
    try:
        while not stop.is_set():
            killed += len(await connection.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
                "pg_backend_pid()", database))
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    return killed


async def test_no_message_is_reported_failed_and_then_delivered_when_backends_die(
        prosody: ProsodyServer, postgres_server: str, postgres_url: str, tmp_path: Path, alice: TestClient) -> None:
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=postgres_url)
    gateway: Gateway = await start_gateway(raw, tmp_path)
    received: list = []  # type: ignore[type-arg]
    alice.add_event_handler("message", received.append)
    alice.add_event_handler("message_error", received.append)
    stop = asyncio.Event()
    killer = asyncio.create_task(_terminate_backends(postgres_server, postgres_url.rsplit("/", 1)[1], stop))
    try:
        for n in range(60):
            message = alice.make_message(mto=f"echo@{LOOPBACK}", mbody=f"m{n}", mtype="chat")
            message["id"] = f"m{n}"
            message.send()
            await asyncio.sleep(0.03)
        await asyncio.sleep(3)
    finally:
        stop.set()
        killed = await killer
        with contextlib.suppress(Exception):
            await gateway.stop()
    # The next start delivers what the first one journaled and did not deliver.
    gateway = await start_gateway(raw, tmp_path)
    try:
        await asyncio.sleep(3)
    finally:
        await gateway.stop()
    assert killed > 0
    # An error that says the outcome is not known is the truth; one that says "failed" must not be followed by the echo.
    errors = [m for m in received if m["type"] == "error"]
    failed = {m["id"] for m in errors if m["error"]["text"] not in (NOT_CONFIRMED, NOT_RECORDED)}
    echoed = {m["body"] for m in received if m["type"] == "chat" and m["body"]}
    told_failed_but_delivered = failed & echoed
    assert not told_failed_but_delivered, sorted(told_failed_but_delivered)
    print(f"killed {killed} backends; {len(errors)} errors, {len(failed)} saying it failed; {len(echoed)} echoes")


async def _admin(dsn: str, *statements: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def test_healthz_says_when_journal_writes_fail_and_when_they_succeed_again(
        prosody: ProsodyServer, postgres_server: str, postgres_url: str, tmp_path: Path, alice: TestClient,
        caplog: pytest.LogCaptureFixture) -> None:
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=postgres_url)
    gateway = await start_gateway(raw, tmp_path)
    base = f"http://127.0.0.1:{raw['http']['listen'].rsplit(':', 1)[1]}"
    name = postgres_url.rsplit("/", 1)[1]
    try:
        assert (await healthz(base))[1]["database"] == "ok"
        # The database goes away (renamed under the gateway's feet): every write fails.
        await _admin(postgres_server,
                     f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
                     f'ALTER DATABASE "{name}" RENAME TO "{name}_away"')
        for n in range(30):  # traffic whose writes fail, many times over
            alice.send_message(mto=f"echo@{LOOPBACK}", mbody=f"during {n}", mtype="chat")
        await wait_until(lambda: _unhealthy(base), timeout=10)
        status, body = await healthz(base)
        assert status == 503 and body["status"] == "degraded" and name in body["database"]
        await _admin(postgres_server, f'ALTER DATABASE "{name}_away" RENAME TO "{name}"')
        await wait_until(lambda: _healthy(base), timeout=10)  # seen by the probe, without traffic of its own
    finally:
        await gateway.stop()
    failures = [r for r in caplog.records if r.getMessage().startswith("journal write failed")]
    assert 0 < len(failures) <= 10, len(failures)  # once per kind every few seconds, with a count; not per write


async def _unhealthy(base: str) -> bool:
    return (await healthz(base))[0] == 503


async def _healthy(base: str) -> bool:
    return (await healthz(base))[0] == 200
