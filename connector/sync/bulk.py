"""Writing many rows at once: the bulk paths of the state database's two drivers.

Why a module of its own: the sync's writes are rows by the thousand (a pulled page, a scored
chunk, a pushed batch), and at a million contacts how they reach the database is most of a
rescore's cost. One entry point per kind of write (:func:`upsert`, :func:`bulk_upsert`,
:func:`bulk_insert`); each value goes through its column type's own bind processor, as
``conn.execute`` would do, but without SQLAlchemy's per-row bookkeeping.

The two databases take different paths, each its driver's fastest:

- **PostgreSQL**: one set-based statement per call, ``INSERT ... SELECT ... FROM unnest(%s, %s,
  ...) ON CONFLICT ...``, each column sent as one array parameter. The server plans and runs one
  statement instead of one per row (``executemany`` sent a bind and execute message per row, and
  the server's per-statement overhead was most of its CPU while a rescore wrote millions of rows).
  PostgreSQL documents ``unnest`` with several arrays as a table function returning one row per
  element (https://www.postgresql.org/docs/current/functions-array.html).
- **SQLite**: the driver's ``executemany`` of one compiled statement: the database lives in this
  process, so there are no round trips to save, and it has no array type.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
import typing as t

import sqlalchemy as sa

from connector.sync.tables import UTCDateTime

__all__ = ["among", "bulk_insert", "bulk_upsert", "upsert"]


def among(conn: sa.Connection, column: sa.ColumnElement[t.Any], values: t.Iterable[str | int]) -> sa.ColumnElement[bool]:
    """``column IN values`` with the values as one parameter, however many: PostgreSQL's ``= ANY(array)``, SQLite's ``json_each``.

    Why not ``column.in_(values)``: SQLAlchemy renders one placeholder per value on every
    execution, and the driver parses the statement again each time (it is too long for psycopg's
    cache): 5.6 ms of CPU a query for 500 ids on PostgreSQL, against 1.1 ms as one array (1.6 against
    1.0 ms on SQLite). The scoring transaction and every pushed batch look up their contacts so.
    SQLite documents ``json_each`` as a table-valued function (https://sqlite.org/json1.html#jeach).
    """
    listed = list(values)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return column == sa.any_(sa.bindparam(None, listed, type_=postgresql.ARRAY(column.type)))
    each: sa.Select[t.Any] = sa.select(sa.column("value")).select_from(sa.func.json_each(sa.bindparam(None, json.dumps(listed), type_=sa.String)))
    return column.in_(each.scalar_subquery())


def _dialect_insert(dialect: str, table: sa.Table) -> t.Any:
    """``INSERT`` with ``ON CONFLICT`` for the two supported databases (their own constructs)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def upsert(
    conn: sa.Connection, table: sa.Table, rows: t.Sequence[t.Mapping[str, t.Any]], keys: t.Sequence[str], update: t.Sequence[str], *, encoded: t.Collection[str] = ()
) -> None:
    """Insert ``rows``, or update the ``update`` columns where the primary key exists (both dialects).

    One compiled statement run with many parameter sets (SQLAlchemy batches them into multi-row
    inserts itself), so a page of 1,000 rows costs one round trip, not one compilation per row.
    All rows must have the same keys.
    """
    if not rows:
        return
    stmt = _dialect_insert(conn.dialect.name, table)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # The column types encode JSON here: ``encoded`` values (bound as is by the bulk writers) are decoded first.
    conn.execute(stmt, [{k: json.loads(v) if k in encoded and v is not None else v for k, v in r.items()} for r in rows] if encoded else list(rows))


def bulk_upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: t.Sequence[t.Mapping[str, t.Any]],
    keys: t.Sequence[str],
    update: t.Sequence[str],
    *,
    encoded: t.Collection[str] = (),
    same: t.Mapping[str, t.Any] | None = None,
    merged: t.Collection[str] = (),
) -> None:
    """:func:`upsert` for large row sets (a scored chunk, a pushed batch): same effect, far less CPU.

    ``encoded``: JSON columns whose values are JSON text already (bound as they are). ``same``:
    columns with one value for every row (the CRM), given once instead of copied into each row.
    ``merged``: ``update`` columns holding JSON objects whose stored members the new value's
    members are added to (replacing those of the same name) instead of the whole value being
    replaced -- ``{**stored, **new}``, by the database, without reading the stored value back;
    a stored value that is not an object counts as ``{}``. Their new values must be objects
    with no ``null`` and no object members: SQLite's ``json_patch`` is RFC 7396's merge patch
    (https://sqlite.org/json1.html#jpatch), which drops a member patched with ``null`` and merges
    object members one level down. All rows must have the same keys. Rows repeating a key act as
    if written one after the other: with ``update`` the last one's columns win, without it the
    first row stays (a ``merged`` column too: the last row's value is merged).
    """
    if not rows:
        return
    if conn.dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover - only the two supported databases take the fast path
        if merged:
            raise NotImplementedError(f"bulk_upsert: merging JSON columns is written for PostgreSQL and SQLite, not {conn.dialect.name}")
        upsert(conn, table, [{**r, **(same or {})} for r in rows], keys, update, encoded=encoded)
        return
    _write_many(conn, table, rows, encoded, (tuple(keys), tuple(update), tuple(merged)), same or {})


