"""Revision 0008: block lists and daily usage kept before it belong to the one SMS transport there was, sms."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, text

from gateway.store.database import create_engine, downgrade, upgrade
from gateway.store.models import User


async def test_existing_blocks_and_usage_become_the_sms_instance_s(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0006")
        async with engine.begin() as connection:
            user_id = (await connection.execute(insert(User).values(
                jid="a@example.org", is_admin=False, enabled=True).returning(User.id))).scalar_one()
            await connection.execute(text("INSERT INTO sms_blocks (user_id, number, created_at) VALUES "
                                          "(:user_id, '+15557654321', CURRENT_TIMESTAMP)"), {"user_id": user_id})
            await connection.execute(text("INSERT INTO sms_usage (user_id, day, segments) VALUES "
                                          "(:user_id, :day, 7)"), {"user_id": user_id, "day": date(2026, 12, 1)})

        await upgrade(engine, "0008")

        async with engine.begin() as connection:
            blocks = (await connection.execute(text("SELECT transport, number FROM sms_blocks"))).all()
            usage = (await connection.execute(text("SELECT transport, segments FROM sms_usage"))).all()
            assert [tuple(row) for row in blocks] == [("sms", "+15557654321")]
            assert [tuple(row) for row in usage] == [("sms", 7)]
            # Another instance's block of the same number is a row of its own.
            await connection.execute(text("INSERT INTO sms_blocks (user_id, transport, number, created_at) VALUES "
                                          "(:user_id, 'sms-work', '+15557654321', CURRENT_TIMESTAMP)"),
                                     {"user_id": user_id})

        await downgrade(engine, "0006")  # the other instance's rows cannot be kept apart: they go
        async with engine.connect() as connection:
            numbers = (await connection.execute(text("SELECT number FROM sms_blocks"))).scalars().all()
        assert numbers == ["+15557654321"]
    finally:
        await engine.dispose()
