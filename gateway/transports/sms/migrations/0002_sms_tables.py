"""SMS transport tables: opt-outs, block lists, daily usage

Revision ID: 0002
Revises: (none: the first of the branch)
Create Date: 2026-11-25 12:24:52.924483

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('sms',)
depends_on: str | Sequence[str] | None = '0001'  # the users table


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sms_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_opt_outs')),
    sa.UniqueConstraint('sender', 'recipient', name=op.f('uq_sms_opt_outs_sender'))
    )
    op.create_table('sms_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_blocks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_blocks')),
    sa.UniqueConstraint('user_id', 'number', name=op.f('uq_sms_blocks_user_id'))
    )
    op.create_table('sms_usage',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_usage_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_sms_usage'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('sms_usage')
    op.drop_table('sms_blocks')
    op.drop_table('sms_opt_outs')