def bulk_insert(
    conn: sa.Connection, table: sa.Table, rows: t.Sequence[t.Mapping[str, t.Any]], *, same: t.Mapping[str, t.Any] | None = None, encoded: t.Collection[str] = ()
) -> None:
    """``INSERT`` many rows with the same keys in one go (see :func:`bulk_upsert`; ``same`` and ``encoded`` as there).

    For append-only rows (stage history, new outbox entries): one per contact scored, where
    SQLAlchemy's per-row bookkeeping cost more than the insert itself.
    """
    if not rows:
        return
    if conn.dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover
        conn.execute(sa.insert(table), [{**r, **{k: json.loads(r[k]) for k in encoded}, **(same or {})} for r in rows])
        return
    _write_many(conn, table, rows, encoded, None, same or {})


#: ``(key columns, columns to update, of them those merged as JSON objects)`` of an upsert; ``None``: a plain insert.
Conflict = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None


def _write_many(
    conn: sa.Connection, table: sa.Table, rows: t.Sequence[t.Mapping[str, t.Any]], encoded: t.Collection[str], conflict: Conflict, same: t.Mapping[str, t.Any]
) -> None:
    """Bind every value by its column's processor, column by column, and hand the rows to the driver's bulk path.

    PostgreSQL: one ``unnest`` statement, its arrays in psycopg's binary format (the text format
    quotes each element in Python: ten times the CPU of ``executemany``); SQLite: ``executemany``.
    """
    names = list(rows[0])
    # Column by column, each step a C-level loop (``itemgetter``, ``zip``, ``map`` of the column's
    # processor): a Python expression per value cost more than SQLite's own work on the row.
    getter = operator.itemgetter(*names)
    columns = [list(c) for c in zip(*map(getter, rows), strict=True)] if len(names) > 1 else [list(map(getter, rows))]
    if conflict is not None:
        columns = _one_per_key(names, columns, conflict)
    n = len(columns[0])
    for i, name in enumerate(names):
        process = None if name in encoded else _bind_processor(table.c[name], conn.dialect)
        if process is not None:
            columns[i] = list(map(process, columns[i]))
    for name, value in same.items():
        process = None if name in encoded else _bind_processor(table.c[name], conn.dialect)
        names.append(name)
        columns.append([value if process is None else process(value)] * n)
    if conn.dialect.name == "postgresql" and _arrays_of_one_type(table, names, columns):
        conn.exec_driver_sql(_unnest_sql(table, tuple(names), conflict, conn.dialect), tuple(columns))
        return
    stmt = _dialect_insert(conn.dialect.name, table)
    if conflict is not None:
        keys, update, merged = conflict
        if update:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: _merge(conn.dialect, table, stmt, c) if c in merged else stmt.excluded[c] for c in update})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    compiled = stmt.compile(dialect=conn.dialect, column_keys=names)
    if not compiled.positional:  # psycopg's named parameters (PostgreSQL, a column of mixed types)
        conn.exec_driver_sql(compiled.string, [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)])
        return
    order = list(compiled.positiontup or [])
    if sorted(order) != sorted(names):  # pragma: no cover - a statement with other parameters
        raise AssertionError(f"bulk write to {table.name}: the statement binds {order}, the rows hold {names}")
    position = {n: i for i, n in enumerate(names)}
    conn.exec_driver_sql(compiled.string, list(zip(*(columns[position[n]] for n in order), strict=True)))


def _arrays_of_one_type(table: sa.Table, names: t.Sequence[str], columns: list[list[t.Any]]) -> bool:
    """Whether each column can go as one binary array (psycopg refuses a list mixing types).

    A float column given whole numbers too (``25`` beside ``25.5``) is made all floats here; any
    other mix (rare: a value of an odd type) takes the row-by-row path.
    """
    for i, n in enumerate(names):
        kinds = set(map(type, columns[i])) - {type(None)}
        if len(kinds) <= 1:
            continue
        if isinstance(table.c[n].type, sa.Float) and kinds <= {int, float}:
            columns[i] = [None if v is None else float(v) for v in columns[i]]
            continue
        return False
    return True


def _merge(dialect: sa.Dialect, table: sa.Table, stmt: t.Any, column: str) -> sa.ColumnElement[t.Any]:
    """The stored JSON object with the new one's members added (see ``merged`` in :func:`bulk_upsert`), as the statement's SET value."""
    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer.quote
        return sa.literal_column(_postgresql_merge(quote(table.name), quote(column)))
    stored = table.c[column]
    base = sa.case((sa.func.json_type(stored) == sa.literal_column("'object'"), stored), else_=sa.literal_column("'{}'"))
    return sa.func.json_patch(base, stmt.excluded[column])


