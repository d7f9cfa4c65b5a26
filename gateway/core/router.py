"""Routes messages between components and transports, journaling each one before acting on it."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.core.backlog import RoomBacklog
from gateway.core.events import (
    Direction,
    ErrorCondition,
    InboundMessage,
    JournalError,
    OutboundMessage,
    Outcome,
    Refusal,
    Status,
    Undeliverable,
)
from gateway.core.policy import AccessControl
from gateway.core.ports import Journal, MessageSender, XmppSink
from gateway.core.rooms import RoomDelivery
from gateway.core.tasks import TaskSet

log = logging.getLogger(__name__)

MessageCounter = Callable[[str, Direction], None]
RoomSend = Callable[[OutboundMessage], Awaitable[Awaitable[None] | None]]
# A journal write that fails may have committed: before anyone is told anything it is checked, then written again,
# with these pauses (seconds, about 15 in all: long enough for a database restart or a failover).
RETRY_PAUSES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
NOT_CONFIRMED = ("The gateway could not confirm that it stored this message: its database is failing. If it was "
                 "stored, it is sent when the gateway starts again; check before you send it again.")
NOT_RECORDED = ("The gateway could not record what became of this message (its database is failing): it may "
                "still arrive.")
# Room messages (and events) journaled and shown per round: a burst in a busy channel (a line times every user in
# it) is shown in slices, so that one turn of the loop never renders thousands of stanzas while the rest waits.
ROOM_ROUND = 256


@dataclass
class _Route:
    sender: MessageSender
    sink: XmppSink
    rooms: RoomDelivery | None = None


class Router:
    def __init__(self, journal: Journal, access: AccessControl, count: MessageCounter | None = None) -> None:
        self._journal = journal
        self.access = access
        self._routes: dict[str, _Route] = {}
        self._count = count or (lambda transport, direction: None)
        self._tasks = TaskSet(log)  # journal writes nobody awaits (see _settle)
        # Room messages from foreign networks, in arrival order, waiting for the journal (see receive_room), and
        # room events to render after the messages before them (see after_room_messages).
        self._room_inbox: list[InboundMessage | Callable[[], None]] = []
        self._room_writer: asyncio.Task[None] | None = None
        self._confirmed: list[int] = []  # delivered, to be marked so (see _delivered)
        self._backlogs: dict[str, RoomBacklog] = {}  # per transport with rooms (see _deliver)
        self._stopping = False

    def attach(self, transport: str, sender: MessageSender, sink: XmppSink) -> None:
        self._routes[transport] = _Route(sender, sink)

    def attach_rooms(self, transport: str, rooms: RoomDelivery) -> None:
        """Where the transport's journaled group-chat messages are rendered (the XMPP side of its rooms)."""
        self._routes[transport].rooms = rooms

        async def read(after: int, limit: int) -> Sequence[InboundMessage]:
            return await self._journal.pending_inbound(transport, after=after, limit=limit)

        backlog = self._backlogs[transport] = RoomBacklog(
            read, lambda message: self._hand(message, False, backlog))

    # -- XMPP user -> foreign network -------------------------------------------------------------------
    async def submit(self, message: OutboundMessage) -> None:
        """Take a message from an XMPP user; raise Refusal when it is not allowed (nothing is stored)."""
        route = self._routes[message.transport]
        await self.access.check(message.user, message.transport)
        message = await self._record_outbound(message)
        self._count(message.transport, Direction.OUT)
        await self._send(route, message)

    async def _record_outbound(self, message: OutboundMessage) -> OutboundMessage:
        """Journal a message from a user. A failed write is checked by the client's id before it is written again,
        so the message is stored once; Refusal when that cannot be known (nothing is said that may be untrue)."""
        try:
            return await self._journal.record_outbound(message)
        except JournalError as error:
            failure = error
        if message.xmpp_id is None:  # nothing to find it by: writing it again could store it twice
            raise Refusal("internal-server-error", NOT_CONFIRMED) from failure
        for pause in RETRY_PAUSES:
            await asyncio.sleep(pause)
            try:
                stored = await self._journal.accepted_by_id(message)
                return stored if stored is not None else await self._journal.record_outbound(message)
            except JournalError as error:
                failure = error
        log.error("%s message %s from %s: not known whether it was stored (%s)", message.transport,
                  message.xmpp_id, message.user, failure)
        raise Refusal("internal-server-error", NOT_CONFIRMED) from failure

    async def submit_room(self, message: OutboundMessage, send: RoomSend,
                          after: asyncio.Future[None] | None = None) -> OutboundMessage:
        """Take a group-chat message: journal it, then hand it to `send` (the room transport); return it journaled.

        `after`, when given, is waited for between the journal write and the send: it keeps a burst in order while
        its journal writes share commits.

        The caller renders the outcome itself (XEP-0045 reflection, or an error): a Refusal from `send` is recorded
        as FAILED, marked reported, and raised again; so is any other failure, as internal-server-error.
        """
        assert message.room, "a group-chat message has room=True"
        await self.access.check(message.user, message.transport)
        message = await self._journal.record_outbound(message)
        self._count(message.transport, Direction.OUT)
        if after is not None:
            await asyncio.shield(after)
        await self.send_room(message, send)
        return message

    async def send_room(self, message: OutboundMessage, send: RoomSend) -> None:
        """Send a journaled group-chat message with `send` and record what became of it (see submit_room)."""
        try:
            written = await send(message)
        except Refusal as refusal:
            await self._failed_in_room(message, refusal.condition, refusal.text)
            raise
        except Exception:
            await self._failed_in_room(message, "internal-server-error", "The gateway could not send this message.")
            raise
        if written is None:
            # Not awaited: the caller's reflection need not wait for this commit. A crash before it commits leaves
            # the message accepted, so sent again after the restart with its id, as a crash just before the send.
            self._sent(message)
            return
        # Queued (flood control): it stays accepted, so resumed after a crash, until it has really left. A callback,
        # not a task per message: this is a busy room's hottest path.
        left = asyncio.ensure_future(written)
        left.add_done_callback(functools.partial(self._left, message))
        self._settle(left)

    def stopping(self) -> None:
        """The gateway is stopping: what transports could not send any more stays accepted for the next start."""
        self._stopping = True
        for backlog in self._backlogs.values():
            backlog.stopped = True  # what is left in the journal is delivered at the next start

    def _sent(self, message: OutboundMessage) -> None:
        # SENT is never reported (Outcome.needs_report), so the write is all there is to do.
        self._settle(self._journal.record_outcome(Outcome(message, Status.SENT)))

    def _left(self, message: OutboundMessage, left: asyncio.Future[None]) -> None:
        if left.cancelled():
            return  # still accepted: the next start sends it
        error = left.exception()
        if error is None:
            self._sent(message)
        elif self._stopping:
            log.info("%s room message %s stays accepted until the next start", message.transport, message.journal_id)
        else:
            self._settle(self.outcome(Outcome(
                message, Status.FAILED, error_condition="recipient-unavailable",
                error_text=f"Not sent: the connection was lost before it went out ({error}).")))

    async def _failed_in_room(self, message: OutboundMessage, condition: ErrorCondition, text: str) -> None:
        if await self._journal.record_outcome(Outcome(message, Status.FAILED, error_condition=condition,
                                                      error_text=text)):
            assert message.journal_id is not None
            await self._journal.mark_reported(message.journal_id)

    async def _send(self, route: _Route, message: OutboundMessage) -> None:
        try:
            await route.sender.send(message)
        except Refusal as refusal:
            await self.outcome(Outcome(message, Status.FAILED, error_condition=refusal.condition,
                                       error_text=refusal.text))
        except JournalError as error:
            # What the transport did is not known (e.g. the echo or the provider's answer was not stored): the
            # sender is told so, not that it failed.
            log.error("transport %s on message %s: a journal write failed (%s)", message.transport,
                      message.journal_id, error)
            await self.unknown(message)
        except Exception:
            log.exception("transport %s failed on message %s", message.transport, message.journal_id)
            await self.outcome(Outcome(message, Status.FAILED, error_condition="internal-server-error",
                                       error_text="The gateway could not send this message."))

    async def unknown(self, message: OutboundMessage) -> None:
        """Tell the sender that what became of their message is not known, because the journal failed."""
        outcome = Outcome(message, Status.UNKNOWN, error_condition="undefined-condition", error_text=NOT_RECORDED)
        try:
            await self.outcome(outcome)
        except JournalError:
            self._routes[message.transport].sink.report(outcome)  # told without a record: better than silence

    async def open_outbound(self, transport: str, journal_id: int) -> OutboundMessage | None:
        """An outbound message whose outcome is still open, for providers that report later (callbacks)."""
        return await self._journal.open_outbound(transport, journal_id)

    async def outcome(self, outcome: Outcome) -> None:
        """A transport reports what became of an outbound message."""
        if not await self._journal.record_outcome(outcome):
            log.info("%s message %s already settled; %s ignored", outcome.message.transport,
                     outcome.message.journal_id, outcome.status)
            return
        if outcome.needs_report:
            journal_id = outcome.message.journal_id
            assert journal_id is not None
            try:
                future = self._routes[outcome.message.transport].sink.report(outcome)
            except Exception:
                log.exception("cannot report the outcome of %s message %s; it is not tried again",
                              outcome.message.transport, journal_id)
                self._settle(self._journal.mark_reported(journal_id))
                return
            self._after(future, self._journal.mark_reported, journal_id)

    # -- foreign network -> XMPP user -------------------------------------------------------------------
    async def receive(self, message: InboundMessage) -> bool:
        """Store, then deliver; returns False for a duplicate (acknowledged, not delivered again)."""
        stored, new = await self._record_inbound(message)
        if not new:
            log.info("duplicate %s message %s ignored", message.transport, message.provider_id)
            return False
        self._count(message.transport, Direction.IN)
        self._deliver(stored)
        return True

    async def _record_inbound(self, message: InboundMessage) -> tuple[InboundMessage, bool]:
        """Journal an inbound message. A failed write of a message with a provider id is written again (the id
        makes that safe), after looking for what the failed one may have stored; JournalError when it never
        succeeds, or at once for a message without one."""
        try:
            return await self._journal.record_inbound(message)
        except JournalError as error:
            if message.provider_id is None:
                raise
            failure = error
        for pause in RETRY_PAUSES:
            await asyncio.sleep(pause)
            try:
                stored = await self._journal.pending_by_provider(message.transport, message.user,
                                                                 message.provider_id)
                return (stored, True) if stored is not None else await self._journal.record_inbound(message)
            except JournalError as error:
                failure = error
        raise failure

    async def hold(self, message: InboundMessage, status: Status) -> bool:
        """Journal an inbound message that is not to be delivered (no user for it, or blocked)."""
        _, new = await self._journal.record_inbound(message, status)
        log.warning("%s message from %s to %s kept as %s", message.transport, message.peer,
                    message.user or "nobody", status)
        return new

    def receive_room(self, message: InboundMessage) -> None:
        """Take a group-chat message (`room_nick` set): journaled, then delivered; returns at once.

        A busy room must not wait for one commit per line: messages queue here in arrival order, each round
        journals what is queued (up to ROOM_ROUND) in one group commit (BatchWriter), then delivers it in the same
        order.
        """
        self._room_inbox.append(message)
        if self._room_writer is None:
            self._room_writer = asyncio.get_running_loop().create_task(self._journal_rooms(), name="room-journal")

    def after_room_messages(self, render: Callable[[], None]) -> None:
        """Run `render` (a room event: part, quit, nick, topic...) once the room messages received before it have
        been journaled and shown; at once when none is waiting."""
        if self._room_writer is None:
            render()
            return
        self._room_inbox.append(render)

    async def _journal_rooms(self) -> None:
        try:
            while self._room_inbox:
                batch, self._room_inbox = self._room_inbox[:ROOM_ROUND], self._room_inbox[ROOM_ROUND:]
                messages = [item for item in batch if isinstance(item, InboundMessage)]
                results = iter(await self._journal.record_inbound_many(messages) if messages else ())
                for item in batch:  # one item's failure is that item's only
                    if not isinstance(item, InboundMessage):
                        try:
                            item()
                        except Exception:
                            log.exception("rendering a room event failed")
                        continue
                    message, result = item, next(results)
                    if isinstance(result, BaseException):
                        # Better shown unjournaled than not at all; there is no redelivery for it then.
                        log.error("cannot journal a %s room message for %s: %s", message.transport, message.user,
                                  result)
                        try:
                            self._render_room(message)
                        except Exception:
                            log.exception("cannot show a %s room message to %s", message.transport, message.user)
                        continue
                    stored, new = result
                    if new:
                        self._count(message.transport, Direction.IN)
                        self._deliver(stored)
        finally:
            self._room_writer = None

    def _render_room(self, message: InboundMessage, resumed: bool = False) -> asyncio.Future[None] | None:
        rooms = self._routes[message.transport].rooms
        if rooms is None:
            raise RuntimeError(f"{message.transport} has no rooms attached")
        return rooms.deliver_room(message, resumed)

    def _deliver(self, message: InboundMessage, resumed: bool = False) -> None:
        """Hand a journaled message to its component; a message that cannot be rendered is failed, never raised.

        A live room message past the transport's backlog limit stays pending in the journal instead (see
        core.backlog): it is read back and handed over once the XMPP server has taken the ones before it."""
        backlog = self._backlogs.get(message.transport) if message.room_nick is not None and not resumed else None
        if backlog is not None and not backlog.admit(message):
            return
        self._hand(message, resumed, backlog)

    def _hand(self, message: InboundMessage, resumed: bool, backlog: RoomBacklog | None) -> None:
        journal_id = message.journal_id
        assert journal_id is not None
        try:
            if message.room_nick is None:
                future = self._routes[message.transport].sink.deliver(message)
            else:
                room_future = self._render_room(message, resumed)
                if room_future is None:
                    # Also every line of a channel an always-on user stays in while away: archived, not shown.
                    log.debug("%s room message %s for %s kept as unroutable: they are not in %s",
                              message.transport, journal_id, message.user, message.peer)
                    self._settle(self._journal.mark_all([journal_id], Status.UNROUTABLE))
                    if backlog is not None:
                        backlog.settled()
                    return
                future = room_future
        except Exception as error:
            log.exception("cannot render the %s message %s from %s to %s", message.transport, journal_id,
                          message.peer, message.user)
            reason = f"it cannot be rendered ({error!r:.300})"
            self._settle(self._journal.fail_inbound(journal_id, reason))
            self._routes[message.transport].sink.undeliverable(message, reason)
            if backlog is not None:
                backlog.settled()
            return
        future.add_done_callback(functools.partial(self._delivered, message, backlog))

    def _delivered(self, message: InboundMessage, backlog: RoomBacklog | None, future: asyncio.Future[None]) -> None:
        """Collect what the server confirmed; one write marks all confirmed in the same turn of the loop."""
        if backlog is not None:
            backlog.settled()
        journal_id = message.journal_id
        assert journal_id is not None
        if future.cancelled():
            return  # still pending in the journal: the next start delivers it
        error = future.exception()
        if isinstance(error, Undeliverable):
            log.warning("inbound %s message %s for %s failed: %s", message.transport, journal_id, message.user, error)
            self._settle(self._journal.fail_inbound(journal_id, str(error)))
            self._routes[message.transport].sink.undeliverable(message, str(error))
            return
        if error is not None:
            return
        if not self._confirmed:
            asyncio.get_running_loop().call_soon(self._mark_confirmed)
        self._confirmed.append(journal_id)

    def _mark_confirmed(self) -> None:
        ids, self._confirmed = self._confirmed, []
        self._settle(self._journal.mark_all(ids, Status.DELIVERED))

    def _settle(self, write: Awaitable[Any]) -> None:
        """Keep a journal write that nobody awaits until it is done (drain waits for it)."""
        self._tasks.spawn(write, name="journal-write")

    # -- start-up -----------------------------------------------------------------------------------------
    async def resume(self, transport: str) -> None:
        """Finish what a previous run accepted: deliver, report and send what is still open."""
        route = self._routes[transport]
        for inbound in await self._journal.pending_inbound(transport):
            self._deliver(inbound, resumed=True)  # fails what it cannot render
        for outcome in await self._journal.unreported_outcomes(transport):
            await self.outcome(outcome)  # fails what it cannot render
        accepted = await self._journal.accepted_outbound(transport)
        if accepted:
            log.info("resuming %d accepted %s message(s)", len(accepted), transport)
        for outbound in accepted:
            try:
                if outbound.room and route.rooms is not None:
                    route.rooms.resume_room(outbound)  # sent once the user is back in the room
                else:
                    await self._send(route, outbound)
            except Exception:
                log.exception("cannot resume %s message %s", transport, outbound.journal_id)

    async def drain(self) -> None:
        """Wait for the journal writes that follow deliveries and reports."""
        for backlog in self._backlogs.values():
            await backlog.wait()
        while self._tasks or self._room_writer is not None or self._confirmed:
            if self._room_writer is not None:
                await asyncio.gather(self._room_writer, return_exceptions=True)
            await asyncio.sleep(0)  # lets a scheduled _mark_confirmed run
            await self._tasks.wait()

    def _after(self, future: asyncio.Future[None], then: Callable[[int], Awaitable[None]], journal_id: int) -> None:
        def done(f: asyncio.Future[None]) -> None:
            if f.cancelled():
                return  # still open in the journal: the next start reports it
            error = f.exception()
            if isinstance(error, Undeliverable):
                log.warning("the report on message %s cannot be shown (%s); it is not tried again", journal_id, error)
            elif error is not None:
                return  # still open in the journal: the next start reports it
            self._settle(then(journal_id))

        future.add_done_callback(done)
