"""The shared Alembic revisions: users, bindings, contacts, memberships, rosters, the journal."""

HEAD = "0013"  # the newest revision: gateway.store.database.declared_heads
# Until the transports had branches of their own these were one chain with theirs (SINGLE_CHAIN in their
# revisions' packages): gateway.store.database takes over a database migrated then.
SINGLE_CHAIN = ("0001", "0003", "0005", "0007"), "users"
