"""`python -m bench.archive [--rows N] [--queries Q] [--no-postgres]`: a room archive's MAM page of 50 lines over a
journal of N rows (1,000,000 by default), on SQLite and on PostgreSQL when one answers at 127.0.0.1:5432.

Method: the journal is filled by bulk inserts (executemany, 10,000 rows a statement batch) of room lines shaped as
the gateway writes them: half of them one user's lines of one room (the archive the queries read), the rest 49 other
(user, room) pairs interleaved with them in time, a line every 2 s over the last weeks, a tenth the user's own. Then Q
queries call gateway.store.archive directly (no XMPP), in turns of six kinds a client sends: the last page (RSM
<before/>), the page after a random line, the page before one, the page since a random time, the lines of one
nick (half of the nicks asked for spoke only in the other rooms) and those of a nick that said one line in 10,000
(the newest page); each with the RSM count (given up to COUNT_LIMIT rows). Reported: p50/p99 per kind and over all,
and bytes per row: the SQLite file, or PostgreSQL's journal table with its indexes, over the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.events import new_id
from gateway.store.archive import ArchiveQuery, RoomArchive
from gateway.store.database import create_engine, upgrade
from gateway.store.models import JournalEntry

J = cast(Table, JournalEntry.__table__)
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
USER, ROOM, TRANSPORT = "alice@example.org", "#big%libera", "irc"
NICKS = ("bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan")
RARE_NICK, RARE_EVERY = "mallory", 20_000  # a nick that said one line in 10,000 of the user's: a `with` walks far
BATCH = 10_000


def _rows(count: int) -> Any:
    """The journal's rows in batches, oldest first."""
    start = datetime.now(UTC) - timedelta(seconds=2 * count)
    others = [(f"user{n}@example.org", f"#room{n % 7}%libera") for n in range(49)]
    batch: list[dict[str, Any]] = []
    for i in range(count):
        user, room = (USER, ROOM) if i % 2 == 0 else others[i % 49]
        rare = i % RARE_EVERY == 0
        own = i % 10 == 0 and not rare
        at = start + timedelta(seconds=2 * i)
        stanza_id = new_id()
        batch.append(dict(direction="out" if own else "in", transport=TRANSPORT, user_jid=user, resource=None,
                          peer=room, xmpp_id=stanza_id if not own else f"client-{i}", provider_id=None,
                          status="sent" if own else "delivered", receipt_requested=False, reported=True,
                          body=f"line {i}: some words said in the room, of a common length", extra=None,
                          error=None, created_at=at, updated_at=at,
                          room_nick=RARE_NICK if rare else "alice" if own else NICKS[i % len(NICKS)],
                          stanza_id=stanza_id))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def fill(engine: AsyncEngine, count: int) -> float:
    began = time.perf_counter()
    insert = J.insert()
    for batch in _rows(count):
        async with engine.begin() as conn:
            await conn.execute(insert, batch)
    return time.perf_counter() - began


async def measure(engine: AsyncEngine, queries: int) -> dict[str, list[float]]:
    archive = RoomArchive(engine)
    async with engine.connect() as conn:
        ids = list((await conn.execute(select(J.c.stanza_id).where(J.c.user_jid == USER, J.c.peer == ROOM)
                                       .order_by(J.c.id))).scalars())
        first, last = (await conn.execute(select(J.c.created_at).order_by(J.c.id).limit(1))).scalar_one(), \
            (await conn.execute(select(J.c.created_at).order_by(J.c.id.desc()).limit(1))).scalar_one()
    rng = random.Random(17)
    base = ArchiveQuery(transport=TRANSPORT, user=USER, room=ROOM, limit=50)

    def at_random() -> datetime:
        return cast(datetime, first + (last - first) * rng.random())

    kinds: dict[str, Callable[[], ArchiveQuery]] = {
        "last page": lambda: _with(base, backwards=True),
        "after an id": lambda: _with(base, after=(rng.choice(ids),)),
        "before an id": lambda: _with(base, before=(rng.choice(ids),), backwards=True),
        "since a time": lambda: _with(base, start=at_random()),
        "with a nick": lambda: _with(base, nick=rng.choice(NICKS), backwards=True),
        "with a rare nick": lambda: _with(base, nick=RARE_NICK, backwards=True),
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(3):  # warm the caches a client's first queries would also find cold
        await archive.page(kinds["last page"]())
    for n in range(queries):
        kind = list(kinds)[n % len(kinds)]
        query = kinds[kind]()
        began = time.perf_counter()
        page = await archive.page(query)
        times[kind].append((time.perf_counter() - began) * 1000)
        assert len(page.lines) <= 50
    return times


def _with(query: ArchiveQuery, **fields: Any) -> ArchiveQuery:
    return ArchiveQuery(**{**{k: getattr(query, k) for k in query.__dataclass_fields__}, **fields})


@dataclass(frozen=True)
class ArchiveResult:
    database: str  # "SQLite" or "PostgreSQL"
    rows: int
    filled: float  # seconds
    size: int  # bytes: the SQLite file, or PostgreSQL's journal table with its indexes
    times: dict[str, list[float]]  # ms per query, by kind

    def percentile(self, share: float) -> float:
        ordered = sorted(v for values in self.times.values() for v in values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

    def report(self) -> str:
        def cut(values: list[float]) -> str:
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            return f"p50 {statistics.median(ordered):6.2f} ms  p99 {p99:6.2f} ms  (n={len(ordered)})"

        lines = [f"{self.database}: {self.rows:,} rows filled in {self.filled:.0f} s; {self.size / self.rows:.0f} "
                 f"bytes per row ({self.size / 2**20:.0f} MiB)"]
        lines += [f"  MAM page of 50, {kind:<13} {cut(values)}" for kind, values in self.times.items()]
        lines.append(f"  MAM page of 50, all           {cut([v for values in self.times.values() for v in values])}")
        return "\n".join(lines)


async def sqlite(rows: int, queries: int) -> ArchiveResult:
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as folder:
        path = Path(folder) / "archive.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
            filled = await fill(engine, rows)
            times = await measure(engine, queries)
        finally:
            await engine.dispose()
        return ArchiveResult("SQLite", rows, filled, path.stat().st_size, times)


async def postgres(rows: int, queries: int) -> ArchiveResult | str:
    """The result, or why PostgreSQL was not measured."""
    admin = create_engine(f"{POSTGRES}/postgres")
    name = f"bench_archive_{random.randrange(10**8)}"
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as error:
        await admin.dispose()
        return f"PostgreSQL: not measured ({POSTGRES} does not answer: {error.__class__.__name__})"
    try:
        engine = create_engine(f"{POSTGRES}/{name}")
        try:
            await upgrade(engine)
            filled = await fill(engine, rows)
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE journal"))
                size = int((await conn.execute(text("SELECT pg_total_relation_size('journal')"))).scalar_one())
            times = await measure(engine, queries)
        finally:
            await engine.dispose()
        return ArchiveResult("PostgreSQL", rows, filled, size, times)
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        await admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.archive", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    print("method: gateway.store.archive.RoomArchive.page called directly (no XMPP); journal filled by executemany")
    print(asyncio.run(sqlite(args.rows, args.queries)).report())
    if not args.no_postgres:
        result = asyncio.run(postgres(args.rows, args.queries))
        print(result if isinstance(result, str) else result.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
