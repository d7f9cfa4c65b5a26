"""One handle on the database for the gateway and the CLI: the engine and its repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.bindings import BindingRepository
from gateway.store.contacts import ContactRepository
from gateway.store.database import create_engine, sessionmaker, upgrade
from gateway.store.irc import IrcRepository
from gateway.store.journal import JournalRepository
from gateway.store.rooms import RoomMemberRepository
from gateway.store.roster import RosterRepository
from gateway.store.secrets import SecretBox
from gateway.store.sms import SmsRepository
from gateway.store.users import UserRepository


class Store:
    def __init__(self, engine: AsyncEngine, secret_key: str | None = None) -> None:
        self.engine = engine
        sessions = sessionmaker(engine)
        self.users = UserRepository(sessions)
        self.journal = JournalRepository(engine)
        self.bindings = BindingRepository(sessions)
        self.contacts = ContactRepository(sessions)
        self.roster = RosterRepository(sessions)
        self.rooms = RoomMemberRepository(sessions)
        self.sms = SmsRepository(sessions, engine.dialect.name)
        # Stored secrets (IRC passwords) are sealed with the key from config ([database] secret_key).
        self.irc = IrcRepository(sessions, SecretBox(secret_key))

    @classmethod
    async def open(cls, url: str, migrate: bool = False, secret_key: str | None = None) -> Store:
        engine = create_engine(url)
        if migrate:
            await upgrade(engine)
        return cls(engine, secret_key)

    async def close(self) -> None:
        await self.journal.close()
        await self.engine.dispose()
