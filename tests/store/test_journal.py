"""The message journal on SQLite and PostgreSQL: records, duplicates, open rows, purge, and group commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, Engine, event, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import Direction, InboundMessage, JournalError, OutboundMessage, Outcome, Status
from gateway.store import journal as journal_module
from gateway.store.batch import BatchWriter
from gateway.store.database import create_engine, upgrade
from gateway.store.journal import JournalRepository
from gateway.store.models import JournalEntry
from tests.store.conftest import Commits


@pytest.fixture
async def journal(engine: AsyncEngine) -> AsyncIterator[JournalRepository]:
    repository = JournalRepository(engine)
    yield repository
    await repository.close()


@pytest.fixture
def commits(journal: JournalRepository) -> Commits:
    return Commits(journal.writer.engine)


def outbound(body: str = "hi", *, transport: str = "sms", user: str = "alice@example.org",
             receipt: bool = False, media: tuple[str, ...] = ()) -> OutboundMessage:
    return OutboundMessage(transport=transport, user=user, resource="phone", peer="+15551234567", body=body,
                           xmpp_id=f"x-{body}", receipt_requested=receipt, media=media)


def inbound(provider_id: str | None, *, transport: str = "sms", user: str = "alice@example.org",
            body: str = "hello") -> InboundMessage:
    return InboundMessage(transport=transport, user=user, peer="+15557654321", body=body, provider_id=provider_id)


async def test_outbound_round_trip(journal: JournalRepository) -> None:
    message = outbound(receipt=True, media=("https://example.org/a.jpg",))

    recorded = await journal.record_outbound(message)

    assert recorded.journal_id is not None
    assert await journal.accepted_outbound("sms") == [recorded]  # media came back out of the JSON column
    [row] = await journal.history()
    assert (row.direction, row.status, row.reported) == (Direction.OUT, Status.ACCEPTED, False)
    assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=1)


async def test_inbound_round_trip(journal: JournalRepository) -> None:
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    message = InboundMessage(transport="sms", user="alice@example.org", peer="+15557654321", body="hello",
                             provider_id="SM1", media=("https://example.org/b.png",), sender_name="Mom",
                             timestamp=stamp)

    stored, new = await journal.record_inbound(message)

    assert new is True
    assert stored.journal_id is not None and stored.xmpp_id  # an id for the stanza, reused on redelivery
    assert await journal.pending_inbound("sms") == [stored]
    [again] = await journal.pending_inbound("sms")
    assert again.timestamp == stamp and again.media == message.media and again.sender_name == "Mom"


async def test_a_message_without_extras_stores_sql_null(journal: JournalRepository, engine: AsyncEngine) -> None:
    await journal.record_inbound(inbound("SM1"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM journal WHERE extra IS NULL"))).scalar() == 1


async def test_a_duplicate_provider_id_is_recognised_and_stores_nothing(journal: JournalRepository) -> None:
    _, new = await journal.record_inbound(inbound("SM1"))
    assert new

    again, new = await journal.record_inbound(inbound("SM1", body="hello again"))

    assert new is False
    assert again.journal_id is None
    assert await journal.count() == 1
    assert [m.body for m in await journal.pending_inbound("sms")] == ["hello"]


async def test_a_provider_id_is_unique_per_transport_and_user(journal: JournalRepository) -> None:
    """A shared SMS line delivers one text to several users: one row each."""
    results = [await journal.record_inbound(m) for m in (
        inbound("SM1", user="alice@example.org"),
        inbound("SM1", user="bob@example.org"),
        inbound("SM1", transport="irc"),
        inbound(None), inbound(None),  # no provider id: nothing to recognise duplicates by
    )]

    assert [new for _, new in results] == [True] * 5
    assert await journal.count() == 5
    assert (await journal.record_inbound(inbound("SM1", user="bob@example.org")))[1] is False


async def test_outcomes_and_open_rows(journal: JournalRepository) -> None:
    sent = await journal.record_outbound(outbound("sent"))
    failed = await journal.record_outbound(outbound("failed"))
    receipt = await journal.record_outbound(outbound("receipt", receipt=True))
    plain = await journal.record_outbound(outbound("plain"))
    waiting = await journal.record_outbound(outbound("waiting"))
    other = await journal.record_outbound(outbound("other", transport="irc"))

    await journal.record_outcome(Outcome(sent, Status.SENT, provider_id="SM-sent"))
    await journal.record_outcome(Outcome(failed, Status.FAILED, error_condition="recipient-unavailable",
                                         error_text="The number does not exist."))
    await journal.record_outcome(Outcome(receipt, Status.DELIVERED, provider_id="SM-r"))
    await journal.record_outcome(Outcome(plain, Status.DELIVERED, provider_id="SM-p"))

    assert await journal.accepted_outbound("sms") == [waiting]
    assert await journal.accepted_outbound("irc") == [other]
    outcomes = await journal.unreported_outcomes("sms")
    assert [(o.message.journal_id, o.status) for o in outcomes] == [
        (failed.journal_id, Status.FAILED), (receipt.journal_id, Status.DELIVERED)]
    assert (outcomes[0].error_condition, outcomes[0].error_text) == ("recipient-unavailable",
                                                                     "The number does not exist.")
    assert outcomes[1].provider_id == "SM-r"
    rows = {r.id: r for r in await journal.history()}
    assert rows[sent.journal_id].provider_id == "SM-sent"  # type: ignore[index]

    assert failed.journal_id is not None and receipt.journal_id is not None
    await journal.mark_reported(failed.journal_id)
    await journal.mark_reported(receipt.journal_id)
    assert await journal.unreported_outcomes("sms") == []


async def test_delivered_inbound_is_no_longer_pending(journal: JournalRepository) -> None:
    one, _ = await journal.record_inbound(inbound("SM1"))
    two, _ = await journal.record_inbound(inbound("SM2"))
    three, _ = await journal.record_inbound(inbound("SM3"))
    await journal.record_inbound(inbound("SM4"), Status.UNROUTABLE)
    await journal.record_inbound(inbound("SM5", transport="irc"))

    assert two.journal_id is not None
    await journal.mark_all([two.journal_id], Status.DELIVERED)  # type: ignore[list-item]

    assert [m.journal_id for m in await journal.pending_inbound("sms")] == [one.journal_id, three.journal_id]


async def test_the_lookups_after_a_failed_write_fail_as_the_journal_does(journal: JournalRepository,
                                                                        engine: AsyncEngine) -> None:
    """They follow a failed write, often while the database still fails. The router tells the sender "not known"
    on a JournalError; any other exception it took for the transport's own failure, and said "could not send" of
    a message that was then delivered."""
    async with engine.begin() as connection:
        await connection.execute(text("ALTER TABLE journal RENAME TO journal_away"))
    with pytest.raises(JournalError):
        await journal.pending_by_provider("sms", "alice@example.org", "SM1")
    with pytest.raises(JournalError):
        await journal.accepted_by_id(outbound())


async def test_updating_a_message_never_journaled_is_an_error(journal: JournalRepository) -> None:
    with pytest.raises(ValueError):
        await journal.mark_reported(None)  # type: ignore[arg-type]


async def _age_all(engine: AsyncEngine, days: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(JournalEntry).values(created_at=datetime.now(UTC) - timedelta(days=days)))


async def test_purge_deletes_only_settled_old_rows(journal: JournalRepository, engine: AsyncEngine) -> None:
    pending, _ = await journal.record_inbound(inbound("SM-pending"))
    delivered, _ = await journal.record_inbound(inbound("SM-delivered"))
    await journal.record_inbound(inbound("SM-unroutable"), Status.UNROUTABLE)
    accepted = await journal.record_outbound(outbound("accepted"))
    failed = await journal.record_outbound(outbound("failed"))
    reported = await journal.record_outbound(outbound("reported"))
    sent = await journal.record_outbound(outbound("sent"))
    assert delivered.journal_id is not None and reported.journal_id is not None
    await journal.mark_all([delivered.journal_id], Status.DELIVERED)  # type: ignore[list-item]
    await journal.record_outcome(Outcome(failed, Status.FAILED, error_condition="internal-server-error"))
    await journal.record_outcome(Outcome(reported, Status.FAILED, error_condition="internal-server-error"))
    await journal.mark_reported(reported.journal_id)
    await journal.record_outcome(Outcome(sent, Status.SENT, provider_id="SM-sent"))
    await _age_all(engine, days=40)
    fresh, _ = await journal.record_inbound(inbound("SM-fresh"), Status.UNROUTABLE)

    removed = await journal.purge(datetime.now(UTC) - timedelta(days=30))

    assert removed == 4  # delivered, unroutable, reported, sent
    assert [r.id for r in await journal.history()] == [
        pending.journal_id, accepted.journal_id, failed.journal_id, fresh.journal_id]
    assert await journal.purge(datetime.now(UTC) - timedelta(days=30)) == 0


async def test_purge_compares_instants_whatever_the_cutoffs_zone(journal: JournalRepository) -> None:
    """SQLite keeps datetimes as text: a cutoff in another zone (or naive UTC) must still mean the same instant."""
    await journal.record_inbound(inbound("SM1"), Status.UNROUTABLE)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

    assert await journal.purge(an_hour_ago.astimezone(timezone(timedelta(hours=5)))) == 0
    assert await journal.purge(an_hour_ago.replace(tzinfo=None)) == 0
    assert await journal.count() == 1
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    assert await journal.purge(in_an_hour.astimezone(timezone(timedelta(hours=-5)))) == 1


# -- group commit ---------------------------------------------------------------------------------------
N = 200


async def test_concurrent_writes_share_transactions(journal: JournalRepository, commits: Commits) -> None:
    before = commits.count
    results = await asyncio.gather(*(journal.record_inbound(inbound(f"SM{i}")) for i in range(N)))
    transactions = commits.count - before

    assert all(new for _, new in results)
    assert await journal.count() == N
    assert len({m.journal_id for m, _ in results}) == N
    print(f"{N} concurrent inbound messages committed in {transactions} transaction(s)")
    assert transactions <= N // 20


async def test_a_mix_of_writes_shares_transactions(journal: JournalRepository, commits: Commits) -> None:
    messages = await asyncio.gather(*(journal.record_outbound(outbound(f"m{i}")) for i in range(N)))
    before = commits.count

    await asyncio.gather(*(journal.record_outcome(Outcome(m, Status.FAILED, error_condition="gone"))
                           for m in messages),
                         *(journal.record_inbound(inbound(f"SM{i}")) for i in range(N)))

    assert commits.count - before <= N // 20
    assert len(await journal.unreported_outcomes("sms")) == N
    assert len(await journal.pending_inbound("sms")) == N


async def test_each_caller_resumes_only_after_its_transaction_committed(engine: AsyncEngine) -> None:
    writer = BatchWriter(engine)
    journal = JournalRepository(engine, writer)
    commits = Commits(writer.engine)

    async def write(i: int) -> None:
        seen: list[int] = []

        def op(connection: Connection) -> None:
            seen.append(commits.count)  # commits before the transaction this op runs in
            connection.execute(text("SELECT 1"))

        await writer.run(op)
        assert commits.count > seen[0], f"caller {i} resumed before its transaction committed"
        stored, _ = await journal.record_inbound(inbound(f"SM{i}"))
        async with engine.connect() as other:  # visible from another connection: committed
            found = await other.execute(text("SELECT count(*) FROM journal WHERE id = :id"),
                                        {"id": stored.journal_id})
            assert found.scalar() == 1

    await asyncio.gather(*(write(i) for i in range(50)))
    await journal.close()


async def test_one_failing_write_does_not_fail_the_others(engine: AsyncEngine) -> None:
    writer = BatchWriter(engine)
    journal = JournalRepository(engine, writer)

    def bad(connection: Connection) -> None:
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    results = await asyncio.gather(*(journal.record_inbound(inbound(f"SM{i}")) for i in range(10)),
                                   writer.run(bad),
                                   *(journal.record_inbound(inbound(f"SM{i}")) for i in range(10, 20)),
                                   return_exceptions=True)

    assert isinstance(results[10], Exception)
    good = results[:10] + results[11:]
    assert all(isinstance(r, tuple) and r[1] for r in good), good
    assert await journal.count() == 20
    await journal.close()


async def test_close_commits_what_is_queued_then_refuses(journal: JournalRepository) -> None:
    tasks = [asyncio.create_task(journal.record_inbound(inbound(f"SM{i}"))) for i in range(50)]
    await asyncio.sleep(0)  # every task has queued its write

    await journal.close()

    assert all(task.done() and task.result()[1] for task in tasks)
    assert await journal.count() == 50
    with pytest.raises(RuntimeError):
        await journal.record_inbound(inbound("SM-late"))


async def test_a_stopped_writer_fails_its_callers_instead_of_hanging(engine: AsyncEngine) -> None:
    writer = BatchWriter(engine)
    blocked = asyncio.Event()
    holder: sqlite3.Connection | None = None
    if engine.dialect.name == "sqlite":  # the write waits for the lock, held as by another process
        holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

    def stuck(connection: Connection) -> None:
        loop.call_soon_threadsafe(blocked.set)  # from the loop, the writer's thread, or PostgreSQL's greenlet
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_sleep(30)"))
        else:
            connection.execute(text("DELETE FROM journal"))

    def quick(connection: Connection) -> int:
        return 1

    loop = asyncio.get_running_loop()
    first = asyncio.create_task(writer.run(stuck))
    await blocked.wait()
    queued = asyncio.create_task(writer.run(quick))
    await asyncio.sleep(0)
    assert writer._task is not None
    writer._task.cancel()

    for task in (first, queued):
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(task, 5)
    if holder is not None:
        holder.execute("ROLLBACK")
        holder.close()
    assert await asyncio.wait_for(writer.run(quick), 5) == 1  # and the next write starts a new drain
    await writer.close()


# -- bulk writes: one statement for every caller of a batch ----------------------------------------------
class Statements:
    """Counts the statements sent to the database."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_args: object) -> None:
        self.count += 1


