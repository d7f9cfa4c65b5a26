"""The pager transport's table: each user's tone

Revision ID: pager_0001
Revises:
Create Date: 2026-12-07 00:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pager_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("pager",)
depends_on: str | Sequence[str] | None = "0001"  # the users table


def upgrade() -> None:
    op.create_table("pager_tones",
                    sa.Column("user_id", sa.Integer(), nullable=False),
                    sa.Column("tone", sa.String(length=32), nullable=False),
                    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_pager_tones_user_id_users",
                                            ondelete="CASCADE"),
                    sa.PrimaryKeyConstraint("user_id", name="pk_pager_tones"))


def downgrade() -> None:
    op.drop_table("pager_tones")
