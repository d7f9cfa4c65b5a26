"""The Alembic revisions build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from gateway.migrations.versions import HEAD as SHARED_HEAD
from sqlalchemy import Column, Connection, MetaData, String, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store import database
from gateway.store.database import create_engine, downgrade, schema_revision, upgrade
from gateway.store.models import Base, Binding, Contact, User

# The newest revision of each branch, read from the scripts themselves so that adding one needs no change here.
HEAD = ", ".join(sorted(ScriptDirectory.from_config(database.alembic_config()).get_heads()))


async def _diff(engine: AsyncEngine, metadata: MetaData) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        assert await _diff(engine, Base.metadata) == []
    finally:
        await engine.dispose()


async def test_comparison_sees_a_column_without_a_revision(engine: AsyncEngine) -> None:
    """The test above is not vacuous: a model column that no revision creates is a difference."""
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["users"].append_column(Column("nickname", String(64), nullable=True))

    diff = await _diff(engine, changed)

    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "users", "nickname")]


async def test_downgrade_to_base_leaves_no_tables(engine: AsyncEngine) -> None:
    assert {"users", "bindings", "contacts", "journal"} <= await _tables(engine)

    await downgrade(engine)

    assert await _tables(engine) - {"alembic_version"} == set()
    assert (await schema_revision(engine))[0] is None


async def test_upgrade_twice_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(User).values(jid="a@example.org", is_admin=False, enabled=True))

    await upgrade(engine)

    assert await _diff(engine, Base.metadata) == []
    async with engine.connect() as connection:
        assert (await connection.execute(select(User.jid))).scalars().all() == ["a@example.org"]


async def test_schema_revision_reports_current_and_head(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        current, head = await schema_revision(engine)
        assert current is None
        assert head == HEAD

        await upgrade(engine)

        assert await schema_revision(engine) == (HEAD, HEAD)
    finally:
        await engine.dispose()


async def test_sqlite_file_is_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA synchronous")).scalar() == 1  # NORMAL
    finally:
        await engine.dispose()


REBUILD_USERS = '''
"""rebuild users (SQLite batch mode copies the table and drops the old one)"""
import sqlalchemy as sa
from alembic import op

revision = "rebuild_users"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("is_admin", existing_type=sa.Boolean(), server_default=sa.false())


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("is_admin", existing_type=sa.Boolean(), server_default=None)
'''


async def test_a_migration_that_rebuilds_users_keeps_their_bindings_and_contacts(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With SQLite's foreign keys on, batch mode's DROP TABLE users would cascade to bindings and contacts."""
    scripts = tmp_path / "migrations"
    shutil.copytree(database.migrations_dir(), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "rebuild_users.py").write_text(REBUILD_USERS.replace("{head}", SHARED_HEAD))
    monkeypatch.setattr(database, "migrations_dir", lambda: str(scripts))
    monkeypatch.setattr(database, "declared_heads", lambda: None)  # the copy's new head is declared nowhere
    engine = create_engine(database_url)
    try:
        await upgrade(engine, SHARED_HEAD)
        async with engine.begin() as connection:
            user_id = (await connection.execute(insert(User).values(
                jid="a@example.org", is_admin=False, enabled=True).returning(User.id))).scalar_one()
            await connection.execute(insert(Binding).values(
                user_id=user_id, transport="sms", address="+15551234567", is_default=True))
            await connection.execute(insert(Contact).values(
                user_id=user_id, transport="sms", address="+15557654321", name="Mom"))

        await upgrade(engine)

        assert (await schema_revision(engine))[0] == "0008, 0011, rebuild_users"
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM bindings"))).scalar() == 1
            assert (await connection.execute(text("SELECT count(*) FROM contacts"))).scalar() == 1
            if connection.dialect.name == "sqlite":
                # Switched back on after the migration.
                assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


async def test_0005_keeps_existing_users_on_every_transport_and_records_their_contacts_as_shown(
        database_url: str) -> None:
    """Before 0005 a user could use every transport, and the mappings they had were in their rosters."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as connection:
            user_id = (await connection.execute(insert(User).values(
                jid="a@example.org", is_admin=False, enabled=True).returning(User.id))).scalar_one()
            await connection.execute(insert(Contact).values(
                user_id=user_id, transport="sms", address="+15557654321", name="Mom", roster_group="Family"))

        await upgrade(engine, "0005")

        async with engine.connect() as connection:
            memberships = (await connection.execute(text(
                "SELECT transport FROM user_transports ORDER BY transport"))).scalars().all()
            shown = (await connection.execute(text(
                "SELECT transport, user_jid, address, name, roster_group FROM roster_items"))).all()
        assert memberships == ["irc", "loopback", "sms"]
        assert [tuple(row) for row in shown] == [("sms", "a@example.org", "+15557654321", "Mom", "Family")]
        await downgrade(engine, "0003")
        assert {"user_transports", "roster_items", "roster_changes"} & await _tables(engine) == set()
    finally:
        await engine.dispose()