async def test_a_batch_of_inserts_and_marks_is_one_statement_each(journal: JournalRepository) -> None:
    statements = Statements(journal.writer.engine)
    inbound_results = await asyncio.gather(*(journal.record_inbound(inbound(None, body=f"b{i}")) for i in range(N)))
    after_inserts = statements.count
    await journal.mark_all([m.journal_id for m, _ in inbound_results], Status.DELIVERED)  # type: ignore[misc]

    # A few statements for the batches (and BEGIN where the driver sends one), not one per row.
    assert after_inserts <= 10 and statements.count - after_inserts <= 10, statements.count
    assert len({m.journal_id for m, _ in inbound_results}) == N
    assert not await journal.pending_inbound("sms")
    rows = {r.id: r.body for r in await journal.history(direction=Direction.IN)}
    assert all(rows[m.journal_id] == m.body for m, _ in inbound_results)  # type: ignore[index]


async def test_the_marks_of_one_batch_reach_every_row_whatever_the_statement_size(
        journal: JournalRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "_IDS_PER_STATEMENT", 3)  # 7 ids: statements of 3, 3 and 1
    stored = await journal.record_inbound_many([inbound(None, body=f"b{i}") for i in range(8)])
    ids = [i for result in stored if isinstance(result, tuple) for i in [result[0].journal_id] if i is not None]
    assert len(ids) == 8

    await asyncio.gather(journal.mark_all(ids[:7], Status.DELIVERED), journal.mark_all(ids[7:], Status.UNROUTABLE))

    statuses = {r.id: r.status for r in await journal.history(direction=Direction.IN)}
    assert [statuses[i] for i in ids] == [Status.DELIVERED] * 7 + [Status.UNROUTABLE]


