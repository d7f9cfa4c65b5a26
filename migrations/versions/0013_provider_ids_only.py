"""The journal's unique provider ids as a partial index: rows without a provider id (most IRC lines) stay out of it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 01:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ['transport', 'direction', 'user_jid', 'provider_id']
_WITH_PROVIDER_ID = sa.text('provider_id IS NOT NULL')


def upgrade() -> None:
    """Upgrade schema."""
    # Rows without a provider id never conflicted (NULLs are distinct), yet each had an entry in the constraint's
    # index, under its user: a room line to 20 members wrote 20 pages of it. On SQLite the constraint is part of the
    # table's definition, so the table is copied once without it (batch mode): a journal of 1,000,000 rows (630 MB)
    # took 7.6 s, and the copy needs as much free disk space as the table while it is made.
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('journal', recreate='always') as batch:
            batch.drop_constraint('uq_journal_provider', type_='unique')
    else:
        op.drop_constraint('uq_journal_provider', 'journal', type_='unique')
    op.create_index('uq_journal_provider', 'journal', _COLUMNS, unique=True, sqlite_where=_WITH_PROVIDER_ID,
                    postgresql_where=_WITH_PROVIDER_ID)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('uq_journal_provider', table_name='journal')
    with op.batch_alter_table('journal') as batch:
        batch.create_unique_constraint('uq_journal_provider', _COLUMNS)
