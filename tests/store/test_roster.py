"""What rosters show and which changed, on SQLite and PostgreSQL: every contact change leaves a change row, and
an idle poll is one query that reads nothing, however many users and contacts there are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from gateway.core.events import OutboundMessage
from gateway.store.contacts import NewContact
from gateway.store.roster import ShownItem
from gateway.store.store import Store

ALICE, BOB = "alice@example.org", "bob@example.org"


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def test_every_contact_change_leaves_a_change_for_its_transport_and_user(store: Store) -> None:
    await store.users.add(ALICE, transports=["sms", "irc"])
    await store.users.add(BOB, transports=["sms"])
    assert (await store.roster.changes("sms")).users == frozenset()

    await store.contacts.add(ALICE, "sms", "+15550001", "Mom")
    await store.contacts.add_many(BOB, [NewContact("sms", "+15550002", "Dad")])
    await store.contacts.add(ALICE, "irc", "carol%libera", "Carol")
    assert (await store.roster.changes("sms")).users == {ALICE, BOB}
    assert (await store.roster.changes("irc")).users == {ALICE}

    await store.roster.handled((await store.roster.changes("sms")).ids)
    await store.contacts.remove(BOB, "sms", "+15550002")
    assert (await store.roster.changes("sms")).users == {BOB}

    await store.roster.handled((await store.roster.changes("sms")).ids)
    await store.users.leave(ALICE, "sms")
    assert (await store.roster.changes("sms")).users == {ALICE}

    await store.roster.handled((await store.roster.changes("irc")).ids)
    await store.roster.record("irc", ALICE, {"carol%libera": ShownItem("Carol", None)})
    await store.users.remove(ALICE)
    assert (await store.roster.changes("irc")).users == {ALICE}, "a removed user's items must be taken out"


async def test_an_idle_poll_is_one_query_that_reads_nothing_however_many_contacts(store: Store) -> None:
    for n in range(50):
        jid = f"user{n}@example.org"
        await store.users.add(jid, transports=["sms"])
        await store.contacts.add_many(jid, [NewContact("sms", f"+1555{n:03}{k:04}", f"C{k}") for k in range(20)])
    changes = await store.roster.changes("sms")
    assert len(changes.users) == 50
    await store.roster.handled(changes.ids)

    with statements(store) as seen:
        idle = await store.roster.changes("sms")
    assert idle.users == frozenset() and idle.ids == ()
    assert len(seen) == 1 and "roster_changes" in seen[0], seen


async def test_a_change_made_while_a_pass_runs_stays_for_the_next(store: Store) -> None:
    await store.users.add(ALICE, transports=["sms"])
    await store.contacts.add(ALICE, "sms", "+15550001", "Mom")
    first = await store.roster.changes("sms")

    await store.contacts.add(ALICE, "sms", "+15550002", "Dad")  # after the pass read its changes
    await store.roster.handled(first.ids)

    assert (await store.roster.changes("sms")).users == {ALICE}


async def test_what_was_shown_is_recorded_per_transport_and_outlives_the_user(store: Store) -> None:
    await store.users.add(ALICE, transports=["sms", "irc"])
    await store.contacts.add(ALICE, "sms", "+15550001", "Mom", "Family")
    want = await store.roster.wanted("sms", [ALICE, BOB])
    assert want == {ALICE: {"+15550001": ShownItem("Mom", "Family")}}

    await store.roster.record("sms", ALICE, want[ALICE])
    await store.roster.record("irc", ALICE, {"carol%libera": ShownItem("Carol", None)})
    assert await store.roster.shown("sms", [ALICE]) == want
    assert await store.roster.users("sms") == {ALICE}

    await store.users.remove(ALICE)
    assert await store.roster.wanted("sms", [ALICE]) == {}
    assert await store.roster.shown("sms", [ALICE]) == want, "still known, so it can be taken out"
    assert await store.roster.users("sms") == {ALICE}

    await store.roster.record("sms", ALICE, {})
    assert await store.roster.shown("sms", [ALICE]) == {}
    assert await store.roster.shown("irc", [ALICE]) == {ALICE: {"carol%libera": ShownItem("Carol", None)}}


async def test_journal_rows_of_other_transports_stay_when_a_user_leaves_one(store: Store) -> None:
    await store.users.add(ALICE, transports=["sms", "loopback"])
    for transport in ("sms", "loopback"):
        await store.journal.record_outbound(OutboundMessage(transport=transport, user=ALICE, resource=None,
                                                            peer="x", body="hi", xmpp_id=transport))
    assert await store.users.leave(ALICE, "sms") is False
    assert [r.transport for r in await store.journal.history()] == ["loopback"]
