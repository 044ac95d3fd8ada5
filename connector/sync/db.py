"""Opening the state database: engine settings per dialect, and schema upgrades at start.

SQLite is the zero-setup default; PostgreSQL is for several instances sharing one store. The same
code runs on both. :func:`open_database` is what every entry point calls: it creates the engine
and brings the schema to the newest Alembic revision, so upgrading the connector never needs a
separate step and never loses state (migrations only ever add or transform).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import typing as t

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

__all__ = ["MIGRATIONS", "WAL_LIMIT", "alembic_config", "bound_wal", "current_revision", "make_engine", "open_database", "upgrade_to"]

log = logging.getLogger(__name__)

MIGRATIONS = pathlib.Path(__file__).resolve().parent / "migrations"

#: How long an SQLite connection waits for another's lock before failing.
_BUSY_MS = 30_000

#: Arbitrary but fixed key of the PostgreSQL advisory lock that serialises schema upgrades.
_UPGRADE_LOCK = 0x5C0E


#: Page cache of each SQLite connection, in KiB (SQLite's default: 2,000). Why larger: a large run's
#: writes (score rows, the outbox, the written values) touch the same tables' pages again and again,
#: and with the default cache each miss is looked up in a write-ahead log of up to :data:`WAL_LIMIT`
#: and read again. Measured on the million-contact daily rescore: 2 MB 241.6 s, 64 MB 223.5 s,
#: 256 MB 220.7 s (and 200 MB more memory in each process), so 64 MB. SQLite takes the pages as
#: they are used: a small store never holds that much.
SQLITE_CACHE_KIB = 64 * 1024


def make_engine(url: str) -> sa.Engine:
    """An engine for the state store.

    SQLite: WAL journal (readers never block the writer), a generous busy timeout so a second
    process waits instead of failing at once, a page cache of :data:`SQLITE_CACHE_KIB`.
    PostgreSQL: pre-ping, so a restarted server is survived by a long-running scheduler.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: t.Any, _record: t.Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


#: Bytes of SQLite write-ahead log after which a commit has it started over (:func:`bound_wal`).
WAL_LIMIT = 1024 * 1024 * 1024


def bound_wal(engine: sa.Engine) -> None:
    """SQLite: once the write-ahead log has passed :data:`WAL_LIMIT`, checkpoint it and have it start over.

    Why: SQLite's automatic checkpoints (every 1,000 pages) copy the log into the database, but the
    log starts over from its beginning only when no reader is using it -- and during a large run
    there always is one (the scoring worker reads while the run writes, the pusher reads the
    outbox). SQLite's documentation calls this checkpoint starvation: the log then grows without
    bound (https://www.sqlite.org/wal.html, "Avoiding Excessively Large WAL Files"). Measured: 1.8
    GB of log after two minutes of an incremental run on a million contacts, and growing. A
    ``TRUNCATE`` checkpoint waits until the readers are done with the log (for a second at most
    here: a reader in a long scan makes it give up until a later commit), copies what is left into
    the database and empties the log file. Called after the run's bulk commits; nothing for
    PostgreSQL or an in-memory database. Why a limit as high as a gigabyte: each such checkpoint
    waits for the disk and for the readers, and at 64 MB they cost the million-contact daily
    rescore 15-25 s; at a gigabyte they are rare and the log's disk use stays bounded.
    """
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return
    try:
        if os.path.getsize(f"{name}-wal") < WAL_LIMIT:
            return
    except OSError:  # no log (yet)
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=1000")
        try:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
            if busy:
                log.debug("sqlite: the write-ahead log could not be emptied yet (a reader is still in it)")
        except sa.exc.OperationalError as exc:  # locked by a long transaction: the next commit tries again
            log.debug("sqlite: checkpoint deferred: %s", exc)
        finally:
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_MS}")


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
