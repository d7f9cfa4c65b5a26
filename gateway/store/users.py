"""Users of the gateway: bare JIDs with an admin flag, an enabled flag and the transports they belong to.

A user belongs to a transport once an admin added them for it or they registered with it; a `closed`
transport admits only its members. Leaving a transport deletes the user's data there: contacts, bindings
(e.g. SMS numbers, which only admins bind), that transport's own settings and the journal rows; the user
row goes with their last transport.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, column, delete, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.core.ports import UserRecord
from gateway.store.models import Binding, Contact, JournalEntry, RoomMember, User, UserTransport
from gateway.store.reader import Reader
from gateway.store.roster import mark_all_transports, mark_changed

_RECORDS = (select(User.jid, User.is_admin, User.enabled, UserTransport.transport)
            .outerjoin(UserTransport, UserTransport.user_id == User.id)
            .where(User.jid.in_(bindparam("jids", expanding=True))))


def _records(connection: Connection, jids: list[str]) -> dict[str, UserRecord]:
    found: dict[str, tuple[bool, bool, set[str]]] = {}
    for jid, is_admin, enabled, transport in connection.execute(_RECORDS, {"jids": jids}):
        transports = found.setdefault(jid, (is_admin, enabled, set()))[2]
        if transport is not None:
            transports.add(transport)
    return {jid: UserRecord(jid=jid, is_admin=is_admin, enabled=enabled, transports=frozenset(transports))
            for jid, (is_admin, enabled, transports) in found.items()}


class UserExists(Exception):
    pass


class UserNotFound(Exception):
    pass


class UserRepository:
    def __init__(self, sessions: async_sessionmaker[Any], reader: Reader, user_tables: Mapping[str, Sequence[str]],
                 instance_tables: Sequence[str] = ()) -> None:
        self._sessions = sessions
        self._reader = reader
        # Each transport's own per-user tables (by transport), emptied of a user's rows when they leave it.
        self._user_tables = user_tables
        # Tables keyed by user and transport instance: only the rows of the instance left go.
        self._instance_tables = instance_tables

    @staticmethod
    async def _record(session: AsyncSession, user: User) -> UserRecord:
        transports = (await session.scalars(select(UserTransport.transport)
                                            .where(UserTransport.user_id == user.id))).all()
        return UserRecord(jid=user.jid, is_admin=user.is_admin, enabled=user.enabled,
                          transports=frozenset(transports))

    async def get_user(self, jid: str) -> UserRecord | None:
        return (await self.get_users([jid])).get(jid)

    async def get_users(self, jids: Collection[str]) -> dict[str, UserRecord]:
        # Plain rows (no ORM objects), through the reader: this runs for every message (through the access
        # cache) and every second for every connected IRC user.
        return await self._reader.run(functools.partial(_records, jids=list(jids)))

    async def add(self, jid: str, is_admin: bool = False, transports: Iterable[str] = ()) -> UserRecord:
        """A new user, a member of `transports`; UserExists if the JID is taken."""
        try:
            async with self._sessions.begin() as session:
                user = User(jid=jid, is_admin=is_admin, enabled=True)
                session.add(user)
                await session.flush()
                session.add_all(UserTransport(user_id=user.id, transport=t) for t in sorted(set(transports)))
            return UserRecord(jid=jid, is_admin=is_admin, enabled=True, transports=frozenset(transports))
        except IntegrityError:
            raise UserExists(jid) from None

    async def all(self) -> list[UserRecord]:
        async with self._sessions() as session:
            users = (await session.scalars(select(User).order_by(User.jid))).all()
            memberships: dict[int, set[str]] = {}
            for user_id, transport in (await session.execute(select(UserTransport.user_id,
                                                                    UserTransport.transport))).all():
                memberships.setdefault(user_id, set()).add(transport)
            return [UserRecord(jid=u.jid, is_admin=u.is_admin, enabled=u.enabled,
                               transports=frozenset(memberships.get(u.id, ()))) for u in users]

    async def join(self, jid: str, transport: str, nick: str | None = None, create: bool = False) -> bool:
        """Make `jid` a member of `transport` (the user is created first if `create`); True if they were not.

        `nick` (given at registration) replaces the stored one when given. UserNotFound without the user.
        """
        for _attempt in range(2):
            try:
                async with self._sessions.begin() as session:
                    user_id = await session.scalar(select(User.id).where(User.jid == jid))
                    if user_id is None:
                        if not create:
                            raise UserNotFound(jid)
                        user = User(jid=jid, is_admin=False, enabled=True)
                        session.add(user)
                        await session.flush()
                        user_id = user.id
                    row = await session.scalar(select(UserTransport).where(UserTransport.user_id == user_id,
                                                                           UserTransport.transport == transport))
                    if row is not None:
                        if nick is not None:
                            row.nick = nick
                        return False
                    session.add(UserTransport(user_id=user_id, transport=transport, nick=nick))
                    return True
            except IntegrityError:  # registered twice at once: the other call created the rows
                continue
        raise RuntimeError(f"could not add {jid} to {transport}")  # pragma: no cover - two races in a row

    async def nick(self, jid: str, transport: str) -> str | None:
        """The nick `jid` gave when registering with `transport` (None if none)."""
        async with self._sessions() as session:
            nick: str | None = await session.scalar(
                select(UserTransport.nick).join(User, User.id == UserTransport.user_id)
                .where(User.jid == jid, UserTransport.transport == transport))
            return nick

    async def leave(self, jid: str, transport: str, member_only: bool = True) -> bool:
        """Take `jid` off `transport` with their data there (contacts, bindings, the transport's own settings,
        journal rows); the user row too when no transport is left. True if the user row was deleted.

        UserNotFound if there is no such user, or (`member_only`) they are not a member of `transport`.
        """
        async with self._sessions.begin() as session:
            user_id = await session.scalar(select(User.id).where(User.jid == jid))
            member = user_id is not None and await session.scalar(select(UserTransport.id).where(
                UserTransport.user_id == user_id, UserTransport.transport == transport))
            if user_id is None or (member_only and not member):
                raise UserNotFound(jid)
            await mark_changed(session, transport, [jid])
            await session.execute(delete(UserTransport).where(UserTransport.user_id == user_id,
                                                              UserTransport.transport == transport))
            for model in (Contact, Binding):
                await session.execute(delete(model).where(model.user_id == user_id, model.transport == transport))
            for name in self._user_tables.get(transport, ()):
                own = table(name, column("user_id"))
                await session.execute(delete(own).where(own.c.user_id == user_id))
            for name in self._instance_tables:
                kept = table(name, column("user_id"), column("transport"))
                await session.execute(delete(kept).where(kept.c.user_id == user_id, kept.c.transport == transport))
            for keyed in (JournalEntry, RoomMember):
                await session.execute(delete(keyed).where(keyed.user_jid == jid, keyed.transport == transport))
            left = await session.scalar(select(UserTransport.id).where(UserTransport.user_id == user_id).limit(1))
            if left is None:
                await session.execute(delete(User).where(User.id == user_id))
            return left is None

    async def remove(self, jid: str) -> None:
        """Delete the user and everything of theirs: memberships, bindings and contacts cascade, journal rows go
        too."""
        async with self._sessions.begin() as session:
            await mark_all_transports(session, jid)
            result = await session.execute(delete(User).where(User.jid == jid))
            if result.rowcount == 0:
                raise UserNotFound(jid)
            for keyed in (JournalEntry, RoomMember):
                await session.execute(delete(keyed).where(keyed.user_jid == jid))

    async def update(self, jid: str, *, is_admin: bool | None = None, enabled: bool | None = None
                     ) -> UserRecord:
        values = {k: v for k, v in (("is_admin", is_admin), ("enabled", enabled)) if v is not None}
        async with self._sessions.begin() as session:
            if values:
                await session.execute(update(User).where(User.jid == jid).values(**values))
            user = await session.scalar(select(User).where(User.jid == jid))
            if user is None:
                raise UserNotFound(jid)
            return await self._record(session, user)

