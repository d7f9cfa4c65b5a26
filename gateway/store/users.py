"""Users of the gateway: bare JIDs with an admin flag and an enabled flag."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.core.ports import UserRecord
from gateway.store.models import JournalEntry, User


class UserExists(Exception):
    pass


class UserNotFound(Exception):
    pass


def _record(user: User) -> UserRecord:
    return UserRecord(jid=user.jid, is_admin=user.is_admin, enabled=user.enabled)


class UserRepository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def get_user(self, jid: str) -> UserRecord | None:
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.jid == jid))
            return _record(user) if user else None

    async def add(self, jid: str, is_admin: bool = False) -> UserRecord:
        try:
            async with self._sessions.begin() as session:
                user = User(jid=jid, is_admin=is_admin, enabled=True)
                session.add(user)
            return _record(user)
        except IntegrityError:
            raise UserExists(jid) from None

    async def all(self) -> list[UserRecord]:
        async with self._sessions() as session:
            return [_record(u) for u in await session.scalars(select(User).order_by(User.jid))]

    async def remove(self, jid: str) -> None:
        """Delete the user and everything of theirs: bindings and contacts cascade, journal rows go too."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(User).where(User.jid == jid))
            if result.rowcount == 0:
                raise UserNotFound(jid)
            await session.execute(delete(JournalEntry).where(JournalEntry.user_jid == jid))

    async def update(self, jid: str, *, is_admin: bool | None = None, enabled: bool | None = None
                     ) -> UserRecord:
        values = {k: v for k, v in (("is_admin", is_admin), ("enabled", enabled)) if v is not None}
        async with self._sessions.begin() as session:
            if values:
                await session.execute(update(User).where(User.jid == jid).values(**values))
            user = await session.scalar(select(User).where(User.jid == jid))
            if user is None:
                raise UserNotFound(jid)
            return _record(user)
