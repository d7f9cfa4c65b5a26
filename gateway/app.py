"""Composition root: builds the store, router, transports, components and web server; starts and stops them."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.config import Config
from gateway.core.policy import AccessControl, AccessPolicy
from gateway.core.router import Router
from gateway.startup import collections_paused, freeze_start_up
from gateway.store.store import Store
from gateway.transports.base import Transport, TransportContext
from gateway.transports.discovery import descriptor
from gateway.web.metrics import Metrics
from gateway.web.server import Health, WebServer, build_app
from gateway.xmpp.administration import Administration
from gateway.xmpp.component import GatewayComponent, State
from gateway.xmpp.muc import MucService

log = logging.getLogger(__name__)

PURGE_INTERVAL = 3600.0
SWITCH_INTERVAL = 0.002  # seconds; see run()


class Gateway:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.store: Store | None = None
        self.router: Router | None = None
        self.transports: dict[str, Transport[Any]] = {}
        self.components: dict[str, GatewayComponent] = {}
        self.administrations: dict[str, Administration] = {}  # ad-hoc, chat commands, registration, rosters
        self.mucs: dict[str, MucService] = {}  # group chats, for transports that have rooms
        self.web: WebServer | None = None
        self._purger: asyncio.Task[None] | None = None
        self._loop_watch: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()

    def component_states(self) -> dict[str, str]:
        return {c.domain: c.state.value for c in self.components.values()}

    async def health(self) -> Health:
        database = await self.store.journal.writes_failing() if self.store is not None else "not open"
        return Health(self.component_states(), database)

    async def start(self) -> None:
        config = self.config
        self._loop_watch = asyncio.create_task(self.metrics.watch_loop(), name="loop-lag")
        self.store = store = await Store.open(config.database.sqlalchemy_url,
                                              migrate=config.database.migrate_on_start,
                                              secret_key=config.database.secret_key_value, kinds=config.kinds)
        policies = {name: AccessPolicy(s.access, s.allowlist) for name, s in config.transports.items()}
        access = AccessControl(store.users, frozenset(config.xmpp.admins), policies)
        self.router = router = Router(store.journal, access, self.metrics.count_message)
        for name, settings in config.transports.items():
            installed = descriptor(config.kind(name))
            context = TransportContext(router=router, store=store, public_url=config.http.base_url, name=name)
            transport = installed.adapter_class()(settings, context)
            component = GatewayComponent(
                transport, router, host=config.xmpp.host, port=config.xmpp.component_port,
                server_domain=config.server_domain(settings.jid),
                reconnect_max_delay=config.xmpp.reconnect_max_delay, max_stanza_size=config.xmpp.max_stanza_size,
                on_state=self._component_state, on_reconnect=self._component_reconnect)
            router.attach(name, transport, component)
            self.transports[name] = transport
            self.components[name] = component
            administration = self.administrations[name] = Administration(component, store, access, installed)
            component.connect_chat_commands(administration.chat.handle)
            rooms = transport.room_service()
            if rooms is not None:
                muc = self.mucs[name] = MucService(component, rooms, store.rooms, store.archive)
                component.connect_rooms(muc.handle_message, muc.handle_error)
                rooms.attach_rooms(muc)
                router.attach_rooms(name, muc)
            self.metrics.connected.labels(component=settings.jid).set(0)

        routes = [route for t in self.transports.values() for route in t.routes()]
        self.web = WebServer(build_app(self.health, self.metrics, routes), config.http.host, config.http.port)
        await self.web.start()
        for transport in self.transports.values():
            await transport.start()
        for component in self.components.values():
            component.start()
        for name in self.transports:
            await router.resume(name)
        self._purger = asyncio.create_task(self._purge_loop(), name="journal-purge")
        log.info("gateway started: %s; HTTP on %s", ", ".join(c.domain for c in self.components.values())
                 or "no transports", config.http.listen)

    async def stop(self) -> None:
        """Drain: finish in-flight work, confirm what was written to the server, then close."""
        log.info("gateway stopping")
        for task in (self._purger, self._loop_watch):
            if task is not None:
                task.cancel()
                # Wait for it: a purge cancelled mid-query leaves a connection clean-up that would keep the
                # process from exiting once the engine is disposed.
                await asyncio.gather(task, return_exceptions=True)
        for muc in self.mucs.values():
            await muc.stop()
        if self.router is not None:
            self.router.stopping()
        for transport in self.transports.values():
            await transport.stop()
        if self.router is not None:
            await self.router.drain()
        for administration in self.administrations.values():
            await administration.stop()
        await asyncio.gather(*(c.stop() for c in self.components.values()))
        if self.router is not None:
            await self.router.drain()
        if self.web is not None:
            await self.web.stop()
        if self.store is not None:
            await self.store.close()
        log.info("gateway stopped")

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT, then drain."""
        # The store's threads on SQLite (the reader's, the journal writer's under load) wait for the GIL at each
        # hand-over while the event loop is busy, up to the switch interval (5 ms by default); much shorter, the
        # threads trade the GIL so often that the switching costs more than it saves. 2 ms measured best with
        # `make bench` (0.5 to 5 ms tried, with the journal's writes all in their thread; 0.5 ms again with only
        # load in the thread: no faster, and a worse p99).
        sys.setswitchinterval(SWITCH_INTERVAL)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            with collections_paused():
                await self.start()
            # Unfrozen, every full collection walked what start-up left, stalling the loop ~100 ms every second
            # or two under load.
            freeze_start_up()
            await self._stop_requested.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.stop()

    async def _purge_loop(self) -> None:
        assert self.store is not None
        retention = timedelta(days=self.config.database.journal_retention_days)
        archive_retention = timedelta(days=self.config.database.archive_retention_days)
        while True:
            try:
                now = datetime.now(UTC)
                removed = await self.store.journal.purge(now - retention, now - archive_retention)
                if removed:
                    log.info("purged %d journal row(s) older than %s (archived room lines: %s)", removed, retention,
                             archive_retention)
            except Exception:
                log.exception("journal purge failed; retrying in an hour")
            await asyncio.sleep(PURGE_INTERVAL)

    def _component_state(self, jid: str, state: State) -> None:
        self.metrics.connected.labels(component=jid).set(1 if state is State.CONNECTED else 0)

    def _component_reconnect(self, jid: str) -> None:
        self.metrics.reconnects.labels(component=jid).inc()
