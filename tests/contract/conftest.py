"""`bench`: one installed transport, started as app.py starts it, on the kit's router and a fresh store; the
contract tests run once per installed kind, the test-only pager included."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web

from gateway.core.policy import AccessControl, AccessPolicy
from gateway.core.router import Router
from gateway.devstack.ports import free_port
from gateway.store.store import Store
from gateway.transports.base import TransportContext
from gateway.transports.discovery import descriptor, descriptors
from tests.contract.adapters import ADAPTERS
from tests.contract.kit import USER, Bench, RecordingRooms, RecordingRouter
from tests.test_plugin_transport import install

# Every transport installed with the project, and the pager from tests/plugin_transport, installed per test.
KINDS = sorted({*descriptors(), "pager"})


@pytest.fixture
def installed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The kind under test, discoverable through its entry point for the length of the test."""
    kind: str = request.param
    site = tmp_path / "site-packages"
    if kind not in descriptors():
        install(site)  # the pager's throwaway distribution
        sys.path.append(str(site))
        descriptors.cache_clear()
    yield kind
    if str(site) in sys.path:
        sys.path.remove(str(site))
        descriptors.cache_clear()


@pytest.fixture
async def bench(installed: str, request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Bench]:
    kind = installed
    store = await Store.open(sqlite_url, migrate=True)
    await store.users.add(USER, transports=[kind])
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    foreign = ADAPTERS[kind].make(request)
    await foreign.start(store, public_url)

    found = descriptor(kind)
    settings = found.settings.model_validate(
        {"jid": f"{kind}.localhost", "secret": "contract-secret", "access": "open", **foreign.settings()})
    router = RecordingRouter(store, AccessControl(store.users, frozenset(), {kind: AccessPolicy("open")}))
    context = TransportContext(router=cast(Router, router), store=store, public_url=public_url)
    transport = found.adapter_class()(settings, context)
    rooms = RecordingRooms()
    room_service = transport.room_service()
    if room_service is not None:
        room_service.attach_rooms(rooms)
    runner: web.AppRunner | None = None
    if routes := transport.routes():  # webhooks, served as the gateway's web server serves them
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    await transport.start()
    try:
        yield Bench(transport, router, rooms, store, foreign, web_runner=runner)
    finally:
        await transport.stop()
        if runner is not None:
            await runner.cleanup()
        await foreign.stop()
        await store.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "installed" in metafunc.fixturenames:
        metafunc.parametrize("installed", KINDS, indirect=True)
