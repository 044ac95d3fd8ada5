"""Rows read straight from the database driver, chunk by chunk, for the column-wise reads of a large portal.

Why not SQLAlchemy's result rows: building one per row cost more than the query itself at a
million rows. These helpers hand back the driver's plain tuples (a server-side cursor on
PostgreSQL, so ten million rows never sit in the client's memory at once) and turn common column
kinds into numpy arrays in C.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.columns import to_micros

__all__ = ["FETCH", "chunks", "collector_paused", "concat", "fetch_all", "micros", "placeholder"]

#: Rows fetched from the driver at a time (each chunk becomes columns before the next is read).
FETCH = 50_000
_CURSORS = itertools.count()


@contextlib.contextmanager
def collector_paused() -> t.Iterator[None]:
    """Python's cycle collector off while a portal is read (as it was before, after).

    Why: reading a portal allocates tuples by the million (each fetched row), and every few
    hundred allocations the collector runs, now and then over everything alive -- the columns
    and states read so far. At a million contacts and ten million activities that was 39 of the
    read's 96 s of CPU (measured with the collector off: 57 s). What the read builds holds no
    reference cycles, so nothing waits for the collector meanwhile; reference counting still
    frees each chunk as the next one is read.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def fetch_all(conn: sa.Connection, query: sa.Select[t.Any]) -> list[tuple[t.Any, ...]]:
    """Every row of ``query`` as the driver's plain tuples (no result processing: the caller converts).

    One ``fetchall`` on the driver's own cursor: building a SQLAlchemy row per activity cost
    more than the query itself at a million rows.
    """
    return [row for chunk in chunks(conn, query) for row in chunk]


def chunks(conn: sa.Connection, query: sa.Select[t.Any] | str, params: t.Sequence[t.Any] = ()) -> t.Iterator[list[tuple[t.Any, ...]]]:
    """The rows of ``query`` (a statement, or SQL text in the driver's parameter style) in chunks of :data:`FETCH`."""
    if isinstance(query, str):
        sql, args = query, list(params)
    else:
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        bound = compiled.construct_params()
        sql, args = compiled.string, ([bound[k] for k in (compiled.positiontup or [])] if compiled.positional else bound)  # type: ignore[assignment]
    driver = conn.connection.driver_connection
    # PostgreSQL: a server-side cursor, so ten million rows arrive chunk by chunk instead of all at
    # once into the client's memory (psycopg's default cursor holds the whole result).
    cursor = driver.cursor(name=f"columnar_{next(_CURSORS)}") if conn.dialect.name == "postgresql" else driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        while rows := cursor.fetchmany(FETCH):
            yield list(rows)
    finally:
        cursor.close()


def placeholder(conn: sa.Connection) -> str:
    """The driver's parameter marker (SQL text handed to :func:`chunks`)."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def concat(parts: list[np.ndarray], dtype: np.dtype[t.Any] | type) -> np.ndarray:
    """The chunks' columns as one (an empty column of ``dtype`` when there were none)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def micros(values: t.Sequence[t.Any]) -> np.ndarray:
    """Instants as microseconds: integers from the server, or SQLite's UTC text parsed by numpy in C."""
    if values and type(values[0]) is int:
        return np.array(values, dtype=np.int64)
    try:
        return np.array(values, dtype="datetime64[us]").astype(np.int64)
    except ValueError:  # not ISO text numpy reads: parse each (aware datetimes from an old PostgreSQL, odd text)
        return np.fromiter((to_micros(v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v)) for v in values), dtype=np.int64, count=len(values))
