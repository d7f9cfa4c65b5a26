"""Engine creation (SQLite tuned for a service, or PostgreSQL) and schema migration through Alembic (imported
only when the schema has to be read or moved: a gateway starting on a current schema needs none of it)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, event, inspect
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from gateway.transports.discovery import descriptors

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

T = TypeVar("T")


def package_dir(package: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {package} is missing: reinstall it")
    return str(spec.submodule_search_locations[0])


def migrations_dir() -> str:
    # Shipped as the package gateway.migrations (mapped from the top-level migrations/ folder).
    return package_dir("gateway.migrations")


def version_locations() -> list[str]:
    """Where revisions are: the shared ones, then each installed transport's own (its own branch, so that its
    tables come with it)."""
    own = [package_dir(d.migrations) for d in descriptors().values() if d.migrations is not None]
    return [os.path.join(migrations_dir(), "versions"), *own]


# PostgreSQL's pool. Past its size SQLAlchemy opens a connection for each extra checkout and closes it on return:
# under load (every message's reads, see reader.py) that was a login for most reads. A read waits for a free
# connection instead. SQLite keeps SQLAlchemy's pool: those reads run in the reader's thread, and each pooled
# connection of a file database holds a thread (aiosqlite) and a page cache of its own.
POOL_SIZE = 20


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=0)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def upsert_insert(engine: AsyncEngine) -> Callable[..., Any]:
    """The engine's own dialect's INSERT, which takes ON CONFLICT. Imported here, for the one dialect in use: the
    other's module would be loaded at every start for nothing."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read and write while the gateway runs; NORMAL keeps every commit across a crash
    # of the process (not of the machine) at a fraction of FULL's fsyncs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def sqlite_file_engine(engine: AsyncEngine) -> Engine | None:
    """For a SQLite file: a synchronous engine on the same file, for the journal's writer and the hot reads.
    Through aiosqlite every statement, BEGIN and COMMIT is a hand-over to its thread and back (each waiting for the
    GIL). None for other databases (their drivers are asynchronous) and for an in-memory database (a second engine
    would not see it).
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    # The writer's, and one for checkpoints (gateway.store.sqlite_writer).
    sync = create_sync_engine(url.set(drivername="sqlite"), connect_args={"timeout": 30}, pool_size=2,
                              max_overflow=0)
    event.listen(sync, "connect", _tune_sqlite)
    event.listen(sync, "connect", _no_automatic_checkpoint)
    return sync


def _no_automatic_checkpoint(dbapi_connection: Any, _record: Any) -> None:
    # A thread of the writer's checkpoints instead (SqliteWriter), off the commit's path.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", migrations_dir())
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(version_locations()).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


class SchemaError(RuntimeError):
    """The database's schema cannot be read or moved by this installation (the message says what to do)."""


def _revision_packages() -> list[ModuleType]:
    """The shared revisions' package, then each installed transport's own."""
    names = ["gateway.migrations.versions", *(d.migrations for d in descriptors().values() if d.migrations)]
    return [importlib.import_module(name) for name in names]


def _single_chain() -> list[tuple[tuple[str, ...], str]]:
    """Until the transports' tables had branches of their own, revisions 0001-0009 were one chain: a database
    migrated then holds one row, its newest revision, meaning every revision up to it. A package whose revisions
    were on that chain says which (`SINGLE_CHAIN`: the revisions, and a table the first of them creates)."""
    return [package.SINGLE_CHAIN for package in _revision_packages() if hasattr(package, "SINGLE_CHAIN")]


def _split_single_chain(connection: Connection, heads: tuple[str, ...]) -> tuple[str, ...]:
    """The heads of the branches for what a database migrated on the single chain holds; `heads` when it holds
    something else. A branched database holds one row of 0002-0009 only when it was moved to that revision alone,
    and then it lacks a table the single chain would have created before it."""
    branches = _single_chain()
    first = min(chain[0] for chain, _ in branches) if branches else None
    if len(heads) != 1 or heads[0] == first or not any(heads[0] in chain for chain, _ in branches):
        return heads
    reached = [(max(r for r in chain if r <= heads[0]), table) for chain, table in branches if chain[0] <= heads[0]]
    tables = set(inspect(connection).get_table_names())
    if not all(table in tables for _, table in reached):
        return heads
    # The first revision is every branch's dependency: Alembic records it under theirs, not beside them.
    return tuple(sorted(r for r, _ in reached if r != first or len(reached) == 1))


