"""The message journal: every message, both directions, with its status; the basis of 'nothing lost'."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, and_, bindparam, delete, func, not_, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import (
    Direction,
    InboundMessage,
    JournalError,
    OutboundMessage,
    Outcome,
    Status,
    as_error_condition,
    new_id,
)
from gateway.store.batch import BatchWriter, Bulk
from gateway.store.database import upsert_insert
from gateway.store.models import PROVIDER_ID_SET, JournalEntry, utcnow
from gateway.store.reader import Reader

J = cast(Table, JournalEntry.__table__)

# The open rows: what a restart must still deliver, send or report. Everything else is settled.
_PENDING_INBOUND = and_(J.c.direction == Direction.IN.value, J.c.status == Status.PENDING.value)
_ACCEPTED_OUTBOUND = and_(J.c.direction == Direction.OUT.value,
                          J.c.status.in_([Status.ACCEPTED.value, Status.SENDING.value]))
_UNREPORTED_OUTCOME = and_(
    J.c.direction == Direction.OUT.value, J.c.reported.is_(False),
    or_(J.c.status.in_([Status.FAILED.value, Status.UNKNOWN.value]),
        and_(J.c.status == Status.DELIVERED.value, J.c.receipt_requested.is_(True))))

OPEN_ROWS = or_(_PENDING_INBOUND, _ACCEPTED_OUTBOUND, _UNREPORTED_OUTCOME)
# A purge deletes this many rows per transaction, pausing between them: the journal's writer, waiting for the
# database's write lock (SQLite) or for rows the delete holds, commits in between instead of after all of them.
PURGE_CHUNK = 5000
PURGE_PAUSE = 0.05


async def delete_in_chunks(engine: AsyncEngine, where: Any, chunk: int = PURGE_CHUNK,
                           pause: float = PURGE_PAUSE) -> int:
    """Delete the journal rows `where` selects, `chunk` at a time, each in a transaction of its own; how many."""
    batch = delete(J).where(J.c.id.in_(select(J.c.id).where(where).order_by(J.c.id).limit(chunk).scalar_subquery()))
    total = 0
    while True:
        async with engine.begin() as conn:
            removed = int((await conn.execute(batch)).rowcount)
        total += removed
        if removed < chunk:
            return total
        await asyncio.sleep(pause)


# The writes run on every message, so their statements are built once and executed with parameters: building a
# statement per call (values(), where()) cost more than the database work itself. Inserts and marks are Bulk
# writes: every caller in one group commit shares one multi-row statement.
_OPEN_STATUSES = [s.value for s in Status if not s.final]
# A status callback (most of a provider's webhooks) reads its row: the statement is built once here too.
_OPEN_OUTBOUND = select(J).where(J.c.id == bindparam("row_id"), J.c.transport == bindparam("transport_name"),
                                 J.c.direction == Direction.OUT.value,
                                 J.c.status.in_([*_OPEN_STATUSES, Status.UNKNOWN.value]))
# Outcomes that set the same values share one UPDATE ... WHERE id IN (...) RETURNING id: the ids returned are
# the rows it changed, which is each caller's answer.
_OUTCOME_ROWS = J.c.id.in_(bindparam("row_ids", expanding=True))
# UNKNOWN is final but not settled: a provider's later report (delivered, failed) still tells the user the truth.
_LEAVES_UNKNOWN = and_(J.c.status == Status.UNKNOWN.value, bindparam("new_status", type_=J.c.status.type).in_(
    [Status.DELIVERED.value, Status.FAILED.value]))
_OUTCOME_TAKEN = or_(J.c.status.in_(_OPEN_STATUSES),
                     and_(J.c.status == bindparam("new_status"), J.c.reported.is_(False)), _LEAVES_UNKNOWN)
_SET_OUTCOME = (update(J).where(_OUTCOME_ROWS, _OUTCOME_TAKEN)
                .values(status=bindparam("new_status"), updated_at=bindparam("now"),
                        reported=bindparam("now_reported"),
                        provider_id=func.coalesce(bindparam("new_provider_id"), J.c.provider_id),
                        error=func.coalesce(bindparam("new_error"), J.c.error)))
_OUTCOMES = _SET_OUTCOME.returning(J.c.id)
# On SQLite each row returned is a step of its own (see _sqlite_inserter): the rows an outcome will not change
# (usually none) are read first, and the UPDATE returns nothing.
_OUTCOME_REFUSED = select(J.c.id).where(_OUTCOME_ROWS, not_(_OUTCOME_TAKEN))
_OUTCOME_EXISTING = select(J.c.id).where(_OUTCOME_ROWS)
_OUTCOME_VALUES = ("new_status", "now_reported", "new_provider_id", "new_error")
# Marks set the same values on many rows: one UPDATE ... WHERE id IN (...) per value, not one per row (an
# executemany still processes every row's parameters and runs the statement once per row).
_ROW_IDS = J.c.id.in_(bindparam("row_ids", expanding=True))
_MARK_STATUS = update(J).where(_ROW_IDS).values(status=bindparam("new_status"), updated_at=bindparam("now"))
_MARK_REPORTED = update(J).where(_ROW_IDS).values(reported=True, updated_at=bindparam("now"))
# Ids per statement: well under the bound parameters SQLite (32766) and asyncpg (32767) take at once.
_IDS_PER_STATEMENT = 10_000
Mark = tuple[int, str | None, datetime]  # row id, new status (None: marked reported), when
_INBOUND_KEY = ("user_jid", "xmpp_id")
_PROVIDER_KEY = ["transport", "direction", "user_jid", "provider_id"]  # uq_journal_provider
_INBOUND_COLUMNS = ("direction", "transport", "user_jid", "peer", "xmpp_id", "provider_id", "status", "body", "extra",
                    "receipt_requested", "reported", "created_at", "updated_at", "room_nick",
                    "stanza_id")  # _inbound_row's keys
_OUTBOUND_KEY = ("user_jid", "peer", "xmpp_id", "body")
_OUTBOUND_COLUMNS = ("direction", "transport", "user_jid", "resource", "peer", "xmpp_id", "status",
                     "receipt_requested", "reported", "body", "extra", "created_at", "updated_at", "room_nick",
                     "stanza_id")  # record_outbound's
# Rows per multi-row INSERT on SQLite: 15 columns each, well under the 32766 bound parameters it takes at once.
_ROWS_PER_INSERT = 1000


@dataclass(frozen=True)
class JournalRow:
    id: int
    direction: Direction
    transport: str
    user_jid: str
    peer: str
    xmpp_id: str | None
    provider_id: str | None
    status: Status
    body: str
    reported: bool
    error: str | None
    created_at: datetime


def _touch(connection: Connection) -> None:
    """A write that changes nothing (the newest row's time, set to itself): it needs what every write needs."""
    newest = select(func.max(J.c.id)).scalar_subquery()
    connection.execute(J.update().where(J.c.id == newest).values(updated_at=J.c.updated_at))


class JournalRepository:
    PROBE_EVERY = 2.0  # seconds

    def __init__(self, engine: AsyncEngine, writer: BatchWriter | None = None, reader: Reader | None = None) -> None:
        self._engine = engine
        self.writer = writer or BatchWriter(engine)
        self._own_reader = reader is None
        self._reader = reader or Reader(engine)
        new_inbound = upsert_insert(engine)(J).on_conflict_do_nothing(index_elements=_PROVIDER_KEY,
                                                                     index_where=PROVIDER_ID_SET)
        if engine.dialect.name == "postgresql":
            insert_inbound = new_inbound.returning(J.c.id, *(J.c[k] for k in _INBOUND_KEY))
            insert_outbound = J.insert().returning(J.c.id, *(J.c[k] for k in _OUTBOUND_KEY))
            self._inbound_rows = Bulk("journal inbound", _inserter(insert_inbound, _INBOUND_KEY))
            self._outbound_rows = Bulk("journal outbound", _inserter(insert_outbound, _OUTBOUND_KEY))
        else:
            self._inbound_rows = Bulk("journal inbound", _sqlite_inserter(
                engine.dialect, new_inbound, _INBOUND_COLUMNS, _INBOUND_KEY))
            self._outbound_rows = Bulk("journal outbound", _sqlite_inserter(
                engine.dialect, J.insert(), _OUTBOUND_COLUMNS, _OUTBOUND_KEY))
        changed = _changed_returning if engine.dialect.name == "postgresql" else _changed_on_sqlite
        self._outcomes = Bulk("record outcomes", functools.partial(_record_outcomes, changed=changed), ahead=True)
        self._probed = 0.0
        self._unanswered: str | None = None
        self._statuses = Bulk("mark status", _marker(_MARK_STATUS), lazy=True, ahead=True)
        self._reported = Bulk("mark reported", _marker(_MARK_REPORTED), lazy=True, ahead=True)

    async def close(self) -> None:
        await self.writer.close()
        if self._own_reader:
            await self._reader.close()

    async def writes_failing(self) -> str | None:
        """Why the journal cannot be written, None when it can. Asked (for /healthz), it tries a write that changes
        nothing, at most every PROBE_EVERY seconds: a failure shows without traffic, and so does the recovery."""
        if time.monotonic() - self._probed >= self.PROBE_EVERY:
            self._probed = time.monotonic()
            try:
                await asyncio.wait_for(self.writer.run(_touch), self.PROBE_EVERY)
                self._unanswered = None
            except JournalError:
                pass  # the writer has the reason
            except TimeoutError:
                self._unanswered = f"the database did not answer a write within {self.PROBE_EVERY:g} s"
        return self.writer.failure or self._unanswered

    # -- writes (batched) ------------------------------------------------------------------------------
    async def record_outbound(self, message: OutboundMessage) -> OutboundMessage:
        now = utcnow()
        values = dict(direction=Direction.OUT.value, transport=message.transport, user_jid=message.user,
                      resource=message.resource, peer=message.peer, xmpp_id=message.xmpp_id,
                      status=Status.ACCEPTED.value, receipt_requested=message.receipt_requested,
                      reported=False, body=message.body, extra=_outbound_extra(message),
                      created_at=now, updated_at=now, room_nick=message.room_nick, stanza_id=message.stanza_id)
        journal_id = await self.writer.run_bulk(self._outbound_rows, values)
        assert journal_id is not None  # a plain insert always inserts
        return replace(message, journal_id=journal_id, accepted_at=now)

    async def record_inbound(self, message: InboundMessage, status: Status = Status.PENDING
                             ) -> tuple[InboundMessage, bool]:
        values = _inbound_row(message, status, utcnow())
        return _stored(message, values, await self.writer.run_bulk(self._inbound_rows, values))

    async def record_inbound_many(self, messages: Sequence[InboundMessage]
                                  ) -> list[tuple[InboundMessage, bool] | BaseException]:
        now = utcnow()  # one time for the batch: the inserter formats it once (see _repeating)
        rows = [_inbound_row(m, Status.PENDING, now) for m in messages]
        try:
            ids = await self.writer.run_bulk_many(self._inbound_rows, rows)
        except Exception as error:
            return [error] * len(rows)
        return [_stored(m, values, journal_id) for m, values, journal_id in zip(messages, rows, ids, strict=True)]

    def record_outcome(self, outcome: Outcome) -> asyncio.Future[bool]:
        """Store an outcome unless the row is settled otherwise; False when it was not stored.

        A final status is never left (a late 'sent' must not undo 'delivered', whichever instance hears it),
        and an outcome already reported is not recorded, so not reported, twice.
        """
        if outcome.message.journal_id is None:
            raise ValueError("this message was never journaled")
        error = (f"{outcome.error_condition or ''}: {outcome.error_text or ''}"
                 if outcome.error_condition or outcome.error_text else None)
        params = dict(row_id=outcome.message.journal_id, new_status=outcome.status.value, now=utcnow(),
                      now_reported=outcome.status.final and not outcome.needs_report,
                      new_provider_id=outcome.provider_id, new_error=error)
        return self.writer.run_bulk(self._outcomes, params)

    def mark_reported(self, journal_id: int) -> asyncio.Future[None]:
        if journal_id is None:
            raise ValueError("this message was never journaled")
        return self.writer.run_bulk(self._reported, (journal_id, None, utcnow()))

    def mark_all(self, journal_ids: Sequence[int], status: Status) -> asyncio.Future[list[None]]:
        """Set the status of inbound rows (delivered, or unroutable when nobody was there to take them)."""
        now = utcnow()
        marks: list[Mark] = [(i, status.value, now) for i in journal_ids]
        return self.writer.run_bulk_many(self._statuses, marks)

    async def fail_inbound(self, journal_id: int, reason: str) -> None:
        """An inbound message the XMPP server will not take (see core.events.Undeliverable): failed, with why, so
        that no start delivers it again."""
        statement = (J.update().where(J.c.id == journal_id, J.c.direction == Direction.IN.value)
                     .values(status=Status.FAILED.value, error=reason, updated_at=utcnow()))
        await self.writer.run(lambda connection: connection.execute(statement))

    # -- reads -----------------------------------------------------------------------------------------
    async def pending_inbound(self, transport: str, *, after: int = 0,
                              limit: int | None = None) -> Sequence[InboundMessage]:
        """In id order; `after` and `limit` read them in slices (the router reads back what it left here)."""
        rows = await self._select(and_(J.c.transport == transport, _PENDING_INBOUND, J.c.id > after), limit=limit)
        return [_inbound(row) for row in rows]

    async def accepted_outbound(self, transport: str) -> Sequence[OutboundMessage]:
        rows = await self._select(and_(J.c.transport == transport, _ACCEPTED_OUTBOUND))
        return [_outbound(row) for row in rows]

    async def open_outbound(self, transport: str, journal_id: int) -> OutboundMessage | None:
        """The outbound message `journal_id` while its outcome is not final yet, or unknown; None once it is."""
        def read(connection: Connection) -> OutboundMessage | None:
            row = connection.execute(_OPEN_OUTBOUND, {"row_id": journal_id, "transport_name": transport}).first()
            return _outbound(row) if row is not None else None

        return await self._reader.run(read)

    async def pending_by_provider(self, transport: str, user: str, provider_id: str) -> InboundMessage | None:
        """The inbound message with that provider id while it waits for delivery (a write whose outcome was
        unknown may have stored it); JournalError if the database cannot tell."""
        rows = await self._recovery_select(and_(
            J.c.transport == transport, J.c.direction == Direction.IN.value, J.c.user_jid == user,
            J.c.provider_id == provider_id, _PENDING_INBOUND))
        return _inbound(rows[0]) if rows else None

    async def accepted_by_id(self, message: OutboundMessage) -> OutboundMessage | None:
        """`message` (same user, client id, address and text) while it is not yet sent (see pending_by_provider)."""
        rows = await self._recovery_select(and_(
            J.c.transport == message.transport, J.c.user_jid == message.user, J.c.xmpp_id == message.xmpp_id,
            J.c.peer == message.peer, J.c.body == message.body, _ACCEPTED_OUTBOUND))
        return _outbound(rows[-1]) if rows else None

    async def _recovery_select(self, where: Any) -> Sequence[Row[Any]]:
        # These reads follow a failed write, often while the database is still failing: a failure here must be
        # the journal's (the caller retries, then tells the sender the outcome is not known), not any exception,
        # which callers take for the transport's own failure and report as "could not send".
        try:
            return await self._select(where)
        except (SQLAlchemyError, OSError) as error:
            raise JournalError(f"{type(error).__name__}: {error}") from error

    async def unreported_outcomes(self, transport: str) -> Sequence[Outcome]:
        rows = await self._select(and_(J.c.transport == transport, _UNREPORTED_OUTCOME))
        return [_outcome(row) for row in rows]

    async def history(self, *, transport: str | None = None, user: str | None = None,
                      direction: Direction | None = None, limit: int = 1000) -> list[JournalRow]:
        conditions = [c for c in (J.c.transport == transport if transport else None,
                                  J.c.user_jid == user if user else None,
                                  J.c.direction == direction.value if direction else None) if c is not None]
        rows = await self._select(and_(*conditions) if conditions else None, limit=limit)
        return [JournalRow(id=r.id, direction=Direction(r.direction), transport=r.transport,
                           user_jid=r.user_jid, peer=r.peer, xmpp_id=r.xmpp_id, provider_id=r.provider_id,
                           status=Status(r.status), body=r.body, reported=r.reported, error=r.error,
                           created_at=r.created_at) for r in rows]

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(J))).scalar_one())

    async def purge(self, older_than: datetime, archive_older_than: datetime | None = None, *,
                    chunk: int = PURGE_CHUNK, pause: float = PURGE_PAUSE) -> int:
        """Delete rows created before `older_than` (room lines kept in an archive: before `archive_older_than`,
        the same when None), except open ones (the three queries above), whatever their age. A row that is merely
        'sent' is settled: many providers never confirm delivery."""
        archived_before = archive_older_than if archive_older_than is not None else older_than
        expired = or_(and_(J.c.stanza_id.is_(None), J.c.created_at < older_than),
                      and_(J.c.stanza_id.is_not(None), J.c.created_at < archived_before))
        return await delete_in_chunks(self._engine, and_(expired, ~OPEN_ROWS), chunk, pause)

    async def _select(self, where: Any, limit: int | None = None) -> Sequence[Row[Any]]:
        statement = select(J).order_by(J.c.id)
        if where is not None:
            statement = statement.where(where)
        if limit is not None:
            statement = statement.limit(limit)
        async with self._engine.connect() as conn:
            return (await conn.execute(statement)).all()


