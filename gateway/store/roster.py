"""What each component has put in users' rosters, and which users' contacts changed since.

Every change to a user's contacts on a transport (added, removed, imported, the user or their membership
removed) adds a `roster_changes` row in the same transaction (`mark_changed`). A component asks for the
changes of its transport (one query on an index: an idle gateway reads nothing else), compares those users'
contacts with the items it recorded as shown, updates their rosters, records what it showed and deletes the
change rows it handled. A change made meanwhile has a newer row and is handled at the next poll.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.store.models import Contact, RosterChange, RosterItem, User


@dataclass(frozen=True)
class ShownItem:
    name: str
    group: str | None


Items = dict[str, ShownItem]  # foreign address -> item


@dataclass(frozen=True)
class Changes:
    """Users whose rosters on a transport need a look; `ids` are the change rows to delete once done."""

    users: frozenset[str]
    ids: tuple[int, ...]


async def mark_changed(session: AsyncSession, transport: str, jids: Iterable[str]) -> None:
    """Record, in the caller's transaction, that these users' contacts on `transport` changed."""
    rows = [{"transport": transport, "user_jid": jid} for jid in sorted(set(jids))]
    if rows:
        await session.execute(insert(RosterChange), rows)


async def mark_all_transports(session: AsyncSession, jid: str) -> None:
    """Record a change on every transport where `jid` has contacts or shown items (before they are deleted)."""
    transports = set((await session.scalars(select(RosterItem.transport).where(RosterItem.user_jid == jid)
                                            .distinct())).all())
    transports |= set((await session.scalars(select(Contact.transport).join(User, User.id == Contact.user_id)
                                             .where(User.jid == jid).distinct())).all())
    for transport in sorted(transports):
        await mark_changed(session, transport, [jid])


class RosterRepository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def changes(self, transport: str) -> Changes:
        """The users of `transport` whose contacts changed since they were last handled."""
        async with self._sessions() as session:
            rows = (await session.execute(select(RosterChange.id, RosterChange.user_jid)
                                          .where(RosterChange.transport == transport))).all()
        return Changes(frozenset(jid for _, jid in rows), tuple(change_id for change_id, _ in rows))

    async def users(self, transport: str) -> set[str]:
        """Every user with contacts or shown items on `transport` (for a full comparison after connecting)."""
        async with self._sessions() as session:
            shown = (await session.scalars(select(RosterItem.user_jid).where(RosterItem.transport == transport)
                                           .distinct())).all()
            mapped = (await session.scalars(select(User.jid).join(Contact, User.id == Contact.user_id)
                                            .where(Contact.transport == transport).distinct())).all()
        return set(shown) | set(mapped)

    async def wanted(self, transport: str, jids: Iterable[str]) -> dict[str, Items]:
        """The contacts of these users on `transport` (users without any are left out)."""
        wanted: dict[str, Items] = {}
        for chunk in _chunks(sorted(set(jids))):
            statement = (select(User.jid, Contact.address, Contact.name, Contact.roster_group)
                         .join(User, User.id == Contact.user_id)
                         .where(Contact.transport == transport, User.jid.in_(chunk)))
            async with self._sessions() as session:
                for jid, address, name, group in (await session.execute(statement)).all():
                    wanted.setdefault(jid, {})[address] = ShownItem(name, group)
        return wanted

    async def shown(self, transport: str, jids: Iterable[str]) -> dict[str, Items]:
        """What was recorded as shown to these users on `transport` (users without any are left out)."""
        shown: dict[str, Items] = {}
        for chunk in _chunks(sorted(set(jids))):
            statement = (select(RosterItem.user_jid, RosterItem.address, RosterItem.name, RosterItem.roster_group)
                         .where(RosterItem.transport == transport, RosterItem.user_jid.in_(chunk)))
            async with self._sessions() as session:
                for jid, address, name, group in (await session.execute(statement)).all():
                    shown.setdefault(jid, {})[address] = ShownItem(name, group)
        return shown

    async def record(self, transport: str, jid: str, items: Items) -> None:
        """`items` is now what `jid`'s roster shows of `transport`."""
        async with self._sessions.begin() as session:
            await session.execute(delete(RosterItem).where(RosterItem.transport == transport,
                                                           RosterItem.user_jid == jid))
            rows = [{"transport": transport, "user_jid": jid, "address": address, "name": item.name,
                     "roster_group": item.group} for address, item in sorted(items.items())]
            if rows:
                await session.execute(insert(RosterItem), rows)

    async def handled(self, ids: Sequence[int]) -> None:
        """Delete the change rows that were handled (newer ones stay)."""
        for chunk in _chunks(list(ids)):
            async with self._sessions.begin() as session:
                await session.execute(delete(RosterChange).where(RosterChange.id.in_(chunk)))


def _chunks(values: list[Any], size: int = 500) -> Iterable[list[Any]]:
    # Bounded IN lists: SQLite allows 32766 parameters, and a huge list is slow to plan anywhere.
    for start in range(0, len(values), size):
        yield values[start:start + size]
