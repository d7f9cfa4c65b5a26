"""A user's IRC nicks and credentials belong to one IRC transport instance ([transports.<name>] with type = "irc")

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-07 02:45:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Before this revision there was one IRC transport, which could only be named irc.
ONLY_INSTANCE = 'irc'


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('irc_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transport', sa.String(length=64), nullable=False,
                                      server_default=ONLY_INSTANCE))
        batch_op.drop_constraint('uq_irc_accounts_user_id', type_='unique')
        batch_op.create_unique_constraint('uq_irc_accounts_user_id', ['user_id', 'transport', 'network'])
    with op.batch_alter_table('irc_accounts', schema=None) as batch_op:
        batch_op.alter_column('transport', server_default=None)


def downgrade() -> None:
    """Downgrade schema: the other instances' rows cannot be told apart any more and go."""
    op.execute(sa.text("DELETE FROM irc_accounts WHERE transport != :only").bindparams(only=ONLY_INSTANCE))
    with op.batch_alter_table('irc_accounts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_irc_accounts_user_id', type_='unique')
        batch_op.create_unique_constraint('uq_irc_accounts_user_id', ['user_id', 'network'])
        batch_op.drop_column('transport')
