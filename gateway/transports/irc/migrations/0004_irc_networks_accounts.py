"""IRC networks and per-user IRC settings (nick, encrypted credentials)

Revision ID: 0004
Revises: (none: the first of the branch)
Create Date: 2026-11-26 10:02:11.421907

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('irc',)
depends_on: str | Sequence[str] | None = '0001'  # the users table


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('irc_networks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=True),
    sa.Column('tls', sa.Boolean(), nullable=False),
    sa.Column('verify_certificate', sa.Boolean(), nullable=False),
    sa.Column('ca_file', sa.String(length=1024), nullable=True),
    sa.Column('password', sa.Text(), nullable=True),
    sa.Column('encoding_fallback', sa.String(length=64), nullable=False),
    sa.Column('max_line_bytes', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_irc_networks')),
    sa.UniqueConstraint('name', name=op.f('uq_irc_networks_name'))
    )
    op.create_table('irc_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('nick', sa.String(length=64), nullable=True),
    sa.Column('sasl_account', sa.String(length=255), nullable=True),
    sa.Column('sasl_password', sa.Text(), nullable=True),
    sa.Column('nickserv_password', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_irc_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_irc_accounts')),
    sa.UniqueConstraint('user_id', 'network', name=op.f('uq_irc_accounts_user_id'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('irc_accounts')
    op.drop_table('irc_networks')
