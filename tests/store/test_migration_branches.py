"""The transports' tables sit on Alembic branches of their own (sms, irc); a database migrated while revisions
0001-0009 were one chain is taken over, and a branch can be dropped with its tables."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store import database
from gateway.store.database import (
    SchemaError,
    create_engine,
    declared_heads,
    drop_branch,
    schema_revision,
    upgrade,
)
from gateway.store.models import Base, User
from tests.store.test_migrations import _diff

HEADS = "0008, 0011, 0013"


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def _record(engine: AsyncEngine, *revisions: str) -> None:
    """Rewrite the version table as Alembic would have left it."""
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM alembic_version"))
        for revision in revisions:
            await connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})


async def _recorded(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return sorted((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())


def test_each_package_declares_the_newest_revision_of_its_branch() -> None:
    """declared_heads() lets a start-up on a current schema skip Alembic: it must be what the scripts say."""
    heads = ScriptDirectory.from_config(database.alembic_config()).get_heads()
    assert declared_heads() == tuple(sorted(heads)) == ("0008", "0011", "0013")


def test_the_transports_revisions_are_branches_of_their_own() -> None:
    script = ScriptDirectory.from_config(database.alembic_config())
    assert {label: [r.revision for r in script.iterate_revisions(f"{label}@head", "base")]
            for label in ("sms", "irc")} == {"sms": ["0008", "0006", "0002", "0001"],
                                             "irc": ["0011", "0009", "0004", "0001"]}
    shared = [r.revision for r in script.iterate_revisions("0013", "base")]
    assert shared == ["0013", "0012", "0010", "0007", "0005", "0003", "0001"]


@pytest.mark.parametrize("single", ["0009", "0005", "0002"])
async def test_a_database_of_the_single_chain_is_taken_over_with_its_rows(database_url: str, single: str) -> None:
    """Such a database holds one row: its newest revision, meaning every revision up to it."""
    engine = create_engine(database_url)
    try:
        for revision in ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009"):
            if revision <= single:
                await upgrade(engine, revision)
        await _record(engine, single)
        async with engine.begin() as connection:
            await connection.execute(insert(User).values(jid="a@example.org", is_admin=False, enabled=True))
            await connection.execute(text("INSERT INTO sms_opt_outs (sender, recipient, created_at) VALUES "
                                          "('+15557654321', '+15551234567', CURRENT_TIMESTAMP)"))

        await upgrade(engine)

        assert await _recorded(engine) == HEADS.split(", ")
        assert await _diff(engine, Base.metadata) == []
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM users"))).scalar() == 1
            assert (await connection.execute(text("SELECT count(*) FROM sms_opt_outs"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_the_single_chain_s_last_revision_is_reported_as_current(database_url: str) -> None:
    """Its schema is the branches' heads as they were then (0007, 0008, 0009): read as such, so that only what came
    after (0010, 0012, 0013) is missing."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await _record(engine, "0009")
        assert await schema_revision(engine) == ("0007, 0008, 0009", HEADS)
        assert await _recorded(engine) == ["0009"], "reading the revision changes nothing"
    finally:
        await engine.dispose()


async def test_a_branched_database_at_one_shared_revision_is_not_taken_for_the_single_chain(
        database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0003")  # 0001 and 0003 only: no SMS table
        assert await _recorded(engine) == ["0003"]

        await upgrade(engine)

        assert await _recorded(engine) == HEADS.split(", ")
        assert await _diff(engine, Base.metadata) == []
    finally:
        await engine.dispose()


async def test_a_revision_nothing_installed_provides_is_named(engine: AsyncEngine) -> None:
    await _record(engine, "0007", "0008", "0009", "pager_0001")

    for attempt in (upgrade(engine), schema_revision(engine)):
        with pytest.raises(SchemaError, match="at revision pager_0001, which nothing installed provides: it comes "
                                              "from a newer version of the gateway or from a transport that was "
                                              "uninstalled without `xmpp-gateway db drop-transport KIND`"):
            await attempt


async def test_dropping_a_branch_drops_its_tables_only(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(User).values(jid="a@example.org", is_admin=False, enabled=True))
    sms = {"sms_opt_outs", "sms_blocks", "sms_usage", "sms_parts"}
    assert sms <= await _tables(engine)

    assert await drop_branch(engine, "sms") == ("0008",)

    assert await _tables(engine) & sms == set()
    assert {"users", "journal", "irc_accounts"} <= await _tables(engine)
    assert await _recorded(engine) == ["0011", "0013"]
    assert await drop_branch(engine, "sms") == ()
    await upgrade(engine)  # installed still: the next upgrade makes them again
    assert sms <= await _tables(engine)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM users"))).scalar() == 1


def test_a_start_on_a_current_schema_loads_no_alembic(sqlite_url: str) -> None:
    """Alembic reads every revision script; the check that the schema is current needs none of it."""
    probe = ("import asyncio, sys\n"
             "from gateway.store.store import Store\n"
             "async def main():\n"
             f"    store = await Store.open({sqlite_url!r}, migrate=True)\n"
             "    await store.close()\n"
             "asyncio.run(main())\n"
             "print('alembic' in sys.modules)\n")
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert (first.stdout, again.stdout) == ("True\n", "False\n")
