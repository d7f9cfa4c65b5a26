"""Fixtures every test area shares: databases (SQLite always, PostgreSQL where reachable)."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from gateway.app import Gateway
from gateway.devstack.ngircd import NgircdServer, ngircd_available
from gateway.devstack.ports import free_port, reserve_ports
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from tests.fuzz import summary as fuzz_summary
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, raw_config, start_gateway
from tests.support.xmpp_client import TestClient

# Parallel workers (pytest-xdist's "gw0", "gw1", ...) each start servers on a port range of their own.
WORKER_PORTS, MAX_WORKERS, FIRST_PORT = 2800, 8, 10000  # all below the kernel's ephemeral range (32768)
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker:
    _index = int(_worker.removeprefix("gw"))
    if _index >= MAX_WORKERS:
        raise RuntimeError(f"at most {MAX_WORKERS} test workers have a port range of their own")
    reserve_ports(range(FIRST_PORT + _index * WORKER_PORTS, FIRST_PORT + (_index + 1) * WORKER_PORTS))


def pytest_configure(config: pytest.Config) -> None:
    # One fuzz seed for the whole run, which parallel workers inherit (tests/fuzz/harness.py reads it).
    if not _worker:
        os.environ.setdefault("FUZZ_SEED", str(random.SystemRandom().randrange(1, 2**31)))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return fuzz_summary.header()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    fuzz_summary.write(terminalreporter)


# The server that CI and development machines run; another can be named for local runs.
PG_ADMIN_DSN = os.environ.get("XMPP_GATEWAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin DSN of a reachable PostgreSQL; in CI an unreachable one fails the run instead of skipping."""
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {PG_ADMIN_DSN} is unreachable: {exc}"
        if _in_ci():
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_ADMIN_DSN


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    base = postgres_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on each supported database."""
    return str(request.getfixturevalue(f"{request.param}_url"))


# -- a real XMPP server and a gateway on it ---------------------------------------------------------------
@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Prosody on free loopback ports, with the loopback component declared."""
    if not prosody_available():
        if _in_ci():
            pytest.fail("prosody is not installed (make test installs it)")
        pytest.skip("prosody is not installed")
    server = ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(LOOPBACK, LOOPBACK_SECRET)])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[NgircdServer]:
    """ngircd on a free loopback port."""
    if not ngircd_available():
        if _in_ci():
            pytest.fail("ngircd is not installed (make test installs it)")
        pytest.skip("ngircd is not installed")
    with NgircdServer(tmp_path / "ngircd") as server:
        yield server


@pytest.fixture
async def alice(prosody: ProsodyServer) -> AsyncIterator[TestClient]:
    """A logged-in client, alice@localhost."""
    client = TestClient(prosody.register("alice", "alice-password"), "alice-password")
    await client.start(port=prosody.c2s_port)
    yield client
    await client.stop()


@pytest.fixture
async def gateway(prosody: ProsodyServer, tmp_path: Path, sqlite_url: str) -> AsyncIterator[Gateway]:
    """The gateway with the loopback transport (open access), connected to `prosody`."""
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url)
    running = await start_gateway(raw, tmp_path)
    yield running
    await running.stop()
