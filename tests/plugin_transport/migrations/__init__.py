"""The pager transport's Alembic revisions: a branch of their own, labelled `pager`."""

HEAD = "pager_0001"  # the newest revision: gateway.store.database.declared_heads
