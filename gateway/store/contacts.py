"""Contacts: a foreign address mapped into a user's roster under a name (and a group)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.store.models import Contact, User
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


class ContactRepository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def add(self, jid: str, transport: str, address: str, name: str, group: str | None = None
                  ) -> ContactRecord:
        try:
            async with self._sessions.begin() as session:
                user_id = await session.scalar(select(User.id).where(User.jid == jid))
                if user_id is None:
                    raise UserNotFound(jid)
                session.add(Contact(user_id=user_id, transport=transport, address=address, name=name,
                                    roster_group=group))
        except IntegrityError:
            raise ContactExists(f"{jid} already has a contact {address} on {transport}") from None
        return ContactRecord(jid, transport, address, name, group)

    async def remove(self, jid: str, transport: str, address: str) -> None:
        async with self._sessions.begin() as session:
            user_ids = select(User.id).where(User.jid == jid).scalar_subquery()
            result = await session.execute(delete(Contact).where(
                Contact.user_id == user_ids, Contact.transport == transport, Contact.address == address))
            if not result.rowcount:
                raise ContactNotFound(f"{jid} has no contact {address} on {transport}")

    async def find(self, jid: str, transport: str | None = None) -> list[ContactRecord]:
        statement = (select(User.jid, Contact.transport, Contact.address, Contact.name, Contact.roster_group)
                     .join(User, User.id == Contact.user_id).where(User.jid == jid)
                     .order_by(Contact.transport, Contact.name))
        if transport is not None:
            statement = statement.where(Contact.transport == transport)
        async with self._sessions() as session:
            return [ContactRecord(*row) for row in (await session.execute(statement)).all()]

    async def name_for(self, jid: str, transport: str, address: str) -> str | None:
        statement = (select(Contact.name).join(User, User.id == Contact.user_id)
                     .where(User.jid == jid, Contact.transport == transport, Contact.address == address))
        async with self._sessions() as session:
            name = await session.scalar(statement)
            return str(name) if name is not None else None
