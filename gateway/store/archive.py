"""Room archives (XEP-0313 on room JIDs, history on join) read from the journal.

A user reads only their own rows: the lines their IRC connection received in a room and those they said there,
each under the stanza-id it was shown with (`journal.stanza_id`, set on room lines only). Pages are keyset pages
over the journal's id (ix_journal_archive), never OFFSET: a page costs the same at the start and the end of a
million lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import Direction, Status
from gateway.store.journal import OPEN_ROWS, delete_in_chunks
from gateway.store.models import JournalEntry

J = cast(Table, JournalEntry.__table__)

# Lines that were said: received (shown, about to be, or received while nobody was there to see it) or sent and
# taken by the network. A line the XMPP server refused, or one the network may never have had, is left out.
_SAID = J.c.status.in_([Status.PENDING.value, Status.DELIVERED.value, Status.UNROUTABLE.value, Status.SENT.value])
# A row's id order and its time order differ by at most how long a write waits in the writer's queue (a batch, a
# slow commit) or between instances' clocks; a time bound becomes an id bound found with ix_journal_created, this
# much wider, so that a query by time reads the user's rows from there instead of from their first.
_CLOCK_SLACK = timedelta(minutes=10)
# Counting reads every row counted (the status and stanza-id are not in the index): past this many the count is
# not given (RSM allows that), so that it never costs more than a few pages.
COUNT_LIMIT = 1000
_COLUMNS = (J.c.id, J.c.stanza_id, J.c.direction, J.c.room_nick, J.c.body, J.c.extra, J.c.created_at)


class UnknownId(LookupError):
    """An id a query names is no line of this user's archive of that room."""

    def __init__(self, stanza_id: str) -> None:
        super().__init__(stanza_id)
        self.stanza_id = stanza_id


@dataclass(frozen=True, slots=True)
class ArchivedLine:
    stanza_id: str
    nick: str  # who said it ("" for the room itself); the user's nick at the time for their own lines
    body: str
    at: datetime  # when it was said: the network's time where it gave one, else when it was journaled
    own: bool  # said by the user


@dataclass(frozen=True, slots=True)
class ArchivePage:
    lines: list[ArchivedLine]  # oldest first
    complete: bool  # no further line in the direction paged (backwards when `before` was given)
    count: int | None  # lines the query matches in all; None past COUNT_LIMIT


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """What a MAM query (or a join's history request) asks of one user's archive of one room."""

    transport: str
    user: str  # bare JID
    room: str  # the room's foreign address
    start: datetime | None = None
    end: datetime | None = None
    nick: str | None = None  # lines said by this nick only
    after: tuple[str, ...] = ()  # stanza-ids: lines after every one of them (MAM after-id, RSM after)
    before: tuple[str, ...] = ()  # lines before every one of them (MAM before-id, RSM before)
    backwards: bool = False  # the page ends at the newest line that matches (RSM <before/>)
    limit: int = 50
    count: bool = True


class RoomArchive:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def page(self, query: ArchiveQuery) -> ArchivePage:
        """One page of the user's lines in the room; UnknownId when an after/before id is none of them."""
        async with self._engine.connect() as conn:
            transport, user = J.c.transport, J.c.user_jid
            if query.nick is not None and conn.dialect.name == "sqlite":
                # A `with` query walks the nick's lines in the room (ix_journal_archive_nick: every member's, the
                # user's told apart within the index), not all of the user's lines of the room. SQLite has no
                # statistics and would take the index with more equal columns: the owner's columns as expressions
                # no index serves leave it the nick's. (PostgreSQL picks by its statistics: migration 0012.)
                transport, user = J.c.transport + "", J.c.user_jid + ""  # type: ignore[assignment]
            mine = and_(transport == query.transport, user == query.user, J.c.peer == query.room)
            conditions = [mine, J.c.stanza_id.is_not(None), _SAID]
            for ids, bound in ((query.after, J.c.id.__gt__), (query.before, J.c.id.__lt__)):
                for stanza_id in ids:
                    # By the stanza-id alone, then checked: with the owner's columns in the WHERE, SQLite walks the
                    # archive index (three equal columns) through all of the user's lines of the room instead.
                    candidates = (await conn.execute(select(J.c.id, J.c.transport, J.c.user_jid, J.c.peer)
                                                     .where(J.c.stanza_id == stanza_id))).all()
                    found = next((row.id for row in candidates
                                  if (row.transport, row.user_jid, row.peer) == (query.transport, query.user,
                                                                                 query.room)), None)
                    if found is None:
                        raise UnknownId(stanza_id)
                    conditions.append(bound(found))
            if query.start is not None:
                conditions += [J.c.created_at >= query.start,
                               J.c.id >= _first_id_since(_shifted(query.start, -_CLOCK_SLACK))]
            if query.end is not None:
                conditions += [J.c.created_at <= query.end,
                               J.c.id < func.coalesce(_first_id_since(_shifted(query.end, _CLOCK_SLACK)), 2 ** 62)]
            if query.nick is not None:
                conditions.append(J.c.room_nick == query.nick)
            where = and_(*conditions)
            order = J.c.id.desc() if query.backwards else J.c.id
            rows = (await conn.execute(select(*_COLUMNS).where(where).order_by(order).limit(query.limit + 1))).all()
            count = None
            if query.count:
                counted = select(J.c.id).where(where).limit(COUNT_LIMIT + 1).subquery()
                total = int(await conn.scalar(select(func.count()).select_from(counted)) or 0)
                count = total if total <= COUNT_LIMIT else None
        complete = len(rows) <= query.limit
        rows = list(rows[:query.limit])
        if query.backwards:
            rows.reverse()
        return ArchivePage([_line(row) for row in rows], complete, count)


    async def forget(self, transport: str, user: str, room: str | None = None, *, dry_run: bool = False) -> int:
        """Delete the user's archived lines of `room` (of every room when None) that are settled; an open one (not
        yet shown or sent) stays until it is. How many lines (would) go."""
        where = and_(J.c.transport == transport, J.c.user_jid == user, J.c.stanza_id.is_not(None), ~OPEN_ROWS,
                     *((J.c.peer == room,) if room is not None else ()))
        if dry_run:
            async with self._engine.connect() as conn:
                return int(await conn.scalar(select(func.count()).select_from(J).where(where)) or 0)
        return await delete_in_chunks(self._engine, where)


def _shifted(when: datetime, by: timedelta) -> datetime:
    """`when` moved `by`, held within the dates Python has (a client may ask for year 1 or 9999)."""
    try:
        return when + by
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if by < timedelta(0) else datetime.max.replace(tzinfo=UTC)


def _first_id_since(when: datetime) -> Any:
    """The first row written at `when` or later (NULL when none): one step down ix_journal_created."""
    return (select(J.c.id).where(J.c.created_at >= when).order_by(J.c.created_at).limit(1)
            .scalar_subquery())


def _line(row: Any) -> ArchivedLine:
    stamp = (row.extra or {}).get("timestamp")
    return ArchivedLine(stanza_id=row.stanza_id, nick=row.room_nick or "", body=row.body,
                        at=datetime.fromisoformat(stamp) if stamp else row.created_at,
                        own=row.direction == Direction.OUT.value)
