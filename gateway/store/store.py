"""One handle on the database for the gateway and the CLI: the engine and its repositories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.archive import RoomArchive
from gateway.store.bindings import BindingRepository
from gateway.store.contacts import ContactRepository
from gateway.store.database import create_engine, sessionmaker, upgrade
from gateway.store.irc import IrcRepository
from gateway.store.journal import JournalRepository
from gateway.store.reader import Reader
from gateway.store.rooms import RoomMemberRepository
from gateway.store.roster import RosterRepository
from gateway.store.secrets import SecretBox
from gateway.store.sms import SmsRepository
from gateway.store.users import UserRepository
from gateway.transports.discovery import descriptors


class Store:
    def __init__(self, engine: AsyncEngine, secret_key: str | None = None,
                 user_tables: Mapping[str, Sequence[str]] | None = None,
                 instance_tables: Sequence[str] | None = None, kinds: Mapping[str, str] | None = None) -> None:
        """`user_tables`: each transport's own per-user tables, `instance_tables` those kept per instance of a
        transport; by default those the installed transports declare. `kinds`: the configured instances' kinds
        (Config.kinds), so that an instance named otherwise than its kind empties its kind's tables."""
        self.engine = engine
        sessions = sessionmaker(engine)
        if user_tables is None:
            user_tables = {kind: d.user_tables for kind, d in descriptors().items()}
        user_tables = {**user_tables, **{name: user_tables.get(kind, ()) for name, kind in (kinds or {}).items()}}
        if instance_tables is None:
            instance_tables = sorted({name for d in descriptors().values() for name in d.instance_tables})
        self.reader = Reader(engine)
        self.users = UserRepository(sessions, self.reader, user_tables, instance_tables)
        self.journal = JournalRepository(engine, reader=self.reader)
        self.archive = RoomArchive(engine)
        self.bindings = BindingRepository(sessions)
        self.contacts = ContactRepository(sessions)
        self.roster = RosterRepository(sessions)
        self.rooms = RoomMemberRepository(sessions)
        self.sms = SmsRepository(sessions, engine, self.journal.writer, self.reader)
        # Stored secrets (IRC passwords) are sealed with the key from config ([database] secret_key).
        self.irc = IrcRepository(sessions, SecretBox(secret_key))

    @classmethod
    async def open(cls, url: str, migrate: bool = False, secret_key: str | None = None,
                   kinds: Mapping[str, str] | None = None) -> Store:
        engine = create_engine(url)
        if migrate:
            await upgrade(engine)
        return cls(engine, secret_key, kinds=kinds)

    async def close(self) -> None:
        await self.journal.close()
        await self.reader.close()
        await self.engine.dispose()
