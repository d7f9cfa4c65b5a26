"""Bindings: a user's own address on a transport (the SMS number an admin bound to them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.store.models import Binding, User, UserTransport
from gateway.store.users import UserNotFound


class BindingExists(Exception):
    pass


class BindingNotFound(Exception):
    pass


@dataclass(frozen=True)
class BindingRecord:
    jid: str
    transport: str
    address: str
    is_default: bool


class BindingRepository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def bind(self, jid: str, transport: str, address: str, default: bool = False) -> BindingRecord:
        """Bind `address` to an existing user; their first address on a transport becomes the default.

        An admin binding an address admits the user to that transport (a member, like `admin user add`).
        """
        try:
            async with self._sessions.begin() as session:
                user_id = await session.scalar(select(User.id).where(User.jid == jid))
                if user_id is None:
                    raise UserNotFound(jid)
                others = (await session.scalars(select(Binding.id).where(
                    Binding.user_id == user_id, Binding.transport == transport))).all()
                default = default or not others
                if default and others:
                    await session.execute(update(Binding).where(Binding.id.in_(others)).values(is_default=False))
                session.add(Binding(user_id=user_id, transport=transport, address=address, is_default=default))
                member = await session.scalar(select(UserTransport.id).where(UserTransport.user_id == user_id,
                                                                             UserTransport.transport == transport))
                if member is None:
                    session.add(UserTransport(user_id=user_id, transport=transport))
        except IntegrityError:
            raise BindingExists(f"{address} is already bound to {jid}") from None
        return BindingRecord(jid, transport, address, default)

    async def unbind(self, jid: str, transport: str, address: str) -> None:
        async with self._sessions.begin() as session:
            user_id = await session.scalar(select(User.id).where(User.jid == jid))
            binding = await session.scalar(select(Binding).where(
                Binding.user_id == user_id, Binding.transport == transport, Binding.address == address))
            if user_id is None or binding is None:
                raise BindingNotFound(f"{address} is not bound to {jid}")
            await session.execute(delete(Binding).where(Binding.id == binding.id))
            if binding.is_default:  # another of their addresses takes over as the default
                successor = await session.scalar(select(Binding).where(
                    Binding.user_id == user_id, Binding.transport == transport).order_by(Binding.id))
                if successor is not None:
                    successor.is_default = True

    async def find(self, transport: str, jid: str | None = None) -> list[BindingRecord]:
        statement = (select(User.jid, Binding.transport, Binding.address, Binding.is_default)
                     .join(User, User.id == Binding.user_id).where(Binding.transport == transport)
                     .order_by(User.jid, Binding.address))
        if jid is not None:
            statement = statement.where(User.jid == jid)
        async with self._sessions() as session:
            return [BindingRecord(*row) for row in (await session.execute(statement)).all()]