async def test_a_duplicate_within_one_batch_is_recognised(journal: JournalRepository) -> None:
    results = await asyncio.gather(journal.record_inbound(inbound("SM-twice", body="first")),
                                   journal.record_inbound(inbound("SM-other")),
                                   journal.record_inbound(inbound("SM-twice", body="again")))

    assert [new for _, new in results] == [True, True, False]
    assert results[2][0].journal_id is None
    assert [r.body for r in await journal.history(direction=Direction.IN)] == ["first", "hello"]


async def test_equal_outbound_messages_in_one_batch_get_their_own_rows(journal: JournalRepository) -> None:
    messages = await asyncio.gather(*(journal.record_outbound(outbound("same")) for _ in range(5)),
                                    journal.record_outbound(outbound("other")))

    assert len({m.journal_id for m in messages}) == 6
    rows = {r.id: r.body for r in await journal.history(direction=Direction.OUT)}
    assert [rows[m.journal_id] for m in messages] == ["same"] * 5 + ["other"]  # type: ignore[index]
    assert [m.journal_id for m in messages[:5]] == sorted(m.journal_id for m in messages[:5])  # type: ignore[misc]


async def test_a_batch_of_outcomes_is_one_statement_per_kind_and_each_learns_if_it_was_stored(
        journal: JournalRepository) -> None:
    messages = await asyncio.gather(*(journal.record_outbound(outbound(f"o{i}")) for i in range(N)))
    await asyncio.gather(*(journal.record_outcome(Outcome(m, Status.DELIVERED)) for m in messages[:10]))
    statements = Statements(journal.writer.engine)

    stored = await asyncio.gather(*(journal.record_outcome(Outcome(m, Status.SENT)) for m in messages),
                                  *(journal.record_outcome(Outcome(m, Status.FAILED, error_condition="gone"))
                                    for m in messages[-5:]))

    assert statements.count <= 10, statements.count
    # A late 'sent' does not undo 'delivered'; every other outcome was stored.
    assert stored == [False] * 10 + [True] * (N - 10) + [True] * 5
    statuses = {r.id: r.status for r in await journal.history(direction=Direction.OUT)}
    assert [statuses[m.journal_id] for m in messages[:10]] == [Status.DELIVERED] * 10  # type: ignore[index]
    assert [statuses[m.journal_id] for m in messages[-5:]] == [Status.FAILED] * 5  # type: ignore[index]
    assert statuses[messages[10].journal_id] == Status.SENT  # type: ignore[index]