def _inbound_row(message: InboundMessage, status: Status, now: datetime) -> dict[str, Any]:
    """The message's journal row, with an XMPP id (the one its stanza will carry, also after a restart)."""
    extra = {k: v for k, v in (("media", list(message.media)), ("sender_name", message.sender_name),
                               ("timestamp", message.timestamp.isoformat() if message.timestamp else None),
                               ("room_private", message.room_private))
             if v}
    xmpp_id = message.xmpp_id or new_id()
    # A line said in the room is archived under the stanza-id it is shown with: the journal's XMPP id.
    archived = message.room_nick is not None and not message.room_private and message.archived
    return dict(direction=Direction.IN.value, transport=message.transport, user_jid=message.user, peer=message.peer,
                xmpp_id=xmpp_id, provider_id=message.provider_id, status=status.value,
                body=message.body, extra=extra or None, receipt_requested=False, reported=True, created_at=now,
                updated_at=now, room_nick=message.room_nick, stanza_id=xmpp_id if archived else None)


def _stored(message: InboundMessage, row: dict[str, Any], journal_id: int | None) -> tuple[InboundMessage, bool]:
    """The message as journaled, and whether it is new (no id: its provider id was seen before)."""
    # A copy of the frozen dataclass with two fields set: dataclasses.replace re-runs __init__ (one setattr per
    # field), five times the cost, on every message journaled.
    stored = object.__new__(InboundMessage)
    stored.__dict__.update(vars(message), xmpp_id=row["xmpp_id"], journal_id=journal_id)
    return stored, journal_id is not None