def _one_per_key(names: list[str], columns: list[list[t.Any]], conflict: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]) -> list[list[t.Any]]:
    """The columns of the rows a one-at-a-time upsert would leave: per key the last row (updating) or the first (not).

    A set-based ``INSERT ... ON CONFLICT DO UPDATE`` refuses to touch one row twice, and a pulled
    page can hold a record twice (a CRM's paging over data that moves under it). Key columns
    given once for all rows (``same``) are not among ``names``: they cannot tell rows apart.
    """
    keys, update, _ = conflict
    key_columns = [columns[names.index(k)] for k in keys if k in names]
    if not key_columns:
        key_columns = [[()] * len(columns[0])]
    every = list(zip(*key_columns, strict=True))
    if len(set(every)) == len(every):  # the usual case, checked in C
        return columns
    kept: dict[tuple[t.Any, ...], int] = {}
    for i, key in enumerate(every):
        if update or key not in kept:
            kept[key] = i
    at = sorted(kept.values())
    return [[c[i] for i in at] for c in columns]


@functools.lru_cache(maxsize=64)
def _unnest_sql(table: sa.Table, names: tuple[str, ...], conflict: Conflict, dialect: sa.Dialect) -> str:
    """``INSERT INTO table (names) SELECT ... FROM unnest(%s::type[], ...) [ON CONFLICT ...]``: one array per column.

    JSON travels as text (its processor's or the caller's encoding) and is cast per element: the
    server parses each document once, as it does a bound ``%s::JSON``.
    """
    quote = dialect.identifier_preparer.quote
    arrays, selected = [], []
    for n in names:
        column = table.c[n]
        json_column = isinstance(column.type, sa.JSON)
        kind = "TEXT" if json_column else column.type.compile(dialect=dialect)
        arrays.append(f"%b::{kind}[]")
        selected.append(f"{quote(n)}::{column.type.compile(dialect=dialect)}" if json_column else quote(n))
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 - quoted identifiers and placeholders only
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({', '.join(quote(n) for n in names)})"
    )
    if conflict is not None:
        keys, update, merged = conflict
        target = ", ".join(quote(k) for k in keys)
        if update:
            sql += f" ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(
                f"{quote(c)} = {_postgresql_merge(quote(table.name), quote(c))}" if c in merged else f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update
            )
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    return sql


def _postgresql_merge(table: str, column: str) -> str:
    """PostgreSQL: the stored JSON object with the new one's members added (``jsonb`` concatenation: top-level members, the right side's win).

    https://www.postgresql.org/docs/current/functions-json.html (``jsonb || jsonb``).
    """
    stored = f"{table}.{column}::jsonb"
    return f"((CASE WHEN jsonb_typeof({stored}) = 'object' THEN {stored} ELSE '{{}}'::jsonb END) || EXCLUDED.{column}::jsonb)::json"


def _bind_processor(column: sa.Column[t.Any], dialect: sa.Dialect) -> t.Callable[[t.Any], t.Any] | None:
    """The column type's bind processor; for timestamps, one that converts each distinct instant once.

    A page's rows mostly share the same ``now`` (``pulled_at``, ``written_at``, ``as_of``), and a
    rescore's ``changes_at`` take a few thousand distinct values over a million rows; converting a
    datetime for the driver costs several calls each time, looking it up one hash. Made per
    statement: what it remembers goes with it.
    """
    if isinstance(column.type, UTCDateTime) and dialect.name == "sqlite":
        process: t.Callable[[t.Any], t.Any] | None = _sqlite_utc_text
    else:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None or not isinstance(column.type, UTCDateTime):
        return process
    made: dict[t.Any, t.Any] = {}

    def reuse(value: t.Any) -> t.Any:
        out = made.get(value, _UNSET)
        if out is _UNSET:
            out = made[value] = process(value)
        return out

    return reuse


_UNSET = object()


def _sqlite_utc_text(value: dt.datetime | None) -> str | None:
    """A :class:`UTCDateTime` as SQLite stores it: naive UTC text, exactly as SQLAlchemy's SQLite ``DATETIME`` renders it.

    Why not the column's own processor: it is two Python layers (the type decorator's UTC
    conversion, then a ``%``-format of seven fields), about 5 us a value, and a rescore binds
    millions of distinct instants (each score's ``changes_at``). ``isoformat`` with microseconds
    gives the same ``YYYY-MM-DD HH:MM:SS.ffffff`` text in C (tested against the processor).
    """
    if value is None:
        return None
    if value.tzinfo is dt.UTC:  # the usual case: the text less its "+00:00", one call in C
        return value.isoformat(" ", timespec="microseconds")[:-6]
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(" ", timespec="microseconds")
