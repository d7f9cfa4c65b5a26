"""The contract-test kit: what a transport is given (a router that records what it reports, the real store on a
throwaway SQLite file, rooms that record what they are told) and how a transport's foreign side is driven
(`Foreign`, one small subclass per transport in adapters.py).

The router is a stand-in on purpose: the contract is what a transport reports, so each report is kept as it came.
The journal and the repositories are the real ones (SQLite): transports read bindings, contacts and their own
tables through them, and ids the kit hands out are real journal ids.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import logging
import types
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from aiohttp import web

from gateway.core.events import InboundMessage, OutboundMessage, Outcome, Refusal, Status
from gateway.core.policy import AccessControl
from gateway.core.rooms import RoomMessage, Show
from gateway.store.store import Store
from gateway.transports.base import Transport

USER = "alice@example.org"  # the XMPP user every contract test speaks for


class RecordingRouter:
    """What a transport sees of core.router.Router, keeping every report in arrival order.

    Messages and outcomes go through the real journal, as the router's do, so that what a transport reads back
    (open_outbound for a late delivery report, duplicates by provider id) behaves as in the gateway.
    """

    def __init__(self, store: Store, access: AccessControl) -> None:
        self._journal = store.journal
        self.access = access
        self.outcomes: list[Outcome] = []
        self.inbound: list[InboundMessage] = []  # received and new (duplicates are not kept twice)
        self.held: list[tuple[InboundMessage, Status]] = []
        self.room_messages: list[InboundMessage] = []
        self._changed = asyncio.Event()

    async def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        await self._journal.record_outcome(outcome)
        self._changed.set()

    async def unknown(self, message: OutboundMessage) -> None:
        await self.outcome(Outcome(message, Status.UNKNOWN, error_condition="undefined-condition",
                                   error_text="not known whether it was sent"))

    async def open_outbound(self, transport: str, journal_id: int) -> OutboundMessage | None:
        return await self._journal.open_outbound(transport, journal_id)

    async def receive(self, message: InboundMessage) -> bool:
        stored, new = await self._journal.record_inbound(message)
        if new:
            self.inbound.append(stored)
            self._changed.set()
        return new

    async def hold(self, message: InboundMessage, status: Status) -> bool:
        _, new = await self._journal.record_inbound(message, status)
        self.held.append((message, status))
        self._changed.set()
        return new

    def receive_room(self, message: InboundMessage) -> None:
        self.room_messages.append(message)
        self._changed.set()

    def after_room_messages(self, render: Callable[[], None]) -> None:
        render()  # nothing waits for a journal here: room messages are recorded at once

    async def wait(self, found: Callable[[], Any], timeout: float = 10.0) -> Any:
        """The first truthy `found()`, re-evaluated after each report; AssertionError after `timeout`."""
        async def poll() -> Any:
            while not (result := found()):
                self._changed.clear()
                await self._changed.wait()
            return result

        try:
            return await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"not reported within {timeout:g} s; outcomes {self.outcomes}, inbound "
                                 f"{self.inbound}, held {self.held}") from None

    def outcomes_of(self, journal_id: int) -> list[Outcome]:
        return [o for o in self.outcomes if o.message.journal_id == journal_id]


class RecordingRooms:
    """A core.rooms.RoomSink that keeps every call; contact presences are kept apart for reading."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.presences: list[tuple[str, str, bool, Show, str | None]] = []

    def contact_presence(self, user: str, peer: str, available: bool, show: Show = None,
                         status: str | None = None) -> None:
        self.presences.append((user, peer, available, show, status))

    def room_message(self, user: str, message: RoomMessage) -> None:
        self.calls.append(("room_message", (user, message)))

    def __getattr__(self, name: str) -> Callable[..., None]:
        # The rest of RoomSink (occupants, subjects, notices...): recorded by name, for reading in a failure.
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, (*args, *kwargs.values())))

        return record


class Foreign(ABC):
    """One transport's far side, as the contract tests drive it: the only part written per transport."""

    kind: ClassVar[str]
    peer: ClassVar[str]  # a canonical foreign address (JID local part) the far side answers at
    invalid_peers: ClassVar[tuple[str, ...]]  # local parts that are no address on this transport
    final: ClassVar[Status] = Status.SENT  # what becomes of a message to `peer`: SENT or DELIVERED
    # An address the far side refuses, or None when nothing on this transport fails after it was taken.
    failing_peer: ClassVar[str | None] = None

    @classmethod
    def make(cls, request: pytest.FixtureRequest) -> Foreign:
        """An instance for one test; one that needs a server asks `request` for its fixture."""
        return cls()

    async def start(self, store: Store, public_url: str) -> None:
        """Start the far side and store what the user needs (a binding, ...); the user exists already.
        `public_url` is where the transport's routes (webhooks) are served."""
        return None

    def settings(self) -> dict[str, Any]:
        """The transport's settings table beyond jid, secret and access."""
        return {}

    @abstractmethod
    async def received(self, bench: Bench, message: OutboundMessage) -> None:
        """Return once the far side has `message` from the user; fail if it never comes."""

    @abstractmethod
    async def say(self, bench: Bench, body: str) -> str:
        """Make the far side (at `peer`) write to the user; return the body the user is to get."""

    async def stop(self) -> None:
        """Stop what start started."""
        return None


