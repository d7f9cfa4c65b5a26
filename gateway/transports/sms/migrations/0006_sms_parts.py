"""The delivery status of each part of an SMS sent in several parts

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-06 22:40:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sms_parts',
    sa.Column('journal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('part', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journal_id'], ['journal.id'], name=op.f('fk_sms_parts_journal_id_journal'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('journal_id', 'part', name=op.f('pk_sms_parts'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('sms_parts')
