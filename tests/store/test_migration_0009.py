"""Revision 0009: IRC nicks and credentials kept before it belong to the one IRC transport there was, irc."""

from __future__ import annotations

from sqlalchemy import insert, text

from gateway.store.database import create_engine, downgrade, upgrade
from gateway.store.models import User


async def test_existing_irc_accounts_become_the_irc_instance_s(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as connection:
            user_id = (await connection.execute(insert(User).values(
                jid="a@example.org", is_admin=False, enabled=True).returning(User.id))).scalar_one()
            await connection.execute(text("INSERT INTO irc_accounts (user_id, network, nick, updated_at) VALUES "
                                          "(:user_id, 'libera', 'alice', CURRENT_TIMESTAMP)"), {"user_id": user_id})

        await upgrade(engine, "0009")

        async with engine.begin() as connection:
            rows = (await connection.execute(text("SELECT transport, network, nick FROM irc_accounts"))).all()
            assert [tuple(row) for row in rows] == [("irc", "libera", "alice")]
            # Another instance's settings on the same network are a row of their own.
            await connection.execute(text("INSERT INTO irc_accounts (user_id, transport, network, nick, updated_at) "
                                          "VALUES (:user_id, 'irc-b', 'libera', 'alice_b', CURRENT_TIMESTAMP)"),
                                     {"user_id": user_id})

        await downgrade(engine, "0004")  # the other instance's rows cannot be kept apart: they go
        async with engine.connect() as connection:
            nicks = (await connection.execute(text("SELECT nick FROM irc_accounts"))).scalars().all()
        assert nicks == ["alice"]
    finally:
        await engine.dispose()
