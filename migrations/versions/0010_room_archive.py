"""Room archives: a room line's nick and stanza-id as columns, and the indexes that page one user's lines

Revision ID: 0010
Revises: 0007
Create Date: 2027-01-10 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Rows written before keep their nick in `extra` (read from there still) and stay out of the archive.
    with op.batch_alter_table('journal') as batch:
        batch.add_column(sa.Column('room_nick', sa.String(length=1023), nullable=True))
        batch.add_column(sa.Column('stanza_id', sa.String(length=255), nullable=True))
    op.create_index('ix_journal_archive', 'journal', ['transport', 'user_jid', 'peer', 'id'], unique=False)
    op.create_index('ix_journal_archive_nick', 'journal', ['transport', 'user_jid', 'peer', 'room_nick', 'id'],
                    unique=False)
    op.create_index('ix_journal_stanza_id', 'journal', ['stanza_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_journal_stanza_id', table_name='journal')
    op.drop_index('ix_journal_archive_nick', table_name='journal')
    op.drop_index('ix_journal_archive', table_name='journal')
    with op.batch_alter_table('journal') as batch:
        batch.drop_column('stanza_id')
        batch.drop_column('room_nick')
