"""The outbox: only real changes go to the CRM, each exactly once, even across crashes.

Staging (:func:`stage_changes`) runs in the scoring transaction: it compares the values a contact
should have with what was last written to the CRM (``written_values``) and keeps one ``pending``
outbox row per contact holding only the fields that differ. A newer scoring replaces that row's
values, so a value that changed and changed back before it was pushed is never written.

Pushing (:mod:`connector.sync.push`) claims pending rows (``sending``), writes them and, for each
batch, marks the written rows done and records the written values (:func:`record_written`) in one
transaction. The rows a run stages while its pusher runs are inserted claimed already
(``claimed=True``): the pusher reads them by run, and marking each one ``sending`` again cost a
row update per contact (683,000 in a daily rescore of a million contacts). A crash between the
CRM's answer and that commit, or before the row was sent, leaves rows ``sending``;
:func:`release_unsent` makes them pending again at the next run's start, and they are sent again
with the same values: setting a property to the value it already has changes nothing, so nothing
is doubled.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import typing as t

import sqlalchemy as sa

from connector.sync.bulk import among, bulk_insert, bulk_upsert
from connector.sync.store import same_value
from connector.sync.tables import outbox, written
from connector.sync.write_policy import WritePolicy, held_back

__all__ = ["ALL_FIELDS", "SENDING", "Prepared", "Staged", "diff_written", "read_written", "record_written", "release", "release_unsent", "requeue", "stage_changes"]

#: Status of rows claimed by a pusher and on their way to the CRM.
SENDING = "sending"

#: ``written_values.field`` of the one row per contact holding every output field the pusher wrote
#: (``{field: value}``). One row per field (16 per contact with the shipped models) made recording a
#: pushed batch the largest CPU cost of the push. Rows naming a single field (written before this
#: row existed, or by trigger actions) are still read; this row wins over them.
ALL_FIELDS = "*"


def read_written(conn: sa.Connection, crm: str, contact_ids: t.Sequence[str]) -> dict[str, dict[str, t.Any]]:
    """Contact id -> field -> the value last written to the CRM (both row shapes merged)."""
    out: dict[str, dict[str, t.Any]] = {}
    combined: dict[str, t.Any] = {}
    # The value as the database's JSON text, decoded here once: SQLAlchemy's JSON type added a
    # layer per value (a second of a million-contact rescore).
    for cid, field, text in conn.execute(
        sa.select(written.c.contact_id, written.c.field, sa.cast(written.c.value, sa.Text)).where(written.c.crm == crm, among(conn, written.c.contact_id, contact_ids))
    ):
        value = None if text is None else json.loads(text)
        if field == ALL_FIELDS:
            combined[cid] = value
        else:
            out.setdefault(cid, {})[field] = value
    for cid, values in combined.items():
        if isinstance(values, dict):
            out.setdefault(cid, {}).update(values)
    return out


def record_written(
    conn: sa.Connection, crm: str, values: t.Mapping[str, t.Mapping[str, t.Any]], now: dt.datetime, *, texts: t.Mapping[str, str] | None = None
) -> None:
    """Record that each contact's ``values`` landed in the CRM (merged into its one ``ALL_FIELDS`` row).

    ``values`` are outbox values as read from the database: plain JSON already; ``texts``: their
    JSON texts as read, where the caller has them (not encoded again). The database
    merges them into the stored row (``merged`` in :func:`connector.sync.bulk.bulk_upsert`):
    reading each row back, merging and encoding it again was the largest part of the push's CPU in
    a daily rescore (11 of 32 s at a million contacts). Values holding a ``null`` or an object,
    which the database's merge would treat otherwise, are merged here.
    """
    if not values:
        return
    keys, update, same = ["crm", "contact_id", "field"], ["value", "written_at"], {"crm": crm, "field": ALL_FIELDS, "written_at": now}
    flat = {cid: new for cid, new in values.items() if not any(v is None or isinstance(v, dict) for v in new.values())}
    if flat:
        given = texts or {}
        rows = [{"contact_id": cid, "value": given.get(cid) or json.dumps(new)} for cid, new in flat.items()]
        bulk_upsert(conn, written, rows, keys, update, encoded={"value"}, merged={"value"}, same=same)
    rest = [cid for cid in values if cid not in flat]
    if not rest:
        return
    current: dict[str, dict[str, t.Any]] = {}
    for cid, value in conn.execute(
        sa.select(written.c.contact_id, written.c.value).where(written.c.crm == crm, written.c.field == ALL_FIELDS, among(conn, written.c.contact_id, rest))
    ):
        if isinstance(value, dict):
            current[cid] = value
    whole = [{"contact_id": cid, "value": {**current.get(cid, {}), **values[cid]}} for cid in rest]
    bulk_upsert(conn, written, whole, keys, update, same=same)


#: contact id -> its changed fields as JSON text (``None``: nothing changed) and as data: see :func:`diff_written`.
Prepared = dict[str, tuple[str | None, dict[str, t.Any]]]


def diff_written(
    conn: sa.Connection,
    crm: str,
    desired: t.Mapping[str, t.Mapping[str, t.Any]],
    *,
    companions: t.Collection[str] = (),
    policy: WritePolicy | None = None,
) -> Prepared:
    """The changes :func:`stage_changes` would stage, for the contacts with no outbox row pending or in flight.

    Why: the full rescore's scoring worker computes them beside its scoring, against the written
    values it reads, and the run's process (which commits and pushes: the slower side) only
    inserts them; reading the written values, comparing and encoding had been a tenth of a
    million-contact rescore's CPU there. The outbox is read first: a contact with no row pending
    or in flight then can get one only from this run's staging of it, so its written values do
    not move until that commit, which checks again (:func:`stage_changes` ``prepared``).
    Contacts left out are staged as before.
    """
    ids = list(desired)
    if not ids:
        return {}
    busy = {cid for _, cid, _, _ in _outstanding(conn, crm, ids)}
    free = [cid for cid in ids if cid not in busy]
    written_now = read_written(conn, crm, free)
    out: Prepared = {}
    for cid in free:
        diff = _diff(desired[cid], written_now.get(cid, {}), companions, policy)
        out[cid] = (json.dumps(diff) if diff else None, diff)
    return out


def _outstanding(conn: sa.Connection, crm: str, ids: t.Sequence[str]) -> list[tuple[int, str, str, t.Any]]:
    """The rows of contacts ``ids`` pending or in flight (``sending``): ``(id, contact, status, values)``, oldest first."""
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.contact_id, outbox.c.status, outbox.c["values"])
        .where(outbox.c.crm == crm, outbox.c.status.in_(("pending", SENDING)), among(conn, outbox.c.contact_id, ids))
        .order_by(outbox.c.id)
    )
    return [(oid, cid, status, values) for oid, cid, status, values in rows]


def _diff(wanted: t.Mapping[str, t.Any], had: t.Mapping[str, t.Any], companions: t.Collection[str], policy: WritePolicy | None) -> dict[str, t.Any]:
    """The fields of ``wanted`` to write, against ``had`` (what the CRM holds or will): what differs, less what the policy holds back; nothing if only companions."""
    diff = {f: v for f, v in wanted.items() if f not in had or not same_value(had[f], v)} if had else dict(wanted)
    if diff and policy:
        for f in held_back(policy, diff, had):
            del diff[f]
    if diff and all(f in companions for f in diff):
        return {}
    return diff


class Staged(t.NamedTuple):
    """What :func:`stage_changes` did."""

    #: Contacts with a change staged.
    changed: int
    #: Of them, those whose row was inserted claimed: contact id -> the row's values as JSON text, and as data.
    claimed: dict[str, tuple[str, dict[str, t.Any]]]


def stage_changes(
    conn: sa.Connection,
    crm: str,
    desired: t.Mapping[str, t.Mapping[str, t.Any]],
    now: dt.datetime,
    run_id: int | None,
    *,
    companions: t.Collection[str] = (),
    policy: WritePolicy | None = None,
    claimed: bool = False,
    prepared: Prepared | None = None,
) -> Staged:
    """Put each contact's changed fields into the outbox.

    Args:
        conn: the scoring transaction.
        crm: the CRM's name.
        desired: contact id -> output field -> value it should have in the CRM, JSON-ready
            (datetimes as ISO text: what :func:`connector.sync.scorers.score_chunk` returns).
        now: the run's clock.
        run_id: the run staging the change.
        companions: fields written only together with a real change (e.g. ``scored_at``: a
            rescoring that changes nothing must not write a new timestamp).
        policy: output -> when a change is worth a write (:mod:`connector.sync.write_policy`);
            what it holds back is not staged and is compared again at the next scoring.
        claimed: insert the new rows ``sending``, claimed for the run's pusher, which reads them
            by ``run_id`` (:class:`connector.sync.push.Pusher`); a row updated in place, and a new
            row behind one in flight, stay pending.
        prepared: the changes of contacts in ``desired`` as :func:`diff_written` found them (the
            same ``companions`` and ``policy``), used for those that still have no row pending
            or in flight; the others are compared here.
    """
    ids = list(desired)
    if not ids:
        return Staged(0, {})
    pending: dict[str, int] = {}
    in_flight: dict[str, dict[str, t.Any]] = {}
    for oid, cid, status, values in _outstanding(conn, crm, ids):
        if status == SENDING:
            in_flight[cid] = {**in_flight.get(cid, {}), **(values or {})}
        else:
            pending[cid] = oid
    ready = {cid: got for cid, got in (prepared or {}).items() if cid in desired and cid not in pending and cid not in in_flight}
    #: What the CRM holds (or will once a row being sent lands), as read: compared field by field.
    held = read_written(conn, crm, [cid for cid in ids if cid not in ready])
    # A row being sent right now (the background pusher) will most likely land: diff against
    # what the CRM holds after it. If it fails, its values are merged into the newer row.
    for cid, values in in_flight.items():
        held[cid] = {**held.get(cid, {}), **values}
    inserts: dict[str, tuple[str, dict[str, t.Any]]] = {}
    waiting: list[dict[str, t.Any]] = []
    changed = 0
    for cid, wanted in desired.items():
        text: str | None = None
        if cid in ready:
            text, diff = ready[cid]
        else:
            diff = _diff(wanted, held.get(cid, {}), companions, policy)
        if cid in pending:
            if diff:
                conn.execute(sa.update(outbox).where(outbox.c.id == pending[cid]).values(values=diff, run_id=run_id, created_at=now))
            else:
                conn.execute(sa.update(outbox).where(outbox.c.id == pending[cid]).values(status="superseded", done_at=now))
        elif diff and claimed and cid not in in_flight:
            inserts[cid] = (text or json.dumps(diff), diff)
        elif diff:  # behind a row in flight, pending: if that row fails, it is folded into this one (requeue)
            waiting.append({"contact_id": cid, "values": diff})
        changed += bool(diff)
    same = {"crm": crm, "attempts": 0, "created_at": now, "run_id": run_id}
    # The claimed rows' JSON made here, once: the pusher may take the values from memory (see Pusher.known).
    bulk_insert(conn, outbox, [{"contact_id": cid, "values": text} for cid, (text, _) in inserts.items()], same={**same, "status": SENDING}, encoded={"values"})
    bulk_insert(conn, outbox, waiting, same={**same, "status": "pending"})
    return Staged(changed, inserts)


def release_unsent(conn: sa.Connection, crm: str, *, run_id: int | None = None) -> int:
    """Rows left ``sending`` go back to ``pending``: a dead run's (at the start of a run), or with ``run_id`` that run's own (its pusher is over).

    Whether they landed is unknown; sending them again is harmless. A contact never has two pending
    rows (see :func:`release`).
    """
    return _release(conn, crm, outbox.c.crm == crm if run_id is None else sa.and_(outbox.c.crm == crm, outbox.c.run_id == run_id))


def release(conn: sa.Connection, crm: str, ids: t.Sequence[int]) -> None:
    """Rows ``ids``, claimed (``sending``) and not sent, pending again as they were, in one statement.

    Why in bulk: a run stages its rows claimed (see the module's docstring), so a crash or a halt
    can leave hundreds of thousands of them; one query and one update each took minutes. A
    contact that also has a pending row, or more than one of ``ids``, keeps one pending row: the
    newest, holding the values of all of them, newer values winning (what :func:`requeue` does
    for one row).
    """
    if ids:
        _release(conn, crm, among(conn, outbox.c.id, ids))


def _release(conn: sa.Connection, crm: str, which: sa.ColumnElement[bool]) -> int:
    """:func:`release` of the ``sending`` rows ``which`` selects; returns how many."""
    mine = conn.execute(sa.select(outbox.c.id, outbox.c.contact_id).where(which, outbox.c.status == SENDING)).all()
    if not mine:
        return 0
    per_contact = collections.Counter(cid for _, cid in mine)
    also_pending = set(
        conn.execute(
            sa.select(outbox.c.contact_id).where(outbox.c.crm == crm, outbox.c.status == "pending", among(conn, outbox.c.contact_id, list(per_contact)))
        ).scalars()
    )
    folded = also_pending | {cid for cid, n in per_contact.items() if n > 1}
    alone = [oid for oid, cid in mine if cid not in folded]
    if alone:
        conn.execute(sa.update(outbox).where(among(conn, outbox.c.id, alone), outbox.c.status == SENDING).values(status="pending"))
    for cid in sorted(folded):
        _fold(conn, crm, cid, [oid for oid, c in mine if c == cid])
    return len(mine)


def _fold(conn: sa.Connection, crm: str, cid: str, released: t.Sequence[int]) -> None:
    """One contact's released rows and pending rows, into its newest: pending, with all their values (newer winning)."""
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c["values"])
        .where(outbox.c.crm == crm, outbox.c.contact_id == cid, sa.or_(outbox.c.status == "pending", outbox.c.id.in_(released)))
        .order_by(outbox.c.id)
    ).all()
    merged: dict[str, t.Any] = {}
    for _, values in rows:
        merged.update(values or {})
    *older, (newest, _) = rows
    conn.execute(sa.update(outbox).where(outbox.c.id == newest).values(status="pending", values=merged))
    if older:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_([oid for oid, _ in older])).values(status="superseded"))


def requeue(conn: sa.Connection, crm: str, oid: int, cid: str, values: t.Any, **changes: t.Any) -> None:
    """A sent row did not land: pending again, or folded into the newer pending row of its contact.

    The newer row was staged assuming this one would land, so it lacks the fields whose new value
    equals this row's; those are added to it (its own values win).
    """
    newer = conn.execute(
        sa.select(outbox.c.id, outbox.c["values"])
        .where(outbox.c.crm == crm, outbox.c.contact_id == cid, outbox.c.status == "pending", outbox.c.id > oid)
        .order_by(outbox.c.id)
    ).first()
    if newer is None:
        conn.execute(sa.update(outbox).where(outbox.c.id == oid).values(status="pending", **changes))
        return
    merged = {**dict(values or {}), **dict(newer[1] or {})}
    conn.execute(sa.update(outbox).where(outbox.c.id == newer[0]).values(values=merged))
    conn.execute(sa.update(outbox).where(outbox.c.id == oid).values(status="superseded", **changes))
