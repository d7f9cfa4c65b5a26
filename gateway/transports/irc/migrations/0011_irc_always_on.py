"""Always-on IRC presence: a user's choice per network, and the channels kept while none of their resources is in

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 04:45:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('irc_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('always_on', sa.Boolean(), nullable=True))
    op.create_table('irc_kept_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('transport', sa.String(length=64), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=255), nullable=False),
    sa.Column('nick', sa.String(length=64), nullable=False),
    sa.Column('kept_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_irc_kept_channels_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_irc_kept_channels')),
    sa.UniqueConstraint('user_id', 'transport', 'network', 'channel', name=op.f('uq_irc_kept_channels_user_id'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('irc_kept_channels')
    with op.batch_alter_table('irc_accounts', schema=None) as batch_op:
        batch_op.drop_column('always_on')
