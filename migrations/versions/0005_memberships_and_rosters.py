"""Users belong to transports (with a registration nick); what each roster shows, and which rosters changed

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-27 09:41:18.305114

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Before this revision a user could use every transport: existing users become members of all of them.
TRANSPORTS = ('irc', 'loopback', 'sms')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('user_transports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('transport', sa.String(length=64), nullable=False),
    sa.Column('nick', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_transports_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_transports')),
    sa.UniqueConstraint('user_id', 'transport', name=op.f('uq_user_transports_user_id'))
    )
    op.create_table('roster_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transport', sa.String(length=64), nullable=False),
    sa.Column('user_jid', sa.String(length=3071), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('roster_group', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_items')),
    sa.UniqueConstraint('transport', 'user_jid', 'address', name=op.f('uq_roster_items_transport'))
    )
    op.create_table('roster_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('transport', sa.String(length=64), nullable=False),
    sa.Column('user_jid', sa.String(length=3071), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_changes'))
    )
    op.create_index('ix_roster_changes_transport', 'roster_changes', ['transport'], unique=False)

    # Existing users keep the access they had; the mappings they have were shown while the gateway ran, so
    # they are recorded as shown (nothing is asked again; a removed one is taken out).
    for transport in TRANSPORTS:
        op.execute(sa.text(
            "INSERT INTO user_transports (user_id, transport, created_at) "
            "SELECT id, :transport, CURRENT_TIMESTAMP FROM users").bindparams(transport=transport))
    op.execute(
        "INSERT INTO roster_items (transport, user_jid, address, name, roster_group) "
        "SELECT contacts.transport, users.jid, contacts.address, contacts.name, contacts.roster_group "
        "FROM contacts JOIN users ON users.id = contacts.user_id")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_roster_changes_transport', table_name='roster_changes')
    op.drop_table('roster_changes')
    op.drop_table('roster_items')
    op.drop_table('user_transports')
