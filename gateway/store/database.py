"""Engine creation (SQLite tuned for a service, or PostgreSQL) and schema migration through Alembic."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from gateway.transports.discovery import descriptors


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


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read and write while the gateway runs; NORMAL keeps every commit across a crash
    # of the process (not of the machine) at a fraction of FULL's fsyncs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def thread_engine(engine: AsyncEngine) -> Engine | None:
    """For a SQLite file: a synchronous engine on the same file, for a writer that runs whole transactions in a
    thread of its own. Through aiosqlite every statement, BEGIN and COMMIT is a hand-over to its thread and back
    (each waiting for the GIL); in one thread a transaction is one hand-over. None for other databases (their
    drivers are asynchronous and need no thread) and for an in-memory database (a second engine would not see it).
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    # Two connections: the writer's, and one for checkpoints (gateway.store.writer_thread).
    sync = create_sync_engine(url.set(drivername="sqlite"), connect_args={"timeout": 30}, pool_size=2,
                              max_overflow=0)
    event.listen(sync, "connect", _tune_sqlite)
    event.listen(sync, "connect", _no_automatic_checkpoint)
    return sync


def _no_automatic_checkpoint(dbapi_connection: Any, _record: Any) -> None:
    # The writer's own thread checkpoints instead (WriterThread), off the commit's path.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", migrations_dir())
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(version_locations()).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    await _migrate(engine, lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _migrate(engine, lambda sync: command.downgrade(alembic_config(sync), revision))


async def _migrate(engine: AsyncEngine, migration: Callable[[Connection], None]) -> None:
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
                await connection.run_sync(migration)
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def schema_revision(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the newest revision this version of the gateway knows); with transports that
    have revisions of their own, each is several heads, sorted and joined with ", "."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = _joined(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as connection:
        current = await connection.run_sync(lambda sync: _joined(MigrationContext.configure(sync).get_current_heads()))
    return current, head


def _joined(revisions: Sequence[str]) -> str | None:
    return ", ".join(sorted(revisions)) or None
