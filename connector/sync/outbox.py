"""The outbox: only real changes go to the CRM, each exactly once, even across crashes.

Staging (:func:`stage_changes`) runs in the scoring transaction: it compares the values a contact
should have with what was last written to the CRM (``written_values``) and keeps one ``pending``
outbox row per contact holding only the fields that differ. A newer scoring replaces that row's
values, so a value that changed and changed back before it was pushed is never written.

Pushing (:func:`push_pending`) sends pending rows in the largest batches the adapter allows and,
for each batch, marks the written rows done and records the written values in one transaction. A
crash between the CRM's answer and that commit re-sends the same values next run: setting a
property to the value it already has changes nothing, so nothing is doubled.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import logging
import threading
import typing as t

import sqlalchemy as sa

from connector.adapters.base import CRMAdapter, CRMError, FieldUpdate, PushResult
from connector.sync import tables as T
from connector.sync.store import Store, bulk_insert, bulk_upsert, dumps, jsonable

__all__ = [
    "ALL_FIELDS",
    "SENDING",
    "BackgroundPusher",
    "OutboxPusher",
    "PushCounts",
    "pending_count",
    "push_pending",
    "read_written",
    "record_written",
    "release_unsent",
    "stage_changes",
]

log = logging.getLogger(__name__)

outbox = T.OutboxRow.__table__  # type: ignore[attr-defined]
written = T.WrittenRow.__table__  # type: ignore[attr-defined]

_MISSING = object()

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
    ids = list(contact_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        for cid, field, value in conn.execute(
            sa.select(written.c.contact_id, written.c.field, written.c.value).where(written.c.crm == crm, written.c.contact_id.in_(part))
        ):
            if field == ALL_FIELDS:
                combined[cid] = value
            else:
                out.setdefault(cid, {})[field] = value
    for cid, values in combined.items():
        if isinstance(values, dict):
            out.setdefault(cid, {}).update(values)
    return out


def record_written(conn: sa.Connection, crm: str, values: t.Mapping[str, t.Mapping[str, t.Any]], now: dt.datetime) -> None:
    """Record that each contact's ``values`` landed in the CRM (merged into its one ``ALL_FIELDS`` row)."""
    if not values:
        return
    current: dict[str, dict[str, t.Any]] = {}
    ids = list(values)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        for cid, value in conn.execute(
            sa.select(written.c.contact_id, written.c.value).where(written.c.crm == crm, written.c.field == ALL_FIELDS, written.c.contact_id.in_(part))
        ):
            if isinstance(value, dict):
                current[cid] = value
    rows = [
        {"crm": crm, "contact_id": cid, "field": ALL_FIELDS, "value": {**current.get(cid, {}), **jsonable(dict(new))}, "written_at": now}
        for cid, new in values.items()
    ]
    bulk_upsert(conn, written, rows, ["crm", "contact_id", "field"], ["value", "written_at"])


def stage_changes(
    conn: sa.Connection,
    crm: str,
    desired: t.Mapping[str, t.Mapping[str, t.Any]],
    now: dt.datetime,
    run_id: int | None,
    *,
    companions: t.Collection[str] = (),
) -> int:
    """Put each contact's changed fields into the outbox; return how many contacts changed.

    Args:
        conn: the scoring transaction.
        crm: the CRM's name.
        desired: contact id -> output field -> value it should have in the CRM.
        now: the run's clock.
        run_id: the run staging the change.
        companions: fields written only together with a real change (e.g. ``scored_at``: a
            rescoring that changes nothing must not write a new timestamp).
    """
    ids = list(desired)
    if not ids:
        return 0
    held: dict[str, dict[str, t.Hashable]] = {cid: {} for cid in ids}
    for cid, values in read_written(conn, crm, ids).items():
        if cid in held:
            held[cid] = {f: dumps(v) for f, v in values.items()}
    pending: dict[str, int] = {}
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        # A row being sent right now (the background pusher) will most likely land: diff against
        # what the CRM holds after it. If it fails, its values are merged into the newer row.
        for oid, cid, status, values in conn.execute(
            sa.select(outbox.c.id, outbox.c.contact_id, outbox.c.status, outbox.c["values"])
            .where(outbox.c.crm == crm, outbox.c.status.in_(("pending", SENDING)), outbox.c.contact_id.in_(part))
            .order_by(outbox.c.id)
        ):
            if status == SENDING:
                held[cid].update({f: dumps(v) for f, v in (values or {}).items()})
            else:
                pending[cid] = oid
    inserts: list[dict[str, t.Any]] = []
    changed = 0
    for cid, wanted in desired.items():
        diff = {f: jsonable(v) for f, v in wanted.items() if held[cid].get(f, _MISSING) != dumps(v)}
        if diff and all(f in companions for f in diff):
            diff = {}
        if cid in pending:
            if diff:
                conn.execute(sa.update(outbox).where(outbox.c.id == pending[cid]).values(values=diff, run_id=run_id, created_at=now))
            else:
                conn.execute(sa.update(outbox).where(outbox.c.id == pending[cid]).values(status="superseded", done_at=now))
        elif diff:
            inserts.append({"crm": crm, "contact_id": cid, "values": diff, "status": "pending", "attempts": 0, "created_at": now, "run_id": run_id})
        changed += bool(diff)
    bulk_insert(conn, outbox, inserts)
    return changed


