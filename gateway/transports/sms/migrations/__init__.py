"""The SMS transport's Alembic revisions: a branch of their own, labelled `sms`."""

HEAD = "0008"  # the newest revision: gateway.store.database.declared_heads
# These were revisions of the shared chain before the transports had branches (their identifiers are kept), so
# that a database migrated then is taken over; sms_opt_outs is a table the first of them creates.
SINGLE_CHAIN = ("0002", "0006", "0008"), "sms_opt_outs"
