"""The journal's archive indexes: one user's lines by (user_jid, peer, transport, id), a nick's by (peer, room_nick)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 12:40:00.000000

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # The index by nick had a place for every (user, room, nick): a batch of room lines from many speakers wrote a
    # page of it per row, which nearly doubled the cost of a journal insert. By (room, nick), the rows of one line
    # to all of the room's members lie side by side. user_jid first in the archive index serves what ix_journal_user
    # did.
    op.drop_index('ix_journal_archive_nick', table_name='journal')
    op.drop_index('ix_journal_archive', table_name='journal')
    op.drop_index('ix_journal_user', table_name='journal')
    op.create_index('ix_journal_archive', 'journal', ['user_jid', 'peer', 'transport', 'id'], unique=False)
    op.create_index('ix_journal_archive_nick', 'journal', ['peer', 'room_nick', 'id', 'user_jid'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Which nicks speak in which room: without it PostgreSQL takes a room and a nick as independent, expects a
        # nick that spoke only in other rooms to be found soon walking the user's lines back by id, and walks all
        # of them. (SQLite has no such statistics; gateway.store.archive steers it to the index instead.)
        op.execute("CREATE STATISTICS st_journal_room_nick (mcv, ndistinct) ON peer, room_nick FROM journal")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_journal_room_nick")
    op.drop_index('ix_journal_archive_nick', table_name='journal')
    op.drop_index('ix_journal_archive', table_name='journal')
    op.create_index('ix_journal_user', 'journal', ['user_jid'], unique=False)
    op.create_index('ix_journal_archive', 'journal', ['transport', 'user_jid', 'peer', 'id'], unique=False)
    op.create_index('ix_journal_archive_nick', 'journal', ['transport', 'user_jid', 'peer', 'room_nick', 'id'],
                    unique=False)
