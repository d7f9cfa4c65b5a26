"""Alembic environment: run on a connection that gateway.store.database hands over (async engines)."""

from alembic import context

from gateway.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `xmpp-gateway db upgrade`, which supplies the database connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