def _recorded(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(connection).get_current_heads())


def _current(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is at (several heads when transports have branches of their own), checked
    against the revisions installed: one that none provides is a SchemaError that says where it may come from."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    heads = _split_single_chain(connection, _recorded(connection))
    script = ScriptDirectory.from_config(alembic_config())
    unknown = []
    for revision in heads:
        try:
            script.get_revision(revision)
        except CommandError:
            unknown.append(revision)
    if unknown:
        raise SchemaError(
            f"the database is at revision {', '.join(unknown)}, which nothing installed provides: it comes from a "
            "newer version of the gateway or from a transport that was uninstalled without `xmpp-gateway db "
            "drop-transport KIND`. Install that version or transport again")
    return heads


def declared_heads() -> tuple[str, ...] | None:
    """The newest revision of each installed branch as its package declares it (`HEAD`, checked against the
    scripts by tests/store/test_migration_branches.py): comparing them with the database's needs no Alembic, whose
    loading of every revision script is most of a start-up's migration cost. None when a package declares none."""
    heads = [getattr(package, "HEAD", None) for package in _revision_packages()]
    return tuple(sorted(h for h in heads if isinstance(h, str))) if all(isinstance(h, str) for h in heads) else None


async def _stored_heads(engine: AsyncEngine) -> tuple[str, ...] | None:
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return None
        rows = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        return tuple(sorted(row[0] for row in rows))


async def _declared_current(engine: AsyncEngine) -> tuple[str, ...] | None:
    """The installed heads when the database records exactly them (found without Alembic); None otherwise."""
    declared = declared_heads()
    return declared if declared is not None and await _stored_heads(engine) == declared else None


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    if revision == "heads" and await _declared_current(engine) is not None:
        return

    def go(sync: Connection) -> None:
        from alembic import command

        heads = _current(sync)
        if set(heads) != set(_recorded(sync)):  # a database of the single chain: recorded as its branches
            command.stamp(alembic_config(sync), list(heads), purge=True)
        command.upgrade(alembic_config(sync), revision)

    await _migrate(engine, go)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    from alembic import command

    await _migrate(engine, lambda sync: command.downgrade(alembic_config(sync), revision))


async def drop_branch(engine: AsyncEngine, label: str) -> tuple[str, ...]:
    """Undo every revision of a transport's own branch (dropping its tables); the revisions undone."""
    from alembic import command

    def go(sync: Connection) -> tuple[str, ...]:
        before = set(_current(sync))
        command.downgrade(alembic_config(sync), f"{label}@base")
        return tuple(sorted(before - set(_current(sync))))

    return await _migrate(engine, go)


async def _migrate(engine: AsyncEngine, migration: Callable[[Connection], T]) -> T:
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Alembic rebuilds a SQLite table (batch mode) with DROP TABLE, which with foreign keys on
            # deletes every row that refers to it by cascade: a user's bindings and contacts. The pragma
            # only takes effect outside a transaction.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                return await connection.run_sync(migration)
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def schema_revision(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the newest revision this version of the gateway knows); with transports that
    have revisions of their own, each is several heads, sorted and joined with ", ". Every admin command asks:
    a current schema is told without loading Alembic and reading every revision script."""
    if (declared := await _declared_current(engine)) is not None:
        return _joined(declared), _joined(declared)
    from alembic.script import ScriptDirectory

    head = _joined(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as connection:
        current = await connection.run_sync(lambda sync: _joined(_current(sync)))
    return current, head


def _joined(revisions: Sequence[str]) -> str | None:
    return ", ".join(sorted(revisions)) or None