async def test_single_and_many_writes_in_one_batch_each_get_their_own_answers(journal: JournalRepository) -> None:
    many, single, more = await asyncio.gather(
        journal.record_inbound_many([inbound(None, body="a"), inbound("SM-dup", body="b")]),
        journal.record_inbound(inbound(None, body="c")),
        journal.record_inbound_many([inbound("SM-dup", body="d")]))

    assert [m.body for m, _ in many] == ["a", "b"] and all(new for _, new in many)  # type: ignore[union-attr]
    assert single[0].body == "c" and single[1]
    assert more == [(more[0][0], False)]  # type: ignore[index]  # the same provider id as "b": a duplicate
    rows = {r.id: r.body for r in await journal.history(direction=Direction.IN)}
    assert [rows[m.journal_id] for m, _ in [*many, single]] == ["a", "b", "c"]  # type: ignore[index, misc]


async def test_inbound_rows_are_stored_as_sqlalchemy_itself_stores_them(
        journal: JournalRepository, engine: AsyncEngine) -> None:
    # On SQLite the journal's rows bypass SQLAlchemy's per-row processing: the stored text must not differ.
    message = InboundMessage(transport="irc", user="alice@example.org", peer="#chan%net", body="hi <there>",
                             provider_id="net:msg-1", timestamp=datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC),
                             room_nick="bob", media=("https://example.org/a.png",))
    stored, new = await journal.record_inbound(message)
    assert new and stored.journal_id is not None
    await assert_stored_as_sqlalchemy_would(engine, stored.journal_id, provider_id="net:msg-2")
    assert (await journal.pending_inbound("irc"))[0] == stored


