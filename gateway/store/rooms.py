"""Room memberships (XEP-0045 on a room transport): which resources of which users are in which rooms.

The XMPP side keeps them in memory while it runs and writes every change here, so that a restart (kill -9
included) brings every user back into their rooms without any action of theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.store.models import RoomMember


@dataclass(frozen=True)
class StoredMembership:
    user: str  # bare JID
    room: str  # the room's foreign address
    nick: str


class RoomMemberRepository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def joined(self, transport: str, user: str, room: str, resource: str, nick: str) -> None:
        """`user`/`resource` is in `room` as `nick` (the nick is the user's, for every resource of theirs)."""
        async with self._sessions.begin() as session:
            await session.execute(update(RoomMember).where(*_room(transport, user, room)).values(nick=nick))
            found = await session.scalar(select(RoomMember.id).where(*_room(transport, user, room),
                                                                    RoomMember.resource == resource))
            if found is None:
                session.add(RoomMember(transport=transport, user_jid=user, room=room, resource=resource,
                                       nick=nick))

    async def left(self, transport: str, user: str, room: str, resource: str | None = None) -> None:
        """`user`'s `resource` left `room`; all of the user's resources when `resource` is None."""
        conditions = _room(transport, user, room)
        if resource is not None:
            conditions = (*conditions, RoomMember.resource == resource)
        async with self._sessions.begin() as session:
            await session.execute(delete(RoomMember).where(*conditions))

    async def renamed(self, transport: str, user: str, room: str, nick: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(RoomMember).where(*_room(transport, user, room)).values(nick=nick))

    async def resources(self, transport: str, user: str, room: str) -> tuple[str, ...]:
        """The user's resources stored as in `room`."""
        async with self._sessions() as session:
            return tuple((await session.scalars(select(RoomMember.resource).where(*_room(transport, user, room))
                                                .order_by(RoomMember.id))).all())

    async def memberships(self, transport: str) -> Sequence[StoredMembership]:
        """Every stored membership of `transport`, one per user and room, oldest join first."""
        async with self._sessions() as session:
            rows = await session.execute(select(RoomMember.user_jid, RoomMember.room, RoomMember.nick)
                                         .where(RoomMember.transport == transport).order_by(RoomMember.id))
            found = {(user, room): nick for user, room, nick in rows}  # every resource has the same nick
        return [StoredMembership(user, room, nick) for (user, room), nick in found.items()]


def _room(transport: str, user: str, room: str) -> tuple[Any, ...]:
    return (RoomMember.transport == transport, RoomMember.user_jid == user, RoomMember.room == room)
