"""The activity table of a CRM as integer columns, for the column-wise full rescore.

Why apart from the rest of the portal's read (:mod:`connector.sync.columnar`): it is most of it
(ten million rows through Python at a million contacts) and needs nothing the rest reads, so the
run's process reads it (or its kept copy, :mod:`connector.sync.scankeep`) while the scoring worker
reads the contacts and their scores, and hands it over
(:meth:`connector.sync.score_worker.ScoringWorker.start_rescore`). Each driver chunk becomes integer columns at once:
contact, type and attribute text coded by first appearance, instants parsed by numpy in C
(SQLite's text) or computed by the server (PostgreSQL 14+). The scan is sequential (``NOT
INDEXED`` on SQLite: following the contact index costs a random table read per row, three times
the scan).
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.model import ScoringModel
from connector.sync.driverread import chunks, collector_paused, concat, micros, placeholder

__all__ = ["ActivityScan", "ScanBuilder", "activity_sql", "activity_types", "read_activity", "read_types", "scan_activities"]


@dc.dataclass
class ActivityScan:
    """The activity table's scan as integer codes, before any contact row is known (plain arrays: cheap to send to another process)."""

    #: per activity row: code into :attr:`contact_ids`, code into :attr:`kinds`, microseconds, code into :attr:`texts`
    contact: np.ndarray
    type: np.ndarray
    occurred: np.ndarray
    text: np.ndarray
    #: distinct owner ids, activity types and attribute JSON texts, by code
    contact_ids: list[str]
    kinds: list[str]
    texts: list[str | None]


def scan_activities(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel]) -> ActivityScan:
    """The contact-owned activity of the types ``models`` read, as codes (one table scan).

    Raises:
        ValueError: a model has a predictive dimension (predictors read whole records).
    """
    with collector_paused(), engine.connect() as conn:
        return read_activity(conn, crm, read_types(models))


def read_types(models: t.Sequence[ScoringModel]) -> list[str]:
    """:func:`activity_types`, sorted; a predictive dimension (which may read any) cannot be read column-wise."""
    types = activity_types(models)
    if types is None:
        raise ValueError("a model has a predictive dimension: its predictor reads whole contacts")
    return sorted(types)


def activity_types(models: t.Sequence[ScoringModel]) -> set[str] | None:
    """The activity types any model reads (``None``: all, when a predictive dimension may read any)."""
    out: set[str] = set()
    for m in models:
        if any(d.predictive is not None for d in m.dimensions.values()):
            return None
        out.update(k for r in m.rules if r.activity is not None for k in r.activity.types)
        out.update(k for s in (m.stages.order if m.stages else []) for k in s.activities)
    return out


def read_activity(conn: sa.Connection, crm: str, types: list[str]) -> ActivityScan:
    """:func:`scan_activities` of ``types`` on an open connection: each driver chunk turned into integer columns at once."""
    builder = ScanBuilder()
    if types:
        builder.add(conn, activity_sql(conn, len(types)), [crm, *types])
    return builder.done()


class ScanBuilder:
    """An :class:`ActivityScan` built chunk by chunk, possibly on top of an earlier one (codes go on from its lists)."""

    def __init__(self, base: ActivityScan | None = None) -> None:
        self._owners: dict[str, int] = {k: i for i, k in enumerate(base.contact_ids)} if base is not None else {}
        self._kinds: dict[str, int] = {k: i for i, k in enumerate(base.kinds)} if base is not None else {}
        self._texts: dict[str | None, int] = {k: i for i, k in enumerate(base.texts)} if base is not None else {}
        self._parts: dict[str, list[np.ndarray]] = {"contact": [], "type": [], "occurred": [], "text": []}
        if base is not None:
            for name in self._parts:
                self._parts[name].append(getattr(base, name))

    def add(self, conn: sa.Connection, sql: str, params: t.Sequence[t.Any]) -> int:
        """Append the rows of ``sql`` (``contact_id, type, instant, attributes``); returns how many."""
        owners, kinds, texts, parts = self._owners, self._kinds, self._texts, self._parts
        added = 0
        for chunk in chunks(conn, sql, params):
            cids, kind, when, attribute_texts = zip(*chunk, strict=True)
            parts["contact"].append(np.fromiter((owners.setdefault(x, len(owners)) for x in cids), dtype=np.int32, count=len(chunk)))
            parts["type"].append(np.fromiter((kinds.setdefault(x, len(kinds)) for x in kind), dtype=np.int32, count=len(chunk)))
            parts["occurred"].append(micros(when))
            setdefault = texts.setdefault
            parts["text"].append(np.fromiter((setdefault(x, len(texts)) for x in attribute_texts), dtype=np.int32, count=len(chunk)))
            added += len(chunk)
        return added

    def done(self) -> ActivityScan:
        """The scan so far; the builder lets its parts go (call once).

        A single part (a kept scan and no row after it) is the column itself, not a copy: a
        million contacts' activity is 200 MB a copy.
        """
        parts, self._parts = self._parts, {}
        whole = {name: pieces[0] if len(pieces) == 1 else concat(pieces, np.int64 if name == "occurred" else np.int32) for name, pieces in parts.items()}
        del parts
        return ActivityScan(
            contact=whole["contact"], type=whole["type"], occurred=whole["occurred"], text=whole["text"],
            contact_ids=list(self._owners), kinds=list(self._kinds), texts=list(self._texts),
        )  # fmt: skip


def activity_sql(conn: sa.Connection, types: int | None, owners: int = 0, rowids: bool = False) -> str:
    """Contact-owned activity of ``types`` types (``None``: of any type): ``contact_id, type, instant, attributes`` (a table scan).

    With ``owners``: also ``id`` (second), for that many contact ids, by the contact index.
    With ``rowids`` (SQLite): only rows whose rowid is in ``(after, upto]``, by the table's own key.
    Instants: SQLite's UTC text; PostgreSQL's integer microseconds, exact from PostgreSQL 14 on
    (no datetime per row). Parameters: the CRM, the rowid bounds, the owners, the types.
    """
    p = placeholder(conn)
    sqlite = conn.dialect.name == "sqlite"
    exact = (conn.dialect.server_version_info or (0,)) >= (14,)
    instant = "occurred_at" if sqlite or not exact else "(extract(epoch from occurred_at) * 1000000)::bigint"
    columns = f"contact_id,{' id,' if owners else ''} type, {instant}, attributes{'' if sqlite else '::text'}"
    scan = " NOT INDEXED" if sqlite and not owners else ""
    among = f" AND contact_id IN ({', '.join([p] * owners)})" if owners else ""
    bounds = f" AND rowid > {p} AND rowid <= {p}" if rowids else ""
    kinds = f" AND type IN ({', '.join([p] * types)})" if types is not None else ""
    return f"SELECT {columns} FROM activities{scan} WHERE crm = {p}{bounds}{among} AND contact_id IS NOT NULL{kinds}"  # noqa: S608 - placeholders and fixed expressions only
