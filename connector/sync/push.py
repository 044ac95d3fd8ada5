"""The push: pending outbox rows to the CRM, in the largest batches it takes, each marked as it lands.

One pusher per run, on one thread of its own from the run's start to its end, with its own
adapter (sharing the run's rate limiter). Pulling and scoring go on meanwhile on the run's main
thread: scoring is CPU work, pulling and pushing mostly wait for their rate budgets (HubSpot keeps
searches and other requests apart), so a large run takes about as long as its slowest part. The
run wakes the pusher (:meth:`Pusher.poke`) after each committed chunk; the pusher writes every
complete batch, and the rest when the run tells it to :meth:`~Pusher.finish`. Writes an earlier run
left go first: they have the lowest ids.

Rows are claimed (``sending``, so a scoring in the meantime stages a new row instead of editing
them) up to :data:`CLAIM_BATCHES` batches at a time; the batches are then pushed and, in one
transaction for the claim, the written rows marked ``done`` (only where still ``sending``) with the
written values recorded. The rows the run stages while the pusher takes them (:attr:`Pusher.taking`)
are claimed by the scoring's own transaction (``stage_changes(claimed=True)``): the pusher reads
them by run, after the pending rows earlier runs left, without a claim of its own.
Claimed rows a stop or a halt leaves unsent go back to ``pending`` untried (no attempt counted).
Before its first claim the pusher deletes the sent rows no echo will read again (see
:func:`connector.sync.echo.forget_sent`).
The pusher only moves forward through the ids, so each row is tried at most once per run. What the CRM says per record decides each row (the adapter isolates
bad records, see :mod:`connector.adapters.base`):

* written: done;
* refused for good: quarantined with the CRM's reason;
* refused for now (retryable): pending again for the next run, quarantined after
  ``max_attempts`` runs;
* every record of a batch refused for one and the same reason: a setup problem (a missing
  property), not bad records -- the rows stay pending and the push halts for this run;
* the batch failed as a whole (the adapter raised: CRM down after its retries, credentials
  refused): the rows stay pending and the push halts for this run.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import logging
import threading
import typing as t

import sqlalchemy as sa

from connector.adapters.base import CRMAdapter, CRMError, FieldUpdate, PushResult
from connector.sync import cursor
from connector.sync.bulk import among
from connector.sync.echo import forget_sent
from connector.sync.outbox import SENDING, record_written, release, release_unsent, requeue
from connector.sync.store import Store
from connector.sync.tables import outbox

__all__ = ["PushCounts", "Pusher"]

log = logging.getLogger(__name__)

#: Batches claimed per transaction. Why more than one: a claim is an ordinary commit (on PostgreSQL it
#: waits for the disk: nothing may reach the CRM before its claim is durable), and claimed one
#: 100-contact batch at a time the claims were a third of the pusher's CPU when a daily rescore
#: staged 680,000 contacts (6,800 claims).
CLAIM_BATCHES = 10

#: Sent rows deleted per transaction at the pusher's start (about a second of SQLite's write lock).
FORGET_SLICE = 50_000

#: Contacts whose staged values the pusher keeps in memory until it reads their rows (:meth:`Pusher.known`).
#: Beyond it (a push far behind the scoring, as at a CRM's rate limit) the values are read from the database.
KNOWN = 20_000


class _Row(t.NamedTuple):
    id: int
    contact_id: str
    values: dict[str, t.Any] | None
    attempts: int
    #: ``values`` as the database holds them (JSON text): recorded as written without being encoded again.
    text: str | None


@dc.dataclass
class PushCounts:
    """What the push of one run did."""

    written: int = 0
    failed: int = 0
    quarantined: int = 0
    batches: int = 0
    #: Why the push halted for this run (the rest waits for the next run), if it did.
    error: str | None = None


class Pusher:
    """Writes pending outbox rows in batches of ``min(batch_size, adapter.max_push_size)``.

    Args:
        store: the CRM's state.
        adapter: the CRM (used by the pusher's thread alone).
        batch_size: largest batch wanted (capped by the adapter's); ``None``: the adapter's largest.
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
        batch_size: int | None,
        max_attempts: int,
        clock: t.Callable[[], dt.datetime],
        run_id: int | None,
        before_batch: t.Callable[[], None] = lambda: None,
        on_batch: t.Callable[[int], None] = lambda n: None,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.size = max(1, min(batch_size or adapter.max_push_size, adapter.max_push_size))
        self.max_attempts = max_attempts
        self.clock = clock
        self.run_id = run_id
        self.before_batch = before_batch
        self.on_batch = on_batch
        self.stop = stop
        self.counts = PushCounts()
        #: ``(first sent, last answered)`` of the run's batches (the CRM stamped the contacts written then).
        self.window: tuple[dt.datetime, dt.datetime] | None = None
        self._last_id = 0
        #: The last of the run's own rows (staged claimed) read; those of them that failed and are
        #: pending again (tried in this run already: not claimed again).
        self._last_own = 0
        self._tried_own: list[int] = []
        #: contact id -> (JSON text, values) of the run's own rows not read yet (see :meth:`known`)
        self._known: dict[str, tuple[str, dict[str, t.Any]]] = {}
        self._wake = threading.Event()
        self._finish = threading.Event()
        self._flush = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"push-{store.crm}", daemon=True)

    # -- the run's side ----------------------------------------------------------------------------

    def start(self) -> Pusher:
        """Start the thread; it writes what earlier runs left at once."""
        self._thread.start()
        self._wake.set()
        return self

    def poke(self) -> None:
        """New outbox rows were committed: write the complete batches."""
        self._wake.set()

    def finish(self, *, flush: bool) -> PushCounts:
        """End the push; with ``flush``, after writing the last, incomplete batch too.

        Without ``flush`` (the run failed or was stopped) the thread ends after its batch in flight.

        Raises:
            BaseException: what the thread failed with (a lost lease, an adapter's bug).
        """
        self._flush = flush
        self._finish.set()
        self._wake.set()
        self._thread.join()
        self._known.clear()
        if self._error is not None:
            raise self._error  # the run's own claimed rows stay ``sending``: the next run releases them
        if self.run_id is not None:
            with self.store.transaction() as conn:  # what a halt or a stop left unsent
                release_unsent(conn, self.store.crm, run_id=self.run_id)
        return self.counts

    def known(self, staged: t.Mapping[str, tuple[str, dict[str, t.Any]]]) -> None:
        """The values of rows just staged claimed, as JSON text and as data, while fewer than :data:`KNOWN` are kept.

        Why: the pusher reads its own rows' values as text anyway (to record them as written);
        decoding each text again was the largest part of reading them (3 of 5 s for 683,000
        rows). A row's kept values are used only when its text read is the very text kept.
        """
        if len(self._known) < KNOWN:
            self._known.update(staged)

    @property
    def taking(self) -> bool:
        """Whether the run may stage its rows claimed for this pusher (it will send them, or release them at :meth:`finish`)."""
        return self.run_id is not None and self._thread.is_alive() and not self._stopped() and not self._finish.is_set()

    # -- the pusher's thread -----------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        """True once the CRM failed in a way that ends pushing for this run."""
        return self.counts.error is not None

    def _stopped(self) -> bool:
        return self.halted or (self.stop is not None and self.stop.is_set())

    def _loop(self) -> None:
        try:
            self._forget_sent()
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._finish.is_set():
                    if self._flush:
                        self._push(only_full=False)
                    return
                self._push(only_full=True)
        except BaseException as exc:  # noqa: BLE001 - handed to the run in finish()
            self._error = exc

    def _forget_sent(self) -> None:
        """Delete the sent rows no echo will read again (:func:`~connector.sync.echo.forget_sent`), a slice per transaction.

        Why here, first: a large run's main thread reads (the contact pull, the rescore's scan)
        before it writes, and the pusher has nothing to send before the first scored chunk, so the
        deletion fills time no one writes in. The contact cursor is the one this run's pull starts
        from (read before the pull checks a new one in, or after: either way the rule holds).
        """
        crm = self.store.crm
        checked = cursor.checked_in(self.store.cursor_state(), "contacts")
        while not self._stopped():
            self.before_batch()
            # Need not wait for the disk (see Store.bulk_transaction): lost, the rows are deleted next time.
            with self.store.bulk_transaction() as conn:
                forgotten = forget_sent(conn, crm, self.run_id, checked, limit=FORGET_SLICE)
            if forgotten:
                self.store.statistics.stored(forgotten, "outbox")
            if forgotten < FORGET_SLICE:
                return

    def _going(self) -> bool:
        """Whether another batch may start."""
        return not self._stopped() and not (self._finish.is_set() and not self._flush)

    def _push(self, *, only_full: bool) -> None:
        """Push pending rows not yet tried in this run; with ``only_full``, only complete batches."""
        while self._going():
            self.before_batch()
            claimed = self._claim(only_full=only_full)
            if claimed is None:
                claimed = self._own(only_full=only_full)
            if claimed is None:
                return
            answered: list[tuple[t.Sequence[_Row], PushResult]] = []
            try:
                for k in range(0, len(claimed), self.size):
                    if k:
                        if not self._going():
                            self._release(claimed[k:])
                            break
                        self.before_batch()
                    batch = claimed[k : k + self.size]
                    result = self._send(batch)
                    if result is not None:
                        answered.append((batch, result))
                    self.on_batch(len(batch))
            finally:  # what the CRM answered is recorded even when the lease was lost meanwhile
                self._settle(answered)

    def _claim(self, *, only_full: bool) -> list[_Row] | None:
        """The next pending rows not yet tried in this run (up to :data:`CLAIM_BATCHES` batches), marked ``sending`` (so scoring no longer edits them in place), with their values.

        One transaction (one connection, one commit: on PostgreSQL each was a round trip or two on
        a busy server): the ids, then the claim. ``None`` when no row is left, or with ``only_full``
        when fewer than a batch are (and with it only whole batches are claimed); ``[]`` when the
        scoring superseded them all meanwhile.
        """
        crm = self.store.crm
        with self.store.transaction() as conn:
            later = outbox.c.id > self._last_id
            if self._tried_own:
                later = sa.and_(later, sa.not_(among(conn, outbox.c.id, self._tried_own)))
            ids = list(
                conn.execute(
                    sa.select(outbox.c.id).where(outbox.c.crm == crm, outbox.c.status == "pending", later).order_by(outbox.c.id).limit(self.size * CLAIM_BATCHES)
                ).scalars()
            )
            if only_full:
                ids = ids[: len(ids) // self.size * self.size]
            if not ids:
                return None
            self._last_id = ids[-1]
            claimed = conn.execute(
                sa.update(outbox)
                .where(among(conn, outbox.c.id, ids), outbox.c.status == "pending")
                .values(status=SENDING)
                .returning(outbox.c.id, outbox.c.contact_id, sa.cast(outbox.c["values"], sa.Text), outbox.c.attempts)
            ).all()
        return sorted((_Row(oid, cid, self._values(cid, text), attempts, text) for oid, cid, text, attempts in claimed), key=lambda r: r.id)

    def _own(self, *, only_full: bool) -> list[_Row] | None:
        """The next rows the run staged claimed for this pusher (up to :data:`CLAIM_BATCHES` batches); ``None`` as :meth:`_claim`.

        Why a read and not a claim: the scoring's transaction inserted them ``sending`` already
        (on PostgreSQL by an ordinary commit: nothing reaches the CRM before it is on disk), and
        the update that claimed each row was a tenth of a million-contact rescore's CPU.
        """
        if self.run_id is None:
            return None
        with self.store.engine.connect() as conn:
            got = conn.execute(
                sa.select(outbox.c.id, outbox.c.contact_id, sa.cast(outbox.c["values"], sa.Text), outbox.c.attempts)
                .where(outbox.c.crm == self.store.crm, outbox.c.status == SENDING, outbox.c.id > self._last_own, outbox.c.run_id == self.run_id)
                .order_by(outbox.c.id)
                .limit(self.size * CLAIM_BATCHES)
            ).all()
        if only_full:
            got = got[: len(got) // self.size * self.size]
        if not got:
            return None
        self._last_own = got[-1][0]
        return [_Row(oid, cid, self._values(cid, text), attempts, text) for oid, cid, text, attempts in got]

    def _values(self, cid: str, text: str | None) -> dict[str, t.Any] | None:
        """A claimed row's values from its JSON text: those kept for its contact (:meth:`known`) if they are this text's."""
        kept = self._known.pop(cid, None)
        if text is None:
            return None
        return kept[1] if kept is not None and kept[0] == text else t.cast(dict[str, t.Any], json.loads(text))

    def _send(self, rows: t.Sequence[_Row]) -> PushResult | None:
        """One batch to the CRM: its answer, or ``None`` when the push halts (the rows kept pending, an attempt counted)."""
        crm, counts = self.store.crm, self.counts
        sent = self.clock()
        try:
            result = self.adapter.push([FieldUpdate(contact_id=r.contact_id, values=dict(r.values or {})) for r in rows])
        except CRMError as exc:
            self._sent(sent)  # a failed batch may still have been applied
            self._keep_pending(rows, str(exc))
            counts.error = f"writing to the CRM failed: {exc}"
            log.warning("crm %s: push stopped, %s; the pending writes wait for the next run", crm, exc)
            return None
        self._sent(sent)
        counts.batches += 1
        systematic = _same_refusal_for_all(rows, result)
        if systematic is not None and not any(r.attempts + 1 >= self.max_attempts for r in rows):
            # Every record refused for the same reason: a setup problem (a missing property, a
            # wrong mapping), not bad records. Keep them pending instead of quarantining thousands;
            # after max_attempts runs even this is quarantined, so nothing blocks forever.
            self._keep_pending(rows, systematic)
            counts.error = (
                f"the CRM refused every record of a batch for the same reason: {systematic} -- "
                "check the mapping and run `connector setup`; the writes wait for the next run"
            )
            log.warning("crm %s: push stopped: %s", crm, counts.error)
            return None
        return result

    def _settle(self, answered: t.Sequence[tuple[t.Sequence[_Row], PushResult]]) -> None:
        """The CRM's answers to a claim's batches, in one transaction: written rows done (their values recorded), the others failed.

        Why one transaction for the claim's batches rather than one per batch: at 100 contacts a
        batch, a daily rescore that staged 680,000 contacts made 6,800 small commits that took turns
        with the scoring's on SQLite's one write lock. What a crash before this commit leaves
        ``sending`` is sent again by the next run (harmless, see :mod:`connector.sync.outbox`):
        at most :data:`CLAIM_BATCHES` batches.
        """
        if not answered:
            return
        crm, now = self.store.crm, self.clock()
        done: list[_Row] = []
        # Need not wait for the disk (see Store.bulk_transaction): lost, the rows stay ``sending``
        # and the next run sends them again; the claim above was an ordinary commit.
        with self.store.bulk_transaction() as conn:
            for rows, result in answered:
                landed = set(result.written)
                done += (r for r in rows if r.contact_id in landed)
                for r in rows:
                    if r.contact_id not in landed:
                        reason, retryable = result.failed.get(r.contact_id, ("the CRM did not confirm this write", True))
                        self._fail(conn, r, reason, retryable, now)
            if done:
                # Only rows still ``sending``: a row a newer run released (its sender was presumed
                # dead) is pending again and may hold newer values; it is simply sent once more.
                conn.execute(sa.update(outbox).where(among(conn, outbox.c.id, [r.id for r in done]), outbox.c.status == SENDING).values(status="done", done_at=now))
            recorded = {r.contact_id: r for r in done if r.values}
            texts = {cid: r.text for cid, r in recorded.items() if r.text is not None}
            record_written(conn, crm, {cid: t.cast(dict[str, t.Any], r.values) for cid, r in recorded.items()}, now, texts=texts)
        self.store.statistics.stored(len(done), "written_values")  # a table that grows from nothing in a first sync
        self.counts.written += len(done)

    def _sent(self, sent: dt.datetime) -> None:
        """A batch was sent at ``sent`` and answered now: widen the run's write window."""
        self.window = (self.window[0] if self.window else sent, self.clock())

    def _fail(self, conn: sa.Connection, row: _Row, reason: str, retryable: bool, now: dt.datetime) -> None:
        attempts = row.attempts + 1
        if retryable and attempts < self.max_attempts:
            self._tried(row)
            requeue(conn, self.store.crm, row.id, row.contact_id, row.values, attempts=attempts, last_error=reason[:2000])
            self.counts.failed += 1
            return
        why = reason if not retryable else f"{reason} (gave up after {attempts} attempts)"
        conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(status="quarantined", attempts=attempts, last_error=why[:2000], done_at=now))
        self.store.add_quarantine("outbox", row.contact_id, why, {"outbox_id": row.id, "values": row.values}, now, self.run_id, conn=conn)
        self.counts.quarantined += 1

    def _release(self, rows: t.Sequence[_Row]) -> None:
        """Claimed rows a stop or a halt left unsent: pending again as they were (or folded into a newer pending row), untried."""
        with self.store.transaction() as conn:
            release(conn, self.store.crm, [r.id for r in rows])

    def _keep_pending(self, rows: t.Sequence[_Row], reason: str) -> None:
        """Not the records' fault: count an attempt for each row and keep them pending; nothing is quarantined."""
        with self.store.transaction() as conn:
            for r in rows:
                self._tried(r)
                requeue(conn, self.store.crm, r.id, r.contact_id, r.values, attempts=r.attempts + 1, last_error=reason[:2000])
                self.counts.failed += 1

    def _tried(self, row: _Row) -> None:
        """``row`` failed and goes back to pending: if it was one of the run's own, its claim must not try it again in this run."""
        if row.id > self._last_id:
            self._tried_own.append(row.id)


def _same_refusal_for_all(rows: t.Sequence[_Row], result: PushResult) -> str | None:
    """The one non-retryable reason the CRM gave for every record of a batch (of 2 or more)."""
    if len(rows) < 2 or result.written:
        return None
    reasons = {result.failed.get(r.contact_id) for r in rows}
    if len(reasons) != 1:
        return None
    (only,) = reasons
    if only is None or only[1]:
        return None
    return only[0]
