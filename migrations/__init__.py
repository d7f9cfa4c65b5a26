"""Alembic environment and revisions, shipped as gateway.migrations."""