@dataclass
class Bench:
    """A started transport, what it reports to, and its far side."""

    transport: Transport[Any]
    router: RecordingRouter
    rooms: RecordingRooms
    store: Store
    foreign: Foreign
    user: str = USER
    web_runner: web.AppRunner | None = None
    _messages: int = field(default=0)

    async def send(self, body: str, peer: str | None = None) -> OutboundMessage:
        """Journal a message from the user as the router does, hand it to the transport; returns it journaled.
        A Refusal becomes a FAILED outcome with its text, as Router._send makes it."""
        self._messages += 1
        message = await self.store.journal.record_outbound(OutboundMessage(
            transport=self.transport.name, user=self.user, resource="contract", peer=peer or self.foreign.peer,
            body=body, xmpp_id=f"contract-{self._messages}", receipt_requested=True))
        try:
            await self.transport.send(message)
        except Refusal as refusal:
            await self.router.outcome(Outcome(message, Status.FAILED, error_condition=refusal.condition,
                                              error_text=refusal.text))
        return message

    async def settled(self, message: OutboundMessage) -> Outcome:
        """The outcome that settles `message` (its final one), once reported."""
        assert message.journal_id is not None
        journal_id = message.journal_id

        def final() -> Outcome | None:
            return next((o for o in self.router.outcomes_of(journal_id)
                         if o.status in (Status.FAILED, Status.UNKNOWN, self.foreign.final)), None)

        settled: Outcome = await self.router.wait(final)
        return settled


def readable(text: str | None) -> bool:
    """A text a person can act on: words, not a traceback, an exception's repr or a bare condition name."""
    if text is None or len(text.split()) < 3:
        return False
    return "Traceback" not in text and not any(f"{name}(" in text for name in ("Error", "Exception", "Refusal"))


# -- what is left of a user: a generic walk over a transport's object graph ----------------------------------
_LEAVES = (int, float, complex, bool, bytes, bytearray, memoryview, enum.Enum, type, types.ModuleType,
           types.BuiltinFunctionType, logging.Logger, logging.LoggerAdapter, asyncio.AbstractEventLoop,
           web.Application)


def leftovers(root: object, needle: str, *, skip: Collection[object] = (), limit: int = 200_000) -> list[str]:
    """Where `needle` still appears among what `root` holds: paths such as `.sessions._by_user['alice@...']`.

    Follows attributes (__dict__ and __slots__), containers, bound methods, partials, closures and the suspended
    frames of tasks and coroutines (a timer per user is state too); `skip` holds objects shared with others (the
    store, the router, settings) whose contents are not the transport's.
    """
    found: list[str] = []
    seen = {id(item) for item in skip}
    todo: deque[tuple[object, str]] = deque([(root, "")])
    while todo and len(seen) < limit:
        item, path = todo.popleft()
        if isinstance(item, str):
            if needle in item:
                found.append(path or repr(item))
            continue
        if item is None or isinstance(item, _LEAVES) or id(item) in seen:
            continue
        seen.add(id(item))
        todo.extend(_children(item, path))
    return found


def _children(item: object, path: str) -> Iterator[tuple[object, str]]:
    if isinstance(item, dict):
        for key, value in list(item.items()):
            yield key, f"{path}[{key!r}] (key)"
            yield value, f"{path}[{key!r}]"
        return
    if isinstance(item, (list, tuple, set, frozenset, deque)):
        for index, value in enumerate(list(item)):
            yield value, f"{path}[{index}]"
        return
    if isinstance(item, types.MethodType):
        yield item.__self__, path + ".__self__"
        return
    if isinstance(item, functools.partial):
        yield item.func, path + ".func"
        yield item.args, path + ".args"
        yield item.keywords, path + ".keywords"
        return
    if isinstance(item, types.FunctionType):
        for cell in item.__closure__ or ():
            try:
                yield cell.cell_contents, f"{path}<closure>"
            except ValueError:  # an empty cell
                continue
        return
    if isinstance(item, asyncio.Task):
        yield item.get_name(), path + "<task name>"
        yield item.get_coro(), path + "<task>"
        return
    if inspect.iscoroutine(item) or inspect.isasyncgen(item) or inspect.isgenerator(item):
        frame = getattr(item, "cr_frame", None) or getattr(item, "ag_frame", None) or getattr(item, "gi_frame", None)
        if frame is not None:
            yield dict(frame.f_locals), path + "<frame>"
        return
    if isinstance(item, asyncio.Future):
        return  # a bare future holds a result, not state
    attributes = getattr(item, "__dict__", None)
    if isinstance(attributes, dict):
        for name, value in list(attributes.items()):
            yield value, f"{path}.{name}"
    for klass in type(item).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if isinstance(name, str) and hasattr(item, name):
                yield getattr(item, name), f"{path}.{name}"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, pause: float = 0.05) -> None:
    """Wait until `check()` is true; AssertionError after `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(pause)
    except TimeoutError:
        raise AssertionError(f"still not so after {timeout:g} s") from None
