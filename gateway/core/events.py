"""The messages and outcomes that flow between XMPP components and transports."""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, TypeGuard, get_args

# The stanza error conditions of RFC 6120 8.3.3, the only ones a stanza may carry: a Literal, so that a misspelt
# condition is a type error rather than an error stanza that clients cannot read.
ErrorCondition = Literal[
    "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone", "internal-server-error",
    "item-not-found", "jid-malformed", "not-acceptable", "not-allowed", "not-authorized", "policy-violation",
    "recipient-unavailable", "redirect", "registration-required", "remote-server-not-found",
    "remote-server-timeout", "resource-constraint", "service-unavailable", "subscription-required",
    "undefined-condition", "unexpected-request",
]
# The error types of RFC 6120 8.3.2: what the sender may do about it ("wait": trying again later may work).
ErrorType = Literal["auth", "cancel", "continue", "modify", "wait"]
_CONDITIONS: frozenset[str] = frozenset(get_args(ErrorCondition))


def as_error_condition(value: str | None) -> ErrorCondition:
    """A condition read back as text (from the journal) as one a stanza may carry: an unknown or missing one
    is undefined-condition."""
    return value if _is_condition(value) else "undefined-condition"


def _is_condition(value: str | None) -> TypeGuard[ErrorCondition]:
    return value in _CONDITIONS


class Direction(StrEnum):
    OUT = "out"  # an XMPP user to a foreign network
    IN = "in"  # a foreign network to an XMPP user


class Status(StrEnum):
    ACCEPTED = "accepted"  # out: stored, not yet taken by the provider
    SENDING = "sending"  # out: handed to the provider, answer not yet stored (after a crash: ask the provider)
    SENT = "sent"  # out: the provider took it
    DELIVERED = "delivered"  # out: the provider reports delivery; in: the XMPP server took it
    FAILED = "failed"  # out: the provider refused or gave up
    UNKNOWN = "unknown"  # out: the provider may or may not have it; the user was told
    PENDING = "pending"  # in: stored, not yet taken by the XMPP server
    UNROUTABLE = "unroutable"  # in: no user to deliver to; kept for the operator
    BLOCKED = "blocked"  # in: the user blocked the sender

    @property
    def final(self) -> bool:
        return self not in (Status.ACCEPTED, Status.SENDING, Status.SENT, Status.PENDING)


class _TimeOrderedIds:
    """Ids for stanzas, 16 URL-safe characters: 48 bits of the time in milliseconds, then 48 random bits, written
    in an alphabet in ASCII order, so that ids made later sort later. The journal indexes them (a room's archive
    finds a line by its stanza-id): with random keys every insert lands somewhere in that index, which costs more
    as the journal grows (twice the cost per row at 400,000 rows, and rising), where time-ordered keys go to its
    end. Short on purpose: a room line goes out once per member with its id in every copy, and the XMPP server's
    cost per stanza grows with its length.

    The random bytes come from os.urandom 3 KiB at a time: one system call per 512 ids, where secrets.token_bytes
    makes one per id (every journaled message takes one).
    """

    RANDOM = 6  # bytes: 48 bits, against ids of the same millisecond
    # base64url's alphabet, mapped value for value onto the same 64 characters in ASCII order.
    _SORTED = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                              b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")

    def __init__(self) -> None:
        self._buffer = b""
        self._at = 0

    def __call__(self) -> str:
        if self._at >= len(self._buffer):
            self._buffer, self._at = os.urandom(self.RANDOM * 512), 0
        start, self._at = self._at, self._at + self.RANDOM
        stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
        return base64.urlsafe_b64encode(stamp + self._buffer[start:self._at]).translate(self._SORTED).decode()


new_id = _TimeOrderedIds()


@dataclass(frozen=True)
class OutboundMessage:
    """A message an XMPP user sent to a foreign address."""

    transport: str
    user: str  # bare JID
    resource: str | None  # the sending resource, where errors must go
    peer: str  # foreign address, canonical for its transport
    body: str
    xmpp_id: str | None
    receipt_requested: bool = False
    media: tuple[str, ...] = ()
    journal_id: int | None = None
    accepted_at: datetime | None = None  # when it was journaled
    attempted: bool = False  # an earlier run handed it to the provider and may have died before the answer
    room: bool = False  # a group-chat message: `peer` is the room
    room_nick: str | None = None  # the user's nick in the room when they said it
    stanza_id: str | None = None  # a room message's: its reflection's, and its copy's in the room's archive


@dataclass(frozen=True)
class InboundMessage:
    """A message from a foreign address to an XMPP user."""

    transport: str
    user: str  # bare JID
    peer: str
    body: str
    provider_id: str | None = None  # the provider's id: duplicates are recognised by it
    media: tuple[str, ...] = ()
    sender_name: str | None = None
    timestamp: datetime | None = None
    xmpp_id: str | None = None  # given when journaled; redeliveries reuse it
    journal_id: int | None = None
    # A group-chat message: `peer` is the room and this the sender's nick in it ("" for the room itself).
    room_nick: str | None = None
    room_private: bool = False  # an in-room private message (room/nick)
    archived: bool = True  # a room line kept in the room's archive (off where an admin turned archiving off)


@dataclass(frozen=True)
class Outcome:
    """What became of an outbound message, reported back to its sender."""

    message: OutboundMessage
    status: Status
    provider_id: str | None = None
    error_condition: ErrorCondition | None = None  # for FAILED and UNKNOWN
    error_text: str | None = None
    error_type: ErrorType = "cancel"

    @property
    def needs_report(self) -> bool:
        if self.status in (Status.FAILED, Status.UNKNOWN):
            return True
        return self.status is Status.DELIVERED and self.message.receipt_requested


@dataclass(frozen=True)
class ContactPresence:
    """What a transport knows of a contact right now, for presence probes and new subscriptions."""

    available: bool = True
    show: str | None = None  # away, xa, dnd, chat
    status: str | None = None


class JournalError(Exception):
    """A journal write failed (the database is down, full, locked...); whether it committed is not known."""


class Undeliverable(Exception):
    """A stanza the XMPP server will never take (too large, or refused by the server): it is not written again."""


class Refusal(Exception):
    """An outbound message the gateway will not take; rendered as an XMPP error with this text.

    A plain exception, not a frozen dataclass: raising machinery (contextlib, tracebacks) sets attributes on it.
    """

    def __init__(self, condition: ErrorCondition, text: str) -> None:
        super().__init__(condition, text)
        self.condition = condition
        self.text = text

    def __str__(self) -> str:
        return f"{self.condition}: {self.text}"
