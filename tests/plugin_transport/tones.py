"""The pager transport's own table: each user's tone. Its SQL lives here, beside the transport, as a transport in
a package of its own keeps it; the table comes from its own Alembic branch (migrations/)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, delete, insert, select

from gateway.store.models import User
from gateway.store.store import Store

TABLE = "pager_tones"
metadata = MetaData()
tones = Table(TABLE, metadata,
              Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
              Column("tone", String(32), nullable=False))


class NoSuchUser(Exception):
    pass


async def set_tone(store: Store, jid: str, tone: str) -> None:
    async with store.engine.begin() as connection:
        user_id = await connection.scalar(select(User.id).where(User.jid == jid))
        if user_id is None:
            raise NoSuchUser(jid)
        await connection.execute(delete(tones).where(tones.c.user_id == user_id))
        await connection.execute(insert(tones).values(user_id=user_id, tone=tone))


async def all_tones(store: Store) -> list[tuple[str, str]]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(select(User.jid, tones.c.tone).join(tones, tones.c.user_id == User.id)
                                        .order_by(User.jid))
        return [(jid, tone) for jid, tone in rows]
