"""Block lists and daily usage belong to one SMS transport instance ([transports.<name>] with type = "sms")

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07 02:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Before this revision there was one SMS transport, which could only be named sms.
ONLY_INSTANCE = 'sms'


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('sms_blocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transport', sa.String(length=64), nullable=False,
                                      server_default=ONLY_INSTANCE))
        batch_op.drop_constraint('uq_sms_blocks_user_id', type_='unique')
        batch_op.create_unique_constraint('uq_sms_blocks_user_id', ['user_id', 'transport', 'number'])
    with op.batch_alter_table('sms_usage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transport', sa.String(length=64), nullable=False,
                                      server_default=ONLY_INSTANCE))
        batch_op.drop_constraint('pk_sms_usage', type_='primary')
        batch_op.create_primary_key('pk_sms_usage', ['user_id', 'transport', 'day'])
    for name in ('sms_blocks', 'sms_usage'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('transport', server_default=None)


def downgrade() -> None:
    """Downgrade schema: the other instances' rows cannot be told apart any more and go."""
    for name in ('sms_blocks', 'sms_usage'):
        op.execute(sa.text(f"DELETE FROM {name} WHERE transport != :only").bindparams(only=ONLY_INSTANCE))
    with op.batch_alter_table('sms_usage', schema=None) as batch_op:
        batch_op.drop_constraint('pk_sms_usage', type_='primary')
        batch_op.create_primary_key('pk_sms_usage', ['user_id', 'day'])
        batch_op.drop_column('transport')
    with op.batch_alter_table('sms_blocks', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sms_blocks_user_id', type_='unique')
        batch_op.create_unique_constraint('uq_sms_blocks_user_id', ['user_id', 'number'])
        batch_op.drop_column('transport')
