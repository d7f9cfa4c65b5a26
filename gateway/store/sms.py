"""The SMS transport's own state: opt-outs, per-user block lists, daily usage and the parts of long texts.

Opt-outs are kept per sending number, which belongs to one Twilio account; block lists and daily usage are kept
per SMS transport instance, named as in the config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, Integer, String, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from gateway.store.batch import BatchWriter, Bulk
from gateway.store.database import upsert_insert
from gateway.store.models import (
    Binding,
    Contact,
    JournalEntry,
    SmsBlock,
    SmsOptOut,
    SmsPart,
    SmsUsage,
    User,
    utcnow,
)
from gateway.store.reader import Reader
from gateway.store.users import UserNotFound


@dataclass(frozen=True)
class Recipient:
    """A user a text to one of their numbers goes to, with what their settings say about its sender."""

    jid: str
    blocks_sender: bool
    sender_name: str | None  # the user's contact name for the sender


@dataclass(frozen=True)
class SendingNumber:
    """One of a user's numbers, as a text to `peer` sees it, with the user's contact for `peer` (the same on each
    of their numbers' rows)."""

    address: str
    is_default: bool
    peer_opted_out: bool  # `peer` texted STOP to this number
    contact_name: str | None
    contact_via: str | None


# What a text needs, built once with bound parameters: building a statement and its cache key costs more than
# running it on SQLite.
_BLOCKS = exists().where(SmsBlock.user_id == User.id, SmsBlock.transport == bindparam("transport"),
                         SmsBlock.number == bindparam("peer"))
_CONTACT = and_(Contact.user_id == User.id, Contact.transport == bindparam("transport"),
                Contact.address == bindparam("peer"))
_RECIPIENTS = (select(User.jid, _BLOCKS, Contact.name).join(Binding, User.id == Binding.user_id)
               .outerjoin(Contact, _CONTACT)
               .where(Binding.transport == bindparam("transport"), Binding.address == bindparam("number"),
                      User.enabled.is_(True))
               .order_by(User.jid))
_OPTED_OUT = exists().where(SmsOptOut.sender == Binding.address, SmsOptOut.recipient == bindparam("peer"))
_SENDING_NUMBERS = (select(Binding.address, Binding.is_default, _OPTED_OUT, Contact.name, Contact.via)
                    .join(User, User.id == Binding.user_id).outerjoin(Contact, _CONTACT)
                    .where(User.jid == bindparam("jid"), Binding.transport == bindparam("transport"))
                    .order_by(Binding.address))


_USER_ID = select(User.id).where(User.jid == bindparam("jid"))
Reservation = tuple[str, str, date, int, int]  # transport, user, day, segments, limit


class SmsRepository:
    def __init__(self, sessions: async_sessionmaker[Any], engine: AsyncEngine, writer: BatchWriter,
                 reader: Reader) -> None:
        self._sessions = sessions
        self._reader = reader
        self._writer = writer
        self._insert = upsert_insert(engine)
        self._reservations = Bulk("reserve SMS segments", self._reserve)

    # -- what a text needs, in one query each way (a round trip each is most of a text's cost) -------------------
    async def recipients(self, transport: str, number: str, sender: str) -> list[Recipient]:
        """The enabled users `number` is bound to on `transport` (several for a shared line), in JID order."""
        def read(connection: Connection) -> list[Recipient]:
            rows = connection.execute(_RECIPIENTS, {"transport": transport, "number": number, "peer": sender})
            return [Recipient(jid, bool(blocked), name) for jid, blocked, name in rows]

        return await self._reader.run(read)

    async def sending_numbers(self, transport: str, jid: str, peer: str) -> list[SendingNumber]:
        """User `jid`'s numbers on `transport` in address order; none when no number is bound to them."""
        def read(connection: Connection) -> list[SendingNumber]:
            rows = connection.execute(_SENDING_NUMBERS, {"transport": transport, "jid": jid, "peer": peer})
            return [SendingNumber(address, is_default, bool(out), name, via)
                    for address, is_default, out, name, via in rows]

        return await self._reader.run(read)

    # -- opt-outs (per sending number and recipient) --------------------------------------------------------
    async def opt_out(self, sender: str, recipient: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(self._insert(SmsOptOut).values(sender=sender, recipient=recipient)
                                  .on_conflict_do_nothing(index_elements=["sender", "recipient"]))

    async def opt_in(self, sender: str, recipient: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(SmsOptOut).where(SmsOptOut.sender == sender,
                                                                   SmsOptOut.recipient == recipient))
            return bool(result.rowcount)

    # -- block lists (per user and SMS transport instance) -----------------------------------------------------
    async def block(self, transport: str, jid: str, number: str) -> None:
        async with self._sessions.begin() as session:
            user_id = await self._user_id(session, jid)
            await session.execute(self._insert(SmsBlock).values(user_id=user_id, transport=transport, number=number)
                                  .on_conflict_do_nothing(index_elements=["user_id", "transport", "number"]))

    async def unblock(self, transport: str, jid: str, number: str) -> bool:
        async with self._sessions.begin() as session:
            user_id = await self._user_id(session, jid)
            result = await session.execute(delete(SmsBlock).where(
                SmsBlock.user_id == user_id, SmsBlock.transport == transport, SmsBlock.number == number))
            return bool(result.rowcount)

    # -- daily usage (per user and SMS transport instance: each has its own limit) ------------------------------
    async def reserve_segments(self, transport: str, jid: str, day: date, segments: int, limit: int) -> bool:
        """Count `segments` against the user's day, unless that would pass `limit` (then count nothing).

        One conditional upsert, in the journal writer's next transaction: a second connection writing beside the
        writer would wait for SQLite's lock in the driver's busy loop (sleeps of up to 100 ms) at every text."""
        outcome = await self._writer.run_bulk(self._reservations, (transport, jid, day, segments, limit))
        if outcome is None:
            raise UserNotFound(jid)
        return outcome

    def _reserve(self, connection: Connection, reservations: list[Reservation]) -> list[bool | None]:
        """For each: reserved, refused by the limit, or None when there is no such user. Concurrent senders cannot
        both slip under the limit: the update is conditional."""
        insert = self._insert(SmsUsage)
        segments, limit = bindparam("segments", type_=Integer()), bindparam("limit", type_=Integer())
        statement = insert.from_select(
            ["user_id", "transport", "day", "segments"],
            select(User.id, bindparam("transport", type_=String()), bindparam("day", type_=Date()), segments)
            .where(User.jid == bindparam("jid"), segments <= limit),
        ).on_conflict_do_update(
            index_elements=["user_id", "transport", "day"],
            set_={"segments": SmsUsage.segments + insert.excluded.segments},
            where=SmsUsage.segments + insert.excluded.segments <= limit,
        ).returning(SmsUsage.segments)
        outcomes: list[bool | None] = []
        for transport, jid, day, count, most in reservations:
            params = {"transport": transport, "jid": jid, "day": day, "segments": count, "limit": most}
            if connection.execute(statement, params).first() is not None:
                outcomes.append(True)
            else:
                outcomes.append(None if connection.scalar(_USER_ID, {"jid": jid}) is None else False)
        return outcomes

    async def release_segments(self, transport: str, jid: str, day: date, segments: int) -> None:
        """Give back segments of a message that was not sent after all."""
        async with self._sessions.begin() as session:
            user_id = await self._user_id(session, jid)
            await session.execute(update(SmsUsage).where(SmsUsage.user_id == user_id, SmsUsage.transport == transport,
                                                         SmsUsage.day == day)
                                  .values(segments=SmsUsage.segments - segments))

    async def used_segments(self, transport: str, jid: str, day: date) -> int:
        async with self._sessions() as session:
            statement = (select(SmsUsage.segments).join(User, User.id == SmsUsage.user_id)
                         .where(User.jid == jid, SmsUsage.transport == transport, SmsUsage.day == day))
            return int(await session.scalar(statement) or 0)

    # -- parts of a text sent in several ---------------------------------------------------------------------
    async def record_part(self, journal_id: int, part: int, status: str, error_code: int | None) -> int:
        """Store what Twilio reported of one part; return how many parts of the text are delivered now.

        Counted after the commit: of two callbacks committing at once, the later one sees both parts."""
        values = dict(journal_id=journal_id, part=part, status=status, error_code=error_code, updated_at=utcnow())
        async with self._sessions.begin() as session:
            await session.execute(self._insert(SmsPart).values(**values).on_conflict_do_update(
                index_elements=["journal_id", "part"],
                set_=dict(status=status, error_code=error_code, updated_at=values["updated_at"])))
        async with self._sessions() as session:
            delivered = await session.scalar(select(func.count()).select_from(SmsPart).where(
                SmsPart.journal_id == journal_id, SmsPart.status == "delivered"))
            return int(delivered or 0)

    # -- message SIDs ---------------------------------------------------------------------------------------
    async def known_sids(self, transport: str, sids: Sequence[str], other_than: int | None = None) -> set[str]:
        """Which of these provider message SIDs the journal already holds for outbound texts of `transport`, on
        rows other than `other_than`."""
        if not sids:
            return set()
        statement = select(JournalEntry.provider_id).where(
            JournalEntry.transport == transport, JournalEntry.direction == "out",
            JournalEntry.provider_id.in_(list(sids)))
        if other_than is not None:
            statement = statement.where(JournalEntry.id != other_than)
        async with self._sessions() as session:
            return {str(sid) for sid in (await session.scalars(statement)).all()}

    async def has_texted(self, transport: str, jid: str, number: str) -> bool:
        """Whether the journal holds a text from `number` to user `jid` (within the journal's retention)."""
        statement = select(JournalEntry.id).where(
            JournalEntry.user_jid == jid, JournalEntry.transport == transport, JournalEntry.direction == "in",
            JournalEntry.peer == number).limit(1)
        async with self._sessions() as session:
            return await session.scalar(statement) is not None

    @staticmethod
    async def _user_id(session: Any, jid: str) -> int:
        user_id = await session.scalar(select(User.id).where(User.jid == jid))
        if user_id is None:
            raise UserNotFound(jid)
        return int(user_id)
