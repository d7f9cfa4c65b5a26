"""Room memberships: which resources of which users are in which rooms, restored after a restart

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 23:40:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('room_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transport', sa.String(length=64), nullable=False),
    sa.Column('user_jid', sa.String(length=3071), nullable=False),
    sa.Column('room', sa.String(length=1023), nullable=False),
    sa.Column('resource', sa.String(length=1023), nullable=False),
    sa.Column('nick', sa.String(length=1023), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_members')),
    sa.UniqueConstraint('transport', 'user_jid', 'room', 'resource', name=op.f('uq_room_members_transport'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('room_members')
