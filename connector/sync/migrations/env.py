"""Alembic environment: runs on the connection handed in by :func:`connector.sync.db.upgrade_to`."""

from __future__ import annotations

from alembic import context

from connector.sync.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running the alembic CLI by hand
    raise RuntimeError("run migrations through connector.sync.db.upgrade_to (the connector does this at start)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