_Inserter = Callable[[Connection, list[dict[str, Any]]], list[int | None]]


def _inserter(statement: Any, key: tuple[str, ...]) -> _Inserter:
    """One multi-row INSERT ... RETURNING for a batch; each parameter set gets its row id, or None when nothing
    was inserted for it (a duplicate provider id).

    The rows come back matched on `key`, not on their position: neither database promises RETURNING in VALUES
    order, and asking SQLAlchemy for that order makes it fall back to one statement per row on SQLite.
    """
    def execute(conn: Connection, rows: list[dict[str, Any]]) -> list[int | None]:
        return _matched(conn.execute(statement, rows).all(), rows, key)

    return execute


def _sqlite_inserter(dialect: Dialect, statement: Any, columns: tuple[str, ...], key: tuple[str, ...]) -> _Inserter:
    """The rows of a batch on SQLite (the journal's hottest write: a room line is a row per member) as multi-row
    INSERTs, each one step of SQLite whatever its rows.

    The sqlite3 module lets go of the GIL around every step and must take it back behind any other thread that wants
    it. In the writer's thread (see SqliteWriter) that is the busy event loop, which lets go and takes it again
    around each of its own socket calls: the waiter is woken each time, finds it taken again, and never asks for a
    switch, so it gets its turn when the loop sleeps or by chance. An executemany (a step per row) and rows read back
    (a step per row) pay that per row; this once.

    The statement is compiled once (SQLAlchemy's multi-row path processes every parameter generically, and
    compiles anew for each batch size), each value through the bind processor SQLAlchemy would use, so the stored
    text is the same. Nobody else writes during the transaction and SQLite numbers new rows above every existing
    one, so the rows one INSERT added have consecutive ids ending at its last: when every row went in, those are
    theirs in order. When some did not (a duplicate provider id inserts nothing), the rows above the id before the
    INSERT are read back and matched on `key`, and a row left out gets None.
    """
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    head, found, tail = str(compiled).partition(" VALUES ")
    one_row = "(" + ", ".join("?" * len(columns)) + ")"
    if set(compiled.positiontup or ()) != set(columns) or not found or not tail.startswith(one_row):
        raise RuntimeError(f"unexpected insert: {compiled}")
    after_values = tail[len(one_row):]
    processors = [(name, _repeating(process) if name in _REPEATING and process is not None else process)
                  for name in compiled.positiontup or ()
                  for process in [J.c[name].type.dialect_impl(dialect).bind_processor(dialect)]]
    inserted = select(J.c.id, *(J.c[k] for k in key)).where(J.c.id > bindparam("above"))

    @functools.lru_cache(maxsize=64)
    def sql(count: int) -> str:
        return f"{head} VALUES {', '.join([one_row] * count)}{after_values}"

    def insert(conn: Connection, rows: list[dict[str, Any]]) -> list[int | None]:
        params = tuple([row[name] if process is None else process(row[name])
                        for row in rows for name, process in processors])
        result = conn.exec_driver_sql(sql(len(rows)), params)
        added, last = result.rowcount, result.lastrowid
        if added == len(rows):
            return list(range(last - added + 1, last + 1))
        if not added:
            return [None] * len(rows)
        return _matched(conn.execute(inserted, {"above": last - added}).all(), rows, key)

    def execute(conn: Connection, rows: list[dict[str, Any]]) -> list[int | None]:
        return [journal_id for start in range(0, len(rows), _ROWS_PER_INSERT)
                for journal_id in insert(conn, rows[start:start + _ROWS_PER_INSERT])]

    return execute


