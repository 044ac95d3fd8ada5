"""Opening the state database: engine settings per dialect, and schema upgrades at start.

SQLite is the zero-setup default; PostgreSQL is for several instances sharing one store. The same
code runs on both. :func:`open_database` is what every entry point calls: it creates the engine
and brings the schema to the newest Alembic revision, so upgrading the connector never needs a
separate step and never loses state (migrations only ever add or transform).
"""

from __future__ import annotations

import pathlib
import typing as t

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

__all__ = ["MIGRATIONS", "alembic_config", "current_revision", "make_engine", "open_database", "upgrade_to"]

MIGRATIONS = pathlib.Path(__file__).resolve().parent / "migrations"

#: Arbitrary but fixed key of the PostgreSQL advisory lock that serialises schema upgrades.
_UPGRADE_LOCK = 0x5C0E


def make_engine(url: str) -> sa.Engine:
    """An engine for the state store.

    SQLite: WAL journal (readers never block the writer), a generous busy timeout so a second
    process waits instead of failing at once. PostgreSQL: pre-ping, so a restarted server is
    survived by a long-running scheduler.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: t.Any, _record: t.Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def alembic_config(connection: sa.Connection) -> Config:
    """An Alembic configuration that runs our migrations on ``connection`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_to(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``; concurrent starters on PostgreSQL wait for each other."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK})
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: sa.Engine) -> str | None:
    """The schema revision the database is at (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str) -> sa.Engine:
    """Engine for ``url`` with the schema at the newest revision."""
    engine = make_engine(url)
    upgrade_to(engine)
    return engine