async def test_outbound_rows_are_stored_as_sqlalchemy_itself_stores_them(
        journal: JournalRepository, engine: AsyncEngine) -> None:
    message = OutboundMessage(transport="irc", user="alice@example.org", resource="phone", peer="#chan%net",
                              body="hi <there>", xmpp_id="x-1", receipt_requested=True,
                              media=("https://example.org/a.png",), room=True)
    stored = await journal.record_outbound(message)
    assert stored.journal_id is not None
    await assert_stored_as_sqlalchemy_would(engine, stored.journal_id)
    assert (await journal.accepted_outbound("irc"))[0] == stored


async def assert_stored_as_sqlalchemy_would(engine: AsyncEngine, journal_id: int, **change: str) -> None:
    """A copy of the row written through SQLAlchemy's own insert has the same stored values."""
    async with engine.begin() as connection:
        row = dict((await connection.execute(select(JournalEntry.__table__).where(
            JournalEntry.id == journal_id))).mappings().one())
        del row["id"]
        copied = await connection.execute(JournalEntry.__table__.insert().returning(JournalEntry.id),
                                          [{**row, **change}])
        copy_id = copied.scalar_one()
        columns = ", ".join(c.name for c in JournalEntry.__table__.c if c.name not in ("id", *change))
        raw = (await connection.execute(text(f"SELECT {columns} FROM journal WHERE id IN (:a, :b) ORDER BY id"),
                                        {"a": journal_id, "b": copy_id})).all()
    assert raw[0] == raw[1]


