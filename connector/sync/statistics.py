"""The query planner's statistics, refreshed by the run after bulk loads (not left to autovacuum).

Why: PostgreSQL plans with the statistics ``ANALYZE`` last gathered. A table that was never
analyzed (autovacuum off, or not yet come round: it runs on its own schedule, and is often off or
slow on shared servers) is planned from guesses; measured at 100,000 contacts, the planner then
walked a whole CRM's index for each chunk (every index starts with ``crm``): the first full sync
took 2.1 x its rate-limit bound (SQLite: 1.02) and ``load_for_scoring`` 60 s against 7 s on
SQLite. So the run analyzes the tables it grows itself, each on a geometric schedule of its own:
when the rows stored into a table since its last ``ANALYZE`` reach half the rows counted in it then
(at least :data:`MIN_ROWS`), that table is analyzed. A first sync of a million contacts analyzes
each table about a dozen times, each bounded by the sample PostgreSQL reads (30,000 rows per table
by default), not by the table's size; an incremental run that stores a few hundred rows never
does. A store that was never analyzed (e.g. filled by a version before this one) is analyzed once
at the start of the run.

Per table, not for the store as a whole: the first scoring of a bulk-loaded million-contact portal
(10 million activities counted) grew ``written_values`` from nothing to half a million rows before
the store as a whole had grown by half; planned as the empty table its statistics described, each
lookup of 500 contacts' written values scanned the whole table (0.3-3.5 s a query), and the
first scoring ran at a third of SQLite's speed.

SQLite gets the same (``ANALYZE`` with ``PRAGMA analysis_limit``, so it samples too); its planner
needs it less, but one code path serves both.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

__all__ = ["MIN_ROWS", "TABLES", "Statistics"]

log = logging.getLogger(__name__)

#: The tables a run grows in bulk (what the planner must know the size and spread of).
TABLES = ("contacts", "activities", "identities", "scores", "written_values", "outbox", "stage_history", "trigger_firings")
#: Fewest rows stored since the last ``ANALYZE`` that make another worth it.
MIN_ROWS = 10_000
#: Rows stored since the last ``ANALYZE``, as a share of the rows counted then, that make another.
GROWTH = 0.5
#: Rows SQLite's ``ANALYZE`` reads per index (``PRAGMA analysis_limit``): a sample, like PostgreSQL's.
SQLITE_ANALYSIS_LIMIT = 1000


class Statistics:
    """Refreshes the planner's statistics of the state database as a run stores rows.

    Thread-safe: the run's pusher reports the rows it records from its own thread.

    Args:
        engine: the state database.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._counted: dict[str, float] | None = None
        self._since: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._lock = threading.Lock()
        #: ``ANALYZE`` runs and the seconds they took (for the run's log and the benchmarks).
        self.runs = 0
        self.seconds = 0.0

    def start(self) -> None:
        """At a run's start: analyze once if the tables hold rows but were never analyzed."""
        with self.engine.connect() as conn:
            if conn.execute(sa.text("SELECT 1 FROM contacts LIMIT 1")).first() is None:
                return
            never = _never_analyzed(conn, "contacts")
        if never:
            self.analyze()

    def stored(self, rows: int, table: str) -> bool:
        """The run stored (or deleted) ``rows`` more rows of ``table``; analyze it when they add up (see the module). True if it did."""
        with self._lock:
            self._since[table] += rows
            if self._counted is None:
                with self.engine.connect() as conn:
                    self._counted = _counted_rows(conn)
            if self._since[table] < max(MIN_ROWS, GROWTH * self._counted.get(table, 0.0)):
                return False
            self._analyze([table])
            return True

    def analyze(self) -> None:
        """``ANALYZE`` every table of :data:`TABLES` now."""
        with self._lock:
            self._analyze(list(TABLES))

    def _analyze(self, tables: list[str]) -> None:
        started = time.perf_counter()
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            for table in tables:
                conn.exec_driver_sql(f"ANALYZE {table}")
            self._counted = _counted_rows(conn)
        for table in tables:
            self._since[table] = 0
        self.runs += 1
        self.seconds += time.perf_counter() - started
        log.info("state database analyzed (%s; %.0f rows counted) in %.2f s", ", ".join(tables), sum(self._counted.values()), time.perf_counter() - started)


def _counted_rows(conn: sa.Connection) -> dict[str, float]:
    """Rows of each table of :data:`TABLES` as counted by its last ``ANALYZE`` (0 for a table never analyzed)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text("SELECT name, GREATEST(COALESCE(c.reltuples, 0), 0) FROM unnest(CAST(:names AS text[])) AS name LEFT JOIN pg_class c ON c.oid = to_regclass(name)"),
            {"names": list(TABLES)},
        ).all()
        return {name: float(n) for name, n in rows}
    try:
        stats = conn.execute(sa.text("SELECT tbl, MAX(CAST(stat AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl")).all()
    except sa.exc.OperationalError:  # no ANALYZE ever ran: the table of statistics does not exist yet
        return {}
    return {tbl: float(n or 0) for tbl, n in stats if tbl in TABLES}


def _never_analyzed(conn: sa.Connection, table: str) -> bool:
    if conn.dialect.name == "postgresql":
        # reltuples is -1 until the table is first analyzed or vacuumed (PostgreSQL 14+); 0 before
        # that on older servers, which also reads as "never" here (the table holds rows).
        return bool(conn.execute(sa.text("SELECT reltuples <= 0 FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}).scalar_one())
    try:
        return conn.execute(sa.text("SELECT 1 FROM sqlite_stat1 WHERE tbl = :t LIMIT 1"), {"t": table}).first() is None
    except sa.exc.OperationalError:
        return True
