"""A room flood faster than the XMPP server: past the backlog limit, lines wait in the journal, not in memory, and are
read back in order as the server confirms the earlier ones (core.backlog, on a real SQLite journal)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.core.backlog import RoomBacklog
from gateway.core.events import Direction, InboundMessage, Status
from gateway.core.policy import AccessControl, AccessPolicy
from gateway.core.router import Router
from gateway.store.store import Store


class SlowServer:
    """The XMPP side of rooms: every line is shown (rendered) at once, and confirmed when the test says so."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.unconfirmed: list[asyncio.Future[None]] = []
        self.most_unconfirmed = 0

    def deliver_room(self, message: InboundMessage, resumed: bool = False) -> asyncio.Future[None] | None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.shown.append(message.body)
        self.unconfirmed.append(future)
        self.most_unconfirmed = max(self.most_unconfirmed, len(self.unconfirmed))
        return future

    def resume_room(self, message: object) -> None:
        raise AssertionError("no outbound room messages here")

    async def confirm(self, count: int) -> None:
        confirmed, self.unconfirmed = self.unconfirmed[:count], self.unconfirmed[count:]
        for future in confirmed:
            future.set_result(None)
        for _ in range(20):  # the router marks them, the backlog reads more back
            await asyncio.sleep(0.01)


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url, migrate=True)
    yield store
    await store.close()


@pytest.fixture
def small_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RoomBacklog, "LIMIT", 8)
    monkeypatch.setattr(RoomBacklog, "SLICE", 4)


def router_for(store: Store, server: SlowServer) -> Router:
    router = Router(store.journal, AccessControl(store.users, frozenset(), {"irc": AccessPolicy("open", ())}))
    router.attach("irc", sender=None, sink=None)  # type: ignore[arg-type]  # no 1:1 messages here
    router.attach_rooms("irc", server)
    return router


def line(body: str) -> InboundMessage:
    return InboundMessage(transport="irc", user="alice@example.org", peer="#chan%net", body=body, provider_id=None,
                          room_nick="bob")


async def statuses(store: Store) -> dict[str, Status]:
    return {r.body: r.status for r in await store.journal.history(direction=Direction.IN)}


async def test_a_flood_waits_in_the_journal_past_the_limit_and_is_shown_in_order(
        store: Store, small_backlog: None) -> None:
    server = SlowServer()
    router = router_for(store, server)
    bodies = [f"line {n}" for n in range(30)]
    for body in bodies[:20]:
        router.receive_room(line(body))
    await asyncio.sleep(0.3)  # journaled, the first 8 shown; the rest waits in the journal
    assert server.shown == bodies[:8]
    assert sum(s is Status.PENDING for s in (await statuses(store)).values()) == 20

    await server.confirm(3)  # not enough room yet for a slice of 4
    assert server.shown == bodies[:8]
    await server.confirm(1)  # now a slice is read back, in order
    assert server.shown == bodies[:12]
    for body in bodies[20:]:  # live lines while some wait in the journal: after them, never before
        router.receive_room(line(body))
    while len(server.shown) < 30 or server.unconfirmed:
        await server.confirm(4)
    await router.drain()

    assert server.shown == bodies  # each once, in order
    assert server.most_unconfirmed <= RoomBacklog.LIMIT
    assert set((await statuses(store)).values()) == {Status.DELIVERED}


async def test_what_waits_in_the_journal_at_a_stop_stays_pending_for_the_next_start(
        store: Store, small_backlog: None) -> None:
    server = SlowServer()
    router = router_for(store, server)
    for n in range(12):
        router.receive_room(line(f"line {n}"))
    await asyncio.sleep(0.3)
    router.stopping()
    await server.confirm(8)
    await router.drain()

    assert len(server.shown) == 8  # nothing more is read back once stopping
    pending = [m.body for m in await store.journal.pending_inbound("irc")]
    assert pending == [f"line {n}" for n in range(8, 12)]
