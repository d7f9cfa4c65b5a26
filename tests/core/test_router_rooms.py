"""The router's room path on a real journal (SQLite): what becomes of a line whose user is no longer in the room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.core.events import Direction, InboundMessage, OutboundMessage, Outcome, Status
from gateway.core.policy import AccessControl, AccessPolicy
from gateway.core.router import ROOM_ROUND, Router
from gateway.store.store import Store


class Rooms:
    """The XMPP side of rooms: `present` users are in every room; a resumed line for anyone else waits."""

    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.shown: list[str] = []
        self.waiting: list[str] = []

    def deliver_room(self, message: InboundMessage, resumed: bool = False) -> asyncio.Future[None] | None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if message.user in self.present:
            self.shown.append(message.body)
            future.set_result(None)
            return future
        if not resumed:
            return None
        self.waiting.append(message.body)
        return future

    def resume_room(self, message: Any) -> None:
        raise AssertionError("no outbound room messages here")


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url, migrate=True)
    yield store
    await store.close()


def router_for(store: Store, rooms: Rooms) -> Router:
    router = Router(store.journal, AccessControl(store.users, frozenset(), {"irc": AccessPolicy("open", ())}))
    router.attach("irc", sender=None, sink=None)  # type: ignore[arg-type]  # no 1:1 messages here
    router.attach_rooms("irc", rooms)
    return router


def line(user: str, body: str) -> InboundMessage:
    return InboundMessage(transport="irc", user=user, peer="#chan%net", body=body, provider_id=None, room_nick="bob")


async def test_a_line_for_a_user_who_left_the_room_is_settled_not_kept_pending(store: Store) -> None:
    rooms = Rooms(present={"here@example.org"})
    router = router_for(store, rooms)

    router.receive_room(line("here@example.org", "for you"))
    router.receive_room(line("gone@example.org", "too late"))
    await router.drain()

    assert rooms.shown == ["for you"] and rooms.waiting == []
    statuses = {r.body: r.status for r in await store.journal.history(direction=Direction.IN)}
    assert statuses == {"for you": Status.DELIVERED, "too late": Status.UNROUTABLE}
    assert not await store.journal.pending_inbound("irc")  # nothing left for a restart to park forever


async def test_a_resumed_line_waits_for_its_user_to_come_back(store: Store) -> None:
    await store.journal.record_inbound(line("away@example.org", "from before the restart"))
    rooms = Rooms(present=set())
    await router_for(store, rooms).resume("irc")

    assert rooms.waiting == ["from before the restart"]
    assert [m.body for m in await store.journal.pending_inbound("irc")] == ["from before the restart"]


async def test_a_burst_is_journaled_and_shown_in_rounds_with_other_work_between_them(store: Store) -> None:
    """A burst of 1,000 lines is shown in order, but not in one turn of the loop: other callbacks run between
    the rounds (without them a busy channel stalls every other user for as long as its burst takes)."""
    loop = asyncio.get_running_loop()
    drained = False
    turns = 0

    def turn() -> None:  # counts the turns of the loop until the router is drained
        nonlocal turns
        turns += 1
        if not drained:
            loop.call_soon(turn)

    rooms = Rooms(present={"here@example.org"})
    turns_seen: list[int] = []
    show = rooms.deliver_room

    def deliver_room(message: InboundMessage, resumed: bool = False) -> asyncio.Future[None] | None:
        turns_seen.append(turns)
        return show(message, resumed)

    rooms.deliver_room = deliver_room  # type: ignore[method-assign]
    router = router_for(store, rooms)
    events: list[int] = []
    loop.call_soon(turn)
    for n in range(1000):
        router.receive_room(line("here@example.org", f"line {n}"))
        if n == 599:
            router.after_room_messages(lambda: events.append(len(rooms.shown)))
    await router.drain()
    drained = True

    assert rooms.shown == [f"line {n}" for n in range(1000)]
    assert events == [600]  # the event in the middle ran after the 600 lines before it, before the others
    rounds = len(set(turns_seen))
    assert rounds >= 1000 // ROOM_ROUND, f"shown in {rounds} turn(s) of the loop"
    assert all(turns_seen.count(t) <= ROOM_ROUND for t in set(turns_seen))


class Reports:
    """The XMPP side's error reports (a FAILED outcome is reported to its sender)."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def report(self, outcome: Outcome) -> asyncio.Future[None]:
        self.outcomes.append(outcome)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def said(body: str) -> OutboundMessage:
    return OutboundMessage(transport="irc", user="here@example.org", resource="phone", peer="#chan%net", body=body,
                           xmpp_id=None, room=True)


async def test_a_queued_room_line_is_settled_when_it_leaves_or_when_its_connection_is_lost(store: Store) -> None:
    """Flood control hands back a future for the line; its outcome is recorded once that future settles."""
    reports = Reports()
    router = router_for(store, Rooms(present=set()))
    router.attach("irc", sender=None, sink=reports)  # type: ignore[arg-type]
    lines: dict[str, asyncio.Future[None]] = {}

    async def queue(message: OutboundMessage) -> asyncio.Future[None]:
        lines[message.body] = asyncio.get_running_loop().create_future()
        return lines[message.body]

    for body in ("leaves", "lost", "at stop"):
        await router.submit_room(said(body), queue)
    lines["leaves"].set_result(None)
    lines["lost"].set_exception(ConnectionError("reset by peer"))
    await asyncio.sleep(0)  # their callbacks run
    router.stopping()
    lines["at stop"].set_exception(ConnectionError("closed"))
    await router.drain()

    rows = {r.body: r for r in await store.journal.history(direction=Direction.OUT)}
    assert {body: row.status for body, row in rows.items()} == {
        "leaves": Status.SENT, "lost": Status.FAILED, "at stop": Status.ACCEPTED}
    assert rows["lost"].error is not None and "reset by peer" in rows["lost"].error
    assert [(o.message.body, o.error_condition) for o in reports.outcomes] == [("lost", "recipient-unavailable")]
    assert [m.body for m in await store.journal.accepted_outbound("irc")] == ["at stop"]  # sent after a restart
