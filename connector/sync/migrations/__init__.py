"""Alembic migrations of the state store (run programmatically by ``connector.sync.db``)."""
