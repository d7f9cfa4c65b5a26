"""What core needs from the world, as interfaces that app.py fills with store, components and transports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.core.events import InboundMessage, OutboundMessage, Outcome, Status


@dataclass(frozen=True)
class UserRecord:
    jid: str
    is_admin: bool
    enabled: bool
    transports: frozenset[str] = frozenset()  # the transports they belong to (added by an admin, or registered)


class UserDirectory(Protocol):
    async def get_user(self, jid: str) -> UserRecord | None: ...

    async def get_users(self, jids: Collection[str]) -> dict[str, UserRecord]:
        """The records of those of `jids` that are users, in one query."""
        ...


class Journal(Protocol):
    """The durable record of every message; each call returns once its write is committed. A write that fails
    raises core.events.JournalError: it may or may not have committed."""

    async def record_outbound(self, message: OutboundMessage) -> OutboundMessage: ...

    async def record_inbound(self, message: InboundMessage, status: Status = Status.PENDING
                             ) -> tuple[InboundMessage, bool]:
        """Store `message`; the bool is False when its provider id was seen before (nothing is stored)."""
        ...

    async def record_inbound_many(self, messages: Sequence[InboundMessage]
                                  ) -> list[tuple[InboundMessage, bool] | BaseException]:
        """`record_inbound` for each (pending), in one go; a failure is returned in its message's place."""
        ...

    # Not coroutines: the write is queued at once and the awaitable resolves when it committed (no task per write).
    def record_outcome(self, outcome: Outcome) -> Awaitable[bool]:
        """False when the message's outcome was already settled otherwise (nothing is stored)."""
        ...

    def mark_reported(self, journal_id: int) -> Awaitable[None]: ...

    def mark_all(self, journal_ids: Sequence[int], status: Status) -> Awaitable[Any]: ...

    async def fail_inbound(self, journal_id: int, reason: str) -> None:
        """An inbound message that can never be delivered: failed with `reason`, not resumed again."""
        ...

    async def pending_inbound(self, transport: str, *, after: int = 0,
                              limit: int | None = None) -> Sequence[InboundMessage]: ...

    async def pending_by_provider(self, transport: str, user: str, provider_id: str) -> InboundMessage | None: ...

    async def accepted_by_id(self, message: OutboundMessage) -> OutboundMessage | None: ...

    async def unreported_outcomes(self, transport: str) -> Sequence[Outcome]: ...

    async def accepted_outbound(self, transport: str) -> Sequence[OutboundMessage]:
        """Outbound messages not yet answered by the provider (accepted or sending), oldest first."""
        ...

    async def open_outbound(self, transport: str, journal_id: int) -> OutboundMessage | None:
        """The outbound message while its outcome is not final, or unknown (a provider's later report may still
        settle it); None once it is settled (or if there is none)."""
        ...


class XmppSink(Protocol):
    """A component: writes to the XMPP server. Each future resolves once the server has the stanza, or fails with
    core.events.Undeliverable when it never will (the stanza is not written again)."""

    def deliver(self, message: InboundMessage) -> asyncio.Future[None]: ...

    def report(self, outcome: Outcome) -> asyncio.Future[None]: ...

    def undeliverable(self, message: InboundMessage, reason: str) -> None:
        """Tell the user that `message` could not be shown to them, and why (nothing fails silently)."""
        ...


class MessageSender(Protocol):
    """A transport, as core sees it: it takes a journaled message and reports the outcome to the router."""

    async def send(self, message: OutboundMessage) -> None: ...