# Columns whose value repeats from row to row of a batch: its time in both, and a room line's nick in each copy.
_REPEATING = frozenset({"created_at", "updated_at", "extra"})


def _repeating(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process` that reuses its last result while the value stays equal (a timestamp is formatted, an extra
    serialised, once for a run of rows). Called from one thread at a time: the journal's writer."""
    last: list[Any] = [_UNSET, None]

    def cached(value: Any) -> Any:
        if value != last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return cached


_UNSET = object()


def _matched(returned: Sequence[Row[Any]], rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[int | None]:
    """Each row's id from (id, *key) rows; None for a row that was not inserted. Rows that share a key are the
    same message twice, so which of their ids each gets does not matter."""
    ids: dict[tuple[Any, ...], list[int]] = {}
    for found in returned:
        ids.setdefault(tuple(found[1:]), []).append(int(found[0]))
    for same in ids.values():
        same.sort(reverse=True)  # so that pop() hands the lowest id to the first of equal rows
    return [taken.pop() if (taken := ids.get(tuple(row[k] for k in key))) else None for row in rows]


def _record_outcomes(conn: Connection, outcomes: list[dict[str, Any]],
                     changed: Callable[[Connection, dict[str, Any]], set[int]]) -> list[bool]:
    """Each outcome's row updated unless settled otherwise; True where it was. Outcomes with equal values share one
    statement; two outcomes for one row in one batch (rare: they come from separate events) apply in the order
    their groups first appear."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for params in outcomes:
        groups.setdefault(tuple(params[k] for k in _OUTCOME_VALUES), []).append(params)
    answers: dict[int, bool] = {}
    for group in groups.values():
        ids = [p["row_id"] for p in group]
        rows_changed = changed(conn, {**group[0], "row_ids": ids})
        for params in group:
            answers[id(params)] = params["row_id"] in rows_changed
    return [answers[id(params)] for params in outcomes]


def _changed_returning(conn: Connection, params: dict[str, Any]) -> set[int]:
    """The rows of `params["row_ids"]` that one outcome changed, as its UPDATE returns them."""
    return {row[0] for row in conn.execute(_OUTCOMES, params)}


def _changed_on_sqlite(conn: Connection, params: dict[str, Any]) -> set[int]:
    """The same without a step of SQLite per row."""
    ids = set(params["row_ids"])
    refused = {row[0] for row in conn.execute(_OUTCOME_REFUSED, params)}
    if conn.execute(_SET_OUTCOME, params).rowcount != len(ids - refused):  # some row is gone (purged)
        ids = {row[0] for row in conn.execute(_OUTCOME_EXISTING, params)}
    return ids - refused


def _marker(statement: Any) -> Callable[[Connection, list[Mark]], list[None]]:
    """The marks of a batch as one statement per new status (in the order each status first appears, for the rare
    row marked twice in one batch), all at the batch's latest time."""
    def execute(conn: Connection, marks: list[Mark]) -> list[None]:
        by_status: dict[str | None, list[int]] = {}
        for row_id, status, _ in marks:
            by_status.setdefault(status, []).append(row_id)
        now = max(when for _, _, when in marks)
        for status, ids in by_status.items():
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                conn.execute(statement, {"row_ids": ids[start:start + _IDS_PER_STATEMENT], "new_status": status,
                                         "now": now})
        return [None] * len(marks)

    return execute


def _outbound_extra(message: OutboundMessage) -> dict[str, Any] | None:
    extra: dict[str, Any] = {}
    if message.media:
        extra["media"] = list(message.media)
    if message.room:
        extra["room"] = True
    return extra or None


def _outbound(row: Row[Any]) -> OutboundMessage:
    extra = row.extra or {}
    # A message whose fate the user was told is unknown gets a receipt if it turns out delivered, asked for or not.
    receipt = row.receipt_requested or row.status == Status.UNKNOWN.value
    return OutboundMessage(transport=row.transport, user=row.user_jid, resource=row.resource, peer=row.peer,
                           body=row.body, xmpp_id=row.xmpp_id, receipt_requested=receipt,
                           media=tuple(extra.get("media", ())), journal_id=row.id, accepted_at=row.created_at,
                           attempted=row.status == Status.SENDING.value, room=bool(extra.get("room")),
                           room_nick=row.room_nick, stanza_id=row.stanza_id)


def _inbound(row: Row[Any]) -> InboundMessage:
    extra = row.extra or {}
    stamp = extra.get("timestamp")
    return InboundMessage(transport=row.transport, user=row.user_jid, peer=row.peer, body=row.body,
                          provider_id=row.provider_id, media=tuple(extra.get("media", ())),
                          sender_name=extra.get("sender_name"),
                          timestamp=datetime.fromisoformat(stamp) if stamp else None,
                          xmpp_id=row.xmpp_id, journal_id=row.id,
                          # rows written before revision 0010 keep it in extra
                          room_nick=row.room_nick if row.room_nick is not None else extra.get("room_nick"),
                          room_private=bool(extra.get("room_private")))


def _outcome(row: Row[Any]) -> Outcome:
    condition, _, text = (row.error or "").partition(": ")
    return Outcome(_outbound(row), Status(row.status), provider_id=row.provider_id,
                   error_condition=as_error_condition(condition) if condition else None, error_text=text or None)