def pending_count(engine: sa.Engine, crm: str) -> int:
    """How many contacts wait to be written to ``crm``."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.crm == crm, outbox.c.status.in_(("pending", SENDING)))).scalar_one())


@dc.dataclass
class PushCounts:
    """What one push stage did."""

    written: int = 0
    failed: int = 0
    quarantined: int = 0
    batches: int = 0
    error: str | None = None


class OutboxPusher:
    """Writes pending outbox rows in batches of ``min(batch_size, adapter.max_batch_size)``.

    Rows that fail retryably stay pending for the next run (after ``max_attempts`` they are
    quarantined); rows the CRM refuses for good are quarantined with its reason. A CRM that fails a
    whole batch (after the adapter's own retries), or refuses every record of a batch for one
    reason (a setup problem), halts the pusher for this run: the rest waits for the next run.
    Within a run each row is tried at most once (the pusher only moves forward through the ids).

    Args:
        store: the CRM's state.
        adapter: the CRM.
        batch_size: largest batch wanted (capped by the adapter's).
        max_attempts: runs a retryable failure is retried before it is quarantined.
        clock: current UTC time.
        run_id: the run, for quarantine entries.
        before_batch: called before each batch (renews the lease; raises when it was lost).
        on_batch: told how many rows each batch carried.
        stop: when set, no new batch starts.
    """

    def __init__(
        self,
        store: Store,
        adapter: CRMAdapter,
        *,
        batch_size: int,
        max_attempts: int,
        clock: t.Callable[[], dt.datetime],
        run_id: int | None,
        before_batch: t.Callable[[], None] = lambda: None,
        on_batch: t.Callable[[int], None] = lambda n: None,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.size = max(1, min(batch_size, int(getattr(adapter, "max_batch_size", batch_size) or batch_size)))
        self.max_attempts = max_attempts
        self.clock = clock
        self.run_id = run_id
        self.before_batch = before_batch
        self.on_batch = on_batch
        self.stop = stop
        self.counts = PushCounts()
        self.last_id = 0
        self._paused = threading.Event()

    @property
    def halted(self) -> bool:
        """True once the CRM failed in a way that ends pushing for this run."""
        return self.counts.error is not None

    def pause(self) -> None:
        """Make :meth:`push` return after the batch in flight (until :meth:`resume`): another pusher takes over."""
        self._paused.set()

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        self._paused.clear()

    def push(self, *, only_full: bool = False) -> None:
        """Push pending rows not yet tried in this run; with ``only_full``, only complete batches."""
        crm = self.store.crm
        while not self.halted and (self.stop is None or not self.stop.is_set()) and not self._paused.is_set():
            with self.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(outbox.c.id, outbox.c.contact_id, outbox.c["values"], outbox.c.attempts)
                    .where(outbox.c.crm == crm, outbox.c.status == "pending", outbox.c.id > self.last_id)
                    .order_by(outbox.c.id)
                    .limit(self.size)
                ).all()
            if not rows or (only_full and len(rows) < self.size):
                return
            self.last_id = rows[-1][0]
            self.before_batch()
            rows = self._claim(rows)
            if rows:
                self._push_batch(rows)
                self.on_batch(len(rows))

    def _claim(self, rows: t.Sequence[t.Any]) -> list[t.Any]:
        """Mark rows ``sending`` (so scoring no longer edits them in place) and re-read their values."""
        ids = [r[0] for r in rows]
        with self.store.transaction() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids), outbox.c.status == "pending").values(status=SENDING))
            return list(
                conn.execute(
                    sa.select(outbox.c.id, outbox.c.contact_id, outbox.c["values"], outbox.c.attempts)
                    .where(outbox.c.id.in_(ids), outbox.c.status == SENDING)
                    .order_by(outbox.c.id)
                ).all()
            )

    def _push_batch(self, rows: t.Sequence[t.Any]) -> None:
        store, counts, crm = self.store, self.counts, self.store.crm
        updates = [FieldUpdate(contact_id=cid, values=dict(values or {})) for _, cid, values, _ in rows]
        try:
            try:
                result = self.adapter.push(updates)
            except CRMError as exc:
                if not (_is_record_problem(exc) and len(updates) > 1):
                    raise
                # The CRM refused the whole batch over its content: push one by one to find the culprit.
                result = _push_one_by_one(self.adapter, updates)
        except CRMError as exc:
            _record_batch_failure(store, rows, str(exc), counts=counts)
            counts.error = f"writing to the CRM failed: {exc}"
            log.warning("crm %s: push stopped, %s; the pending writes wait for the next run", crm, exc)
            return
        counts.batches += 1
        now = self.clock()
        systematic = _same_refusal_for_all(rows, result)
        if systematic is not None and not _exhausted(rows, self.max_attempts):
            # Every record refused for the same reason: a setup problem (a missing property, a
            # wrong mapping), not bad records. Keep them pending instead of quarantining thousands.
            _record_batch_failure(store, rows, systematic, counts=counts)
            counts.error = (
                f"the CRM refused every record of a batch for the same reason: {systematic} -- "
                "check the mapping and run `connector setup`; the writes wait for the next run"
            )
            log.warning("crm %s: push stopped: %s", crm, counts.error)
            return
        done_ids: list[int] = []
        written_values: dict[str, t.Any] = {}
        landed = set(result.written)
        by_contact = {cid: (oid, values, attempts) for oid, cid, values, attempts in rows}
        for cid in landed:
            if cid not in by_contact:
                continue
            oid, values, _ = by_contact[cid]
            done_ids.append(oid)
            if values:
                written_values[cid] = values
        with store.transaction() as conn:
            if done_ids:
                # Only rows still ``sending``: a row a newer run released (its sender was presumed
                # dead) is pending again and may hold newer values; it is simply sent once more.
                conn.execute(sa.update(outbox).where(outbox.c.id.in_(done_ids), outbox.c.status == SENDING).values(status="done", done_at=now))
            record_written(conn, crm, written_values, now)
            for cid, (oid, values, attempts) in by_contact.items():
                if cid in landed:
                    continue
                reason, retryable = result.failed.get(cid, ("the CRM did not confirm this write", True))
                _fail_row(conn, store, oid, cid, values, attempts, reason, retryable, now, self.run_id, self.max_attempts, counts)
        counts.written += len(done_ids)


class BackgroundPusher:
    """Pushes complete batches on a worker thread while the main thread goes on scoring.

    Scoring is CPU work and pushing mostly waits for the rate limiter and the CRM, so doing both at
    once makes a large run take about the longer of the two instead of their sum. The worker only
    reads rows created after it started (the pusher moves forward through the ids), and each contact
    is scored once per run, so the scorer never changes a row the worker is writing.
    """

    def __init__(self, pusher: OutboxPusher) -> None:
        self.pusher = pusher
        self._wake = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"push-{pusher.store.crm}", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """New outbox rows were committed."""
        self._wake.set()

    def _loop(self) -> None:
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._done.is_set():
                    return
                self.pusher.push(only_full=True)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread in finish()
            self._error = exc

    def finish(self) -> None:
        """Stop the worker after its batch in flight; re-raise what it failed with (e.g. a lost lease)."""
        self._done.set()
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise self._error


def push_pending(store: Store, adapter: CRMAdapter, **options: t.Any) -> PushCounts:
    """Push every pending row once (see :class:`OutboxPusher` for the options)."""
    pusher = OutboxPusher(store, adapter, **options)
    pusher.push()
    return pusher.counts


def release_unsent(conn: sa.Connection, crm: str) -> int:
    """Rows a dead run left ``sending`` go back to ``pending`` (called at the start of a run).

    Whether they landed is unknown; sending them again is harmless. A newer pending row of the same
    contact absorbs them, so a contact never has two pending rows.
    """
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.contact_id, outbox.c["values"]).where(outbox.c.crm == crm, outbox.c.status == SENDING).order_by(outbox.c.id)
    ).all()
    for oid, cid, values in rows:
        _back_to_pending(conn, crm, oid, cid, values)
    return len(rows)


def _back_to_pending(conn: sa.Connection, crm: str, oid: int, cid: str, values: t.Any, **changes: t.Any) -> None:
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


def _fail_row(
    conn: sa.Connection,
    store: Store,
    oid: int,
    cid: str,
    values: t.Any,
    attempts: int,
    reason: str,
    retryable: bool,
    now: dt.datetime,
    run_id: int | None,
    max_attempts: int,
    counts: PushCounts,
) -> None:
    attempts += 1
    if retryable and attempts < max_attempts:
        _back_to_pending(conn, store.crm, oid, cid, values, attempts=attempts, last_error=reason[:2000])
        counts.failed += 1
        return
    why = reason if not retryable else f"{reason} (gave up after {attempts} attempts)"
    conn.execute(sa.update(outbox).where(outbox.c.id == oid).values(status="quarantined", attempts=attempts, last_error=why[:2000], done_at=now))
    store.add_quarantine("outbox", cid, why, {"outbox_id": oid, "values": values}, now, run_id, conn=conn)
    counts.quarantined += 1


def _same_refusal_for_all(rows: t.Sequence[t.Any], result: PushResult) -> str | None:
    """The one non-retryable reason the CRM gave for every record of a batch (of 2 or more)."""
    if len(rows) < 2 or result.written:
        return None
    reasons = {result.failed.get(cid) for _, cid, _, _ in rows}
    if len(reasons) != 1:
        return None
    (only,) = reasons
    if only is None or only[1]:
        return None
    return only[0]


def _exhausted(rows: t.Sequence[t.Any], max_attempts: int) -> bool:
    """After ``max_attempts`` runs even a systematic refusal is quarantined, so nothing blocks forever."""
    return any(attempts + 1 >= max_attempts for _, _, _, attempts in rows)


def _is_record_problem(exc: CRMError) -> bool:
    """A non-retryable refusal that is about the data (400/422), not about access (401/403)."""
    return not exc.retryable and exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 404, 429)


def _push_one_by_one(adapter: CRMAdapter, updates: t.Sequence[FieldUpdate]) -> PushResult:
    """Push each update alone; per-record refusals become per-record failures."""
    landed: list[str] = []
    failed: dict[str, tuple[str, bool]] = {}
    for update in updates:
        try:
            one = adapter.push([update])
        except CRMError as exc:
            if not _is_record_problem(exc):
                raise
            failed[update.contact_id] = (str(exc), False)
            continue
        landed += one.written
        failed.update(one.failed)
    return PushResult(written=landed, failed=failed)


def _record_batch_failure(store: Store, rows: t.Sequence[t.Any], reason: str, *, counts: PushCounts) -> None:
    """The CRM failed a whole batch (down, auth): count an attempt for each row, keep them pending.

    Not the records' fault, so nothing is quarantined; the run reports the error.
    """
    with store.transaction() as conn:
        for oid, cid, values, attempts in rows:
            _back_to_pending(conn, store.crm, oid, cid, values, attempts=attempts + 1, last_error=reason[:2000])
            counts.failed += 1
