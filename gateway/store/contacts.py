"""Contacts: a foreign address mapped into a user's roster under a name (and a group)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.store.models import Contact, User
from gateway.store.roster import mark_changed
from gateway.store.users import UserNotFound


class ContactExists(Exception):
    pass


class ContactNotFound(Exception):
    pass


@dataclass(frozen=True)
class ContactRecord:
    jid: str
    transport: str
    address: str
    name: str
    group: str | None
    via: str | None = None  # the user's own address to use toward this contact (which of their numbers)


@dataclass(frozen=True)
class NewContact:
    """A contact to store for a user (the user is given apart, e.g. to add_many)."""

    transport: str
    address: str
    name: str
    group: str | None = None


class ContactRepository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def add(self, jid: str, transport: str, address: str, name: str, group: str | None = None,
                  via: str | None = None) -> ContactRecord:
        try:
            async with self._sessions.begin() as session:
                user_id = await session.scalar(select(User.id).where(User.jid == jid))
                if user_id is None:
                    raise UserNotFound(jid)
                session.add(Contact(user_id=user_id, transport=transport, address=address, name=name,
                                    roster_group=group, via=via))
                await mark_changed(session, transport, [jid])
        except IntegrityError:
            raise ContactExists(f"{jid} already has a contact {address} on {transport}") from None
        return ContactRecord(jid, transport, address, name, group, via)

    async def add_many(self, jid: str, contacts: Sequence[NewContact], chunk: int = 1000,
                       progress: Callable[[int], None] | None = None) -> int:
        """Store all of `contacts` for `jid` in one transaction, or none of them; returns how many.

        Rows go in as multi-row INSERTs of `chunk` rows each; `progress` is called with the number stored so far
        after each chunk (before the commit). ContactExists if one is already there: nothing is stored then.
        """
        try:
            async with self._sessions.begin() as session:
                user_id = await session.scalar(select(User.id).where(User.jid == jid))
                if user_id is None:
                    raise UserNotFound(jid)
                for start in range(0, len(contacts), chunk):
                    rows = [{"user_id": user_id, "transport": c.transport, "address": c.address, "name": c.name,
                             "roster_group": c.group} for c in contacts[start:start + chunk]]
                    await session.execute(insert(Contact), rows)
                    if progress is not None:
                        progress(start + len(rows))
                for transport in sorted({c.transport for c in contacts}):
                    await mark_changed(session, transport, [jid])
        except IntegrityError:
            raise ContactExists(f"{jid} already has one of these contacts (or one is listed twice)") from None
        return len(contacts)

    async def remove(self, jid: str, transport: str, address: str) -> None:
        async with self._sessions.begin() as session:
            user_ids = select(User.id).where(User.jid == jid).scalar_subquery()
            result = await session.execute(delete(Contact).where(
                Contact.user_id == user_ids, Contact.transport == transport, Contact.address == address))
            if not result.rowcount:
                raise ContactNotFound(f"{jid} has no contact {address} on {transport}")
            await mark_changed(session, transport, [jid])

    async def find(self, jid: str | None, transport: str | None = None) -> list[ContactRecord]:
        """A user's contacts (every user's with `jid` None), optionally of one transport, in one query."""
        statement = (select(*_COLUMNS).join(User, User.id == Contact.user_id)
                     .order_by(User.jid, Contact.transport, Contact.name))
        if jid is not None:
            statement = statement.where(User.jid == jid)
        if transport is not None:
            statement = statement.where(Contact.transport == transport)
        async with self._sessions() as session:
            return [ContactRecord(*row) for row in (await session.execute(statement)).all()]

    async def get(self, jid: str, transport: str, address: str) -> ContactRecord | None:
        statement = (select(*_COLUMNS).join(User, User.id == Contact.user_id)
                     .where(User.jid == jid, Contact.transport == transport, Contact.address == address))
        async with self._sessions() as session:
            row = (await session.execute(statement)).first()
            return ContactRecord(*row) if row is not None else None


_COLUMNS = (User.jid, Contact.transport, Contact.address, Contact.name, Contact.roster_group, Contact.via)