@pytest.fixture
async def sqlite_journal(sqlite_url: str) -> AsyncIterator[JournalRepository]:
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    repository = JournalRepository(engine)
    yield repository
    await repository.close()
    await engine.dispose()


async def test_on_sqlite_a_batch_is_one_insert_and_nothing_read_back(sqlite_journal: JournalRepository) -> None:
    journal = sqlite_journal  # PostgreSQL's inserts return their ids (RETURNING)
    sent: list[tuple[str, bool]] = []
    event.listen(journal.writer.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, _p, _ctx, executemany: sent.append((statement.split()[0], executemany)))

    stored = await asyncio.gather(journal.record_inbound_many([inbound(None, body=f"b{i}") for i in range(50)]),
                                  *(journal.record_outbound(outbound(f"o{i}")) for i in range(20)))

    # Each step of SQLite hands the GIL over twice: per row (executemany, rows read back) it made the writer's
    # thread wait for the event loop per row.
    assert sorted(sent) == [("INSERT", False), ("INSERT", False)], sent
    assert len({m.journal_id for m, _ in stored[0]} | {m.journal_id for m in stored[1:]}) == 70  # type: ignore[union-attr]

    sent.clear()
    outcomes = await asyncio.gather(*(journal.record_outcome(Outcome(m, Status.SENT)) for m in stored[1:]))
    assert outcomes == [True] * 20
    assert sorted(sent) == [("SELECT", False), ("UPDATE", False)], sent  # the rows refused (none), then the update


async def test_on_sqlite_a_small_write_commits_on_the_loop_unless_the_writer_was_busy_for_a_while(
        sqlite_journal: JournalRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BatchWriter, "LOAD_AFTER", 0.0)  # any write queued behind a commit is load
    writer = sqlite_journal.writer
    ran_in: list[str] = []
    later: list[asyncio.Task[None]] = []

    def op(connection: Connection) -> None:
        connection.execute(text("SELECT 1"))
        ran_in.append(threading.current_thread().name)

    def op_then_another(connection: Connection) -> None:
        op(connection)
        later.append(asyncio.get_running_loop().create_task(writer.run(op)))  # queued while this one commits

    await writer.run(op_then_another)
    await asyncio.gather(*later)
    await writer.run(op)

    # Load goes to the thread: the loop reads on meanwhile and a backlog grows into one batch (on the loop, it
    # stayed in the socket and batches stayed small). Once the writer fell idle, the loop again.
    loop = threading.current_thread().name
    assert ran_in == [loop, "journal-writer", loop]


