"""Contacts name which of the user's addresses to use toward them (e.g. a second SMS number)

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 13:17:04.063070

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('via')
