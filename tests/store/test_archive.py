"""A room's archive from the journal: one user's own lines of one room, keyset pages both ways, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from gateway.core.events import InboundMessage, OutboundMessage, Outcome, Status
from gateway.store.archive import COUNT_LIMIT, ArchiveQuery, UnknownId
from gateway.store.store import Store

ROOM = "#chan%test"


def line(user: str, nick: str, body: str, room: str = ROOM, **fields: object) -> InboundMessage:
    return InboundMessage(transport="irc", user=user, peer=room, body=body, room_nick=nick, **fields)  # type: ignore[arg-type]


async def fill(store: Store, count: int, user: str = "alice@localhost") -> list[str]:
    """`count` lines by bob and carol in turn; their stanza-ids, oldest first."""
    stored = await store.journal.record_inbound_many(
        [line(user, "bob" if i % 2 == 0 else "carol", f"line {i}") for i in range(count)])
    return [message.xmpp_id for message, _ in stored]  # type: ignore[union-attr,misc]


def query(**fields: object) -> ArchiveQuery:
    return ArchiveQuery(**{"transport": "irc", "user": "alice@localhost", "room": ROOM, **fields})  # type: ignore[arg-type]


async def test_pages_forwards_and_backwards_by_id(store: Store) -> None:
    ids = await fill(store, 120)

    first = await store.archive.page(query(limit=50))
    assert [x.stanza_id for x in first.lines] == ids[:50] and not first.complete and first.count == 120
    second = await store.archive.page(query(limit=50, after=(ids[49],)))
    third = await store.archive.page(query(limit=50, after=(second.lines[-1].stanza_id,)))
    assert [x.stanza_id for x in second.lines + third.lines] == ids[50:]
    assert third.complete and len(third.lines) == 20

    last = await store.archive.page(query(limit=50, backwards=True))
    assert [x.stanza_id for x in last.lines] == ids[70:] and not last.complete
    before = await store.archive.page(query(limit=50, backwards=True, before=(ids[70],)))
    oldest = await store.archive.page(query(limit=50, backwards=True, before=(ids[20],)))
    assert [x.stanza_id for x in before.lines] == ids[20:70]
    assert [x.stanza_id for x in oldest.lines] == ids[:20] and oldest.complete
    assert [x.body for x in oldest.lines[:2]] == ["line 0", "line 1"]
    assert [x.nick for x in oldest.lines[:2]] == ["bob", "carol"]


async def test_between_two_ids_and_an_unknown_id(store: Store) -> None:
    ids = await fill(store, 10)
    page = await store.archive.page(query(after=(ids[2],), before=(ids[6],)))
    assert [x.stanza_id for x in page.lines] == ids[3:6] and page.complete
    with pytest.raises(UnknownId):
        await store.archive.page(query(after=("no-such-id",)))


async def test_only_the_user_s_own_rows_of_that_room(store: Store) -> None:
    mine = await fill(store, 5)
    await fill(store, 5, user="dave@localhost")  # the same lines, as dave's connection received them
    await store.journal.record_inbound_many([
        line("alice@localhost", "bob", "elsewhere", room="#other%test"),
        line("alice@localhost", "bob", "a private word", room_private=True),
    ])
    page = await store.archive.page(query())
    assert [x.stanza_id for x in page.lines] == mine
    theirs = await store.archive.page(query(user="dave@localhost"))
    assert len(theirs.lines) == 5 and not set(x.stanza_id for x in theirs.lines) & set(mine)
    with pytest.raises(UnknownId):  # another user's id is not in alice's archive
        await store.archive.page(query(after=(theirs.lines[0].stanza_id,)))


async def test_said_by_a_nick_and_since_a_time(store: Store) -> None:
    ids = await fill(store, 10)
    carol = await store.archive.page(query(nick="carol"))
    assert [x.stanza_id for x in carol.lines] == ids[1::2]
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert (await store.archive.page(query(start=later))).lines == []
    assert len((await store.archive.page(query(end=later))).lines) == 10
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert len((await store.archive.page(query(start=earlier, nick="bob"))).lines) == 5


async def test_the_user_s_own_line_once_said_under_its_stanza_id(store: Store) -> None:
    await fill(store, 1)
    said = await store.journal.record_outbound(OutboundMessage(
        transport="irc", user="alice@localhost", resource="phone", peer=ROOM, body="hi all", xmpp_id="client-1",
        room=True, room_nick="alice", stanza_id="ours-1"))
    assert [x.body for x in (await store.archive.page(query())).lines] == ["line 0"], "not said yet"
    [resumed] = await store.journal.accepted_outbound("irc")  # as a restart reads it to send it
    assert (resumed.xmpp_id, resumed.stanza_id, resumed.room_nick) == ("client-1", "ours-1", "alice")
    assert await store.journal.record_outcome(Outcome(said, Status.SENT))
    page = await store.archive.page(query())
    own = page.lines[-1]
    assert (own.stanza_id, own.nick, own.body, own.own) == ("ours-1", "alice", "hi all", True)
    failed = await store.journal.record_outbound(OutboundMessage(
        transport="irc", user="alice@localhost", resource="phone", peer=ROOM, body="refused", xmpp_id="client-2",
        room=True, room_nick="alice", stanza_id="ours-2"))
    await store.journal.record_outcome(Outcome(failed, Status.FAILED))
    assert "refused" not in [x.body for x in (await store.archive.page(query())).lines]


async def test_dates_at_the_ends_of_the_calendar(store: Store) -> None:
    await fill(store, 3)
    earliest, latest = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    assert len((await store.archive.page(query(start=earliest, end=latest))).lines) == 3
    assert (await store.archive.page(query(start=latest))).lines == []


async def test_the_count_is_given_up_to_count_limit_lines(store: Store) -> None:
    await fill(store, COUNT_LIMIT + 1)
    assert (await store.archive.page(query(limit=5))).count is None
    assert (await store.archive.page(query(limit=5, nick="bob"))).count == (COUNT_LIMIT + 2) // 2


async def test_a_nick_s_lines_are_read_from_the_nick_index(sqlite_url: str) -> None:
    """SQLite has no statistics: without steering, a `with` query for a nick that spoke only in other rooms walks
    all of the user's lines of the room (ix_journal_archive) to find none."""
    store = await Store.open(sqlite_url, migrate=True)
    try:
        await fill(store, 20)
        await store.journal.record_inbound_many([line("alice@localhost", "erin", "elsewhere", room="#other%test")])
        statements: list[tuple[str, Any]] = []
        def note(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
            statements.append((sql, params))

        event.listen(store.engine.sync_engine, "before_cursor_execute", note)
        assert (await store.archive.page(query(nick="erin"))).lines == []
        event.remove(store.engine.sync_engine, "before_cursor_execute", note)
        async with store.engine.connect() as conn:
            plans = [" ".join(str(row) for row in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)))
                     for sql, params in statements if "room_nick = ?" in sql]
        assert len(plans) == 2  # the page and its count
        assert all("USING INDEX ix_journal_archive_nick" in plan for plan in plans), plans
    finally:
        await store.close()


async def test_postgresql_knows_which_nicks_speak_in_which_room(postgres_url: str) -> None:
    """PostgreSQL picks the nick index by its statistics of rooms and nicks together (migration 0012)."""
    store = await Store.open(postgres_url, migrate=True)
    try:
        async with store.engine.connect() as conn:
            columns = (await conn.exec_driver_sql(
                "SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_statistic_ext s JOIN pg_attribute a "
                "ON a.attrelid = s.stxrelid AND a.attnum = ANY(s.stxkeys) WHERE s.stxname = 'st_journal_room_nick'"
            )).scalar_one()
        assert columns == ["peer", "room_nick"]
    finally:
        await store.close()