async def test_an_outcome_for_a_row_gone_from_the_journal_is_not_stored(
        journal: JournalRepository, engine: AsyncEngine) -> None:
    kept, purged = await asyncio.gather(journal.record_outbound(outbound("kept")), journal.record_outbound(outbound()))
    async with engine.begin() as connection:
        await connection.execute(JournalEntry.__table__.delete().where(JournalEntry.id == purged.journal_id))

    stored = await asyncio.gather(journal.record_outcome(Outcome(kept, Status.SENT)),
                                  journal.record_outcome(Outcome(purged, Status.SENT)))

    assert stored == [True, False]


async def test_rows_beyond_one_insert_and_duplicates_among_them_get_their_own_ids(
        journal: JournalRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "_ROWS_PER_INSERT", 3)  # 8 rows: inserts of 3, 3 and 2
    provider_ids = [None, "SM-1", None, "SM-2", "SM-1", None, "SM-2", None]
    stored = await journal.record_inbound_many([inbound(pid, body=f"b{i}") for i, pid in enumerate(provider_ids)])

    assert [new for _, new in stored] == [True, True, True, True, False, True, False, True]  # type: ignore[misc]
    rows = {r.id: r.body for r in await journal.history(direction=Direction.IN)}
    assert len(rows) == 6
    assert all(rows[m.journal_id] == m.body for m, new in stored if new)  # type: ignore[index, misc]


async def test_each_row_of_a_batch_keeps_its_own_extra_values(journal: JournalRepository) -> None:
    nicks = ["bob", "bob", "carol", "bob", ""]
    await journal.record_inbound_many([
        InboundMessage(transport="irc", user="alice@example.org", peer="#chan%net", body=f"line {i}", room_nick=nick)
        for i, nick in enumerate(nicks)])

    assert [m.room_nick for m in await journal.pending_inbound("irc")] == nicks


async def test_a_delivery_mark_waits_for_a_write_to_share_its_commit(
        journal: JournalRepository, commits: Commits, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = await journal.record_inbound(inbound(None, body="first"))
    assert first.journal_id is not None
    monkeypatch.setattr(BatchWriter, "LAZY_DELAY", 0.5)
    before = commits.count

    marked = journal.mark_all([first.journal_id], Status.DELIVERED)
    await asyncio.sleep(0.05)  # the mark alone has not started a transaction ...
    assert commits.count == before
    second, _ = await journal.record_inbound(inbound(None, body="second"))  # ... this write takes it along
    await marked

    assert commits.count == before + 1
    assert [m.journal_id for m in await journal.pending_inbound("sms")] == [second.journal_id]


async def test_a_delivery_mark_alone_commits_after_the_delay(
        journal: JournalRepository, commits: Commits, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = await journal.record_inbound(inbound(None, body="first"))
    assert first.journal_id is not None
    monkeypatch.setattr(BatchWriter, "LAZY_DELAY", 0.05)

    await asyncio.wait_for(journal.mark_all([first.journal_id], Status.DELIVERED), 5)

    assert not await journal.pending_inbound("sms")


async def test_failing_writes_raise_journal_error_and_are_logged_once_per_kind_with_a_count(
        engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    writer = BatchWriter(engine)
    journal = JournalRepository(engine, writer)

    def bad(connection: Connection) -> None:
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    for _ in range(200):  # one failing write after the other, as while a database is down
        with pytest.raises(JournalError) as raised:
            await writer.run(bad)
    assert "no_such_table" in str(raised.value) and "INSERT" not in str(raised.value)  # no statement, no data
    assert writer.failure is not None
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("journal write failed")]
    assert len(logged) == 1, logged  # 200 before
    writer.LOG_EVERY = 0.0
    with pytest.raises(JournalError):
        await writer.run(bad)
    assert "199 more time(s)" in [r.getMessage() for r in caplog.records][-1]
    assert await journal.writes_failing() is None  # its probe, a write that changes nothing, commits: over
    assert writer.failure is None
    await journal.close()
