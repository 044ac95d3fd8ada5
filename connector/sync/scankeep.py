"""The full rescore's activity scan, kept between runs on SQLite: each run reads only the rows added since.

Why: the daily full rescore of a large portal read the whole activity table every day -- ten
million rows through the driver at a million contacts, 24 s of the run's CPU (about a fifth of
the rescore) -- although activity is only ever added, a day's worth at a time. Here the scan's
columns (:class:`~connector.sync.activityscan.ActivityScan` of the types the models read) are
kept in the ``activity_scans`` table, and a run reads them back with the rows whose rowid is past
the last one they cover. Models that read other types (an edit adding a rule on a new type) read
the table whole once, and that scan is kept instead.

Why it stays exact:

- SQLite gives a new row a rowid above every rowid in the table (nothing here sets rowids), and a
  table scan reads rows in rowid order: the kept columns plus the newer rows are the scan a run
  would read, row for row, codes included (:class:`~connector.sync.activityscan.ScanBuilder` goes on
  from the kept lists).
- Activity rows change or go only through an ``UPDATE`` (a merge moves history to the surviving
  contact) or a ``DELETE`` (a contact forgotten). SQLite triggers (migration 0015) raise the
  CRM's ``epoch`` and drop its kept columns in the same statement, whoever runs it -- this code,
  a later version of it, or an administrator at the ``sqlite3`` prompt. A scan is kept only if the
  epoch it read before scanning is still the epoch when it is written.
- The kept columns remember the table's last row when they were read (its rowid, CRM and id).
  Before they are used, that rowid must still hold that row: a ``VACUUM`` or a restore that
  renumbered rowids after rows went (any CRM's) moves it, and the table is read whole again.

Kept columns are written again only when the rows read after them are
:data:`KEEP_AGAIN` of them or more (an hourly incremental run does not rewrite hundreds of
megabytes for a few new rows), and only on SQLite. On PostgreSQL the table is scanned every
time: concurrent writers commit rows in another order than the one a sequence gives them, so
"the rows past the last one read" has no safe meaning there without a change log. Kept columns
that do not read back consistently (damaged, or from a version with another layout) are ignored
and the table is read whole again.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import logging
import sqlite3
import typing as t

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connector.scoring.model import ScoringModel
from connector.sync.activityscan import ActivityScan, ScanBuilder, activity_sql, read_types, scan_activities
from connector.sync.driverread import collector_paused
from connector.sync.tables import activity_scans

__all__ = ["KEEP_AGAIN", "TRIGGERS", "Kept", "kept_scan", "read_kept"]

log = logging.getLogger(__name__)

#: Rows read after the kept columns, as a share of those they cover, from which the columns are written again.
KEEP_AGAIN = 0.05
#: The triggers of migration 0015 that drop kept columns (a scan is kept only where both exist).
TRIGGERS = ("activity_scans_drop_on_update", "activity_scans_drop_on_delete")
_LAYOUT = {"contact": "<i4", "type": "<i4", "occurred": "<i8", "text": "<i4"}
#: Bytes of a column written at a time.
_PIECE = 1 << 23


@dc.dataclass(frozen=True)
class Kept:
    """Kept columns read back: the scan of every contact-owned row of the CRM up to rowid ``upto``."""

    epoch: int
    upto: int
    scan: ActivityScan


def kept_scan(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel], now: dt.datetime) -> ActivityScan:
    """:func:`connector.sync.activityscan.scan_activities`, read from the kept columns and the rows added since where the database allows.

    Raises:
        ValueError: a model has a predictive dimension (as :func:`~connector.sync.activityscan.scan_activities`).
    """
    types = read_types(models)
    if not types or engine.dialect.name != "sqlite" or not _triggers_in_place(engine):
        return scan_activities(engine, crm, models)
    with collector_paused(), engine.connect() as conn:  # millions of tuples read: see collector_paused
        epoch, kept = read_kept(conn, crm, types)
        top, top_crm, top_id = conn.execute(sa.text("SELECT rowid, crm, id FROM activities ORDER BY rowid DESC LIMIT 1")).first() or (0, None, None)
        builder = ScanBuilder(kept.scan if kept is not None else None)
        added = builder.add(conn, activity_sql(conn, len(types), rowids=True), [crm, kept.upto if kept is not None else 0, top, *types])
    scan = builder.done()
    del builder
    covered = len(kept.scan.contact) if kept is not None else 0
    if kept is None or added >= KEEP_AGAIN * max(covered, 1):
        _keep(engine, crm, epoch, (top, top_crm, top_id), types, scan, now)
    log.info("crm %s: activity scan: %d rows kept from an earlier run, %d read", crm, covered, added)
    return scan


def read_kept(conn: sa.Connection, crm: str, types: t.Sequence[str]) -> tuple[int, Kept | None]:
    """The CRM's epoch, and its kept columns if they are there, of ``types``, read back whole, and the table's rowids have not moved under them."""
    c = activity_scans.c
    head = conn.execute(sa.select(c.epoch, c.upto, c.upto_crm, c.upto_id, c.types).where(c.crm == crm)).first()
    if head is None:
        return 0, None
    epoch = int(head.epoch)
    if head.upto is None or head.types != _types_text(types):
        return epoch, None
    if not _rowids_in_place(conn, head.upto, head.upto_crm, head.upto_id):
        log.info("crm %s: the activity table's rowids moved under its kept scan (a VACUUM, a restore): it is read whole", crm)
        return epoch, None
    # The columns in a statement of their own (a trigger dropping them meanwhile leaves NULLs: not read back).
    row = conn.execute(sa.select(activity_scans).where(c.crm == crm, c.epoch == epoch)).mappings().first()
    try:
        if row is None:
            raise ValueError("dropped while being read")
        scan = _decode(row)
    except (ValueError, TypeError) as exc:
        log.warning("crm %s: the kept activity scan does not read back (%s): the activity table is read whole", crm, exc)
        return epoch, None
    return epoch, Kept(epoch, int(head.upto), scan)


def _rowids_in_place(conn: sa.Connection, upto: int, upto_crm: str | None, upto_id: str | None) -> bool:
    """Whether rowid ``upto`` still holds the row it held when kept columns were read up to it (none: an empty table then)."""
    if not upto:
        return True
    at = conn.execute(sa.text("SELECT crm, id FROM activities WHERE rowid = :upto"), {"upto": upto}).first()
    return at is not None and tuple(at) == (upto_crm, upto_id)


def _types_text(types: t.Sequence[str]) -> str:
    """The activity types a scan was read for, as kept beside it (compared as text)."""
    return json.dumps(list(types))


def _triggers_in_place(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        found = set(conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'activities'")).scalars())
    return found >= set(TRIGGERS)


def _keep(engine: sa.Engine, crm: str, epoch: int, upto: tuple[int, str | None, str | None], types: t.Sequence[str], scan: ActivityScan, now: dt.datetime) -> None:
    """Write ``scan`` as the CRM's kept columns, unless its epoch moved since ``epoch`` was read (the scan may then be stale).

    ``upto``: the table's last row when the scan was read (rowid, CRM, id), which it covers.
    """
    arrays = {name: np.ascontiguousarray(getattr(scan, name), dtype=dtype) for name, dtype in _LAYOUT.items()}
    values: dict[str, t.Any] = {
        "upto": upto[0],
        "upto_crm": upto[1],
        "upto_id": upto[2],
        "types": _types_text(types),
        "contact_ids": json.dumps(scan.contact_ids),
        "kinds": json.dumps(scan.kinds),
        "texts": json.dumps(scan.texts),
        # Room for each column, written below piece by piece: bound as one value, SQLite copied each
        # whole (200 MB at a million contacts) and built the row in memory besides.
        **{name: sa.func.zeroblob(array.nbytes) for name, array in arrays.items()},
        "kept_at": now,
    }
    statement = sqlite_insert(activity_scans).values(crm=crm, epoch=epoch, **values)
    statement = statement.on_conflict_do_update(index_elements=["crm"], set_=values, where=activity_scans.c.epoch == epoch)
    with engine.begin() as conn:
        if not conn.execute(statement).rowcount:  # the epoch moved: not kept
            return
        rowid = conn.execute(sa.text("SELECT rowid FROM activity_scans WHERE crm = :crm"), {"crm": crm}).scalar_one()
        driver = t.cast(sqlite3.Connection, conn.connection.driver_connection)
        for name, array in arrays.items():
            data = memoryview(array.data).cast("B")
            with driver.blobopen("activity_scans", name, rowid) as blob:
                for k in range(0, len(data), _PIECE):
                    blob.write(data[k : k + _PIECE])


def _decode(row: sa.RowMapping) -> ActivityScan:
    """Kept columns as a scan; ``ValueError`` when they do not fit together."""
    arrays = {name: np.frombuffer(row[name], dtype=dtype) for name, dtype in _LAYOUT.items()}
    lists = {name: json.loads(row[name]) for name in ("contact_ids", "kinds", "texts")}
    n = len(arrays["contact"])
    if any(len(a) != n for a in arrays.values()):
        raise ValueError("columns of different lengths")
    for name, codes in (("contact_ids", arrays["contact"]), ("kinds", arrays["type"]), ("texts", arrays["text"])):
        if not isinstance(lists[name], list) or (n and (codes.min() < 0 or codes.max() >= len(lists[name]))):
            raise ValueError(f"codes outside {name}")
    return ActivityScan(
        contact=arrays["contact"].astype(np.int32, copy=False), type=arrays["type"].astype(np.int32, copy=False),
        occurred=arrays["occurred"].astype(np.int64, copy=False), text=arrays["text"].astype(np.int32, copy=False),
        contact_ids=lists["contact_ids"], kinds=lists["kinds"], texts=lists["texts"],
    )  # fmt: skip
