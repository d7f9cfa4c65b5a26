"""The pager transport's Alembic revisions: a branch of their own, labelled `pager`."""
