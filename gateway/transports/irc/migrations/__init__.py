"""The IRC transport's Alembic revisions: a branch of their own, labelled `irc`."""

HEAD = "0011"  # the newest revision: gateway.store.database.declared_heads
# These were revisions of the shared chain before the transports had branches (their identifiers are kept), so
# that a database migrated then is taken over; irc_networks is a table the first of them creates.
SINGLE_CHAIN = ("0004", "0009"), "irc_networks"
