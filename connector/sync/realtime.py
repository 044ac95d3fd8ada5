"""Real-time updates: stored events -> fetch what changed -> rescore -> outbox -> push, within seconds.

Follow an event from :class:`~connector.sync.events.EventQueue` to the CRM write:

1. :class:`RealtimeWorker` (a thread of ``connector serve``, one per CRM) wakes when an event is
   stored (or polls), reads up to ``batch_limit`` pending events, oldest occurrence first.
2. It runs them as one small sync run (:class:`_EventRun`, a :mod:`connector.sync.pipeline` run
   whose pull stage is replaced): under the CRM's **lease** (a scheduled sync and the worker never
   write at once, so nothing is written twice), with the worker's **rate limiter**, shared by all
   its runs (the CRM's own rate-limit answers teach it what other processes spend), and recorded
   in ``runs`` like any run.
3. The events are applied in order: deletions and merges change the store at once (a privacy
   deletion forgets the person, :func:`connector.sync.forget.forget`); created or changed contacts
   are read back by id (:meth:`CRMAdapter.read_contacts`, one call per 100) -- the cursors of the
   scheduled pull do not move; first-party activity (stored by the server on arrival) and identify
   calls name contacts to rescore.
4. Those contacts are scored, diffed and staged in the outbox exactly as in a scheduled run, and
   the run's pusher writes them. Only then are the events marked done: a crash before that makes
   them be processed again, which finds nothing left to write.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import functools
import logging
import threading
import time
import typing as t

import sqlalchemy as sa

from connector.adapters.base import CRMAdapter
from connector.scoring.identity import normalize_anonymous_id
from connector.scoring.records import utc
from connector.sync.bulk import upsert
from connector.sync.config import ConnectorConfig, LeaseConfig
from connector.sync.connect import AdapterFactory, connect
from connector.sync.events import EventQueue, QueuedEvent
from connector.sync.forget import drop_contact, forget, merge_into
from connector.sync.lease import LeaseBusy, default_owner
from connector.sync.outbox import release_unsent
from connector.sync.pipeline import _Run
from connector.sync.progress import NullProgress
from connector.sync.ratelimit import RateLimiter
from connector.sync.scorers import ScorerSet
from connector.sync.store import Store
from connector.sync.summary import RunSummary
from connector.sync.tables import contacts, identities, runs

__all__ = ["Batch", "RealtimeWorker"]

log = logging.getLogger(__name__)

Clock = t.Callable[[], dt.datetime]
#: Days a processed event is kept, so a late redelivery (HubSpot retries for a day) is recognised.
KEEP_DONE = dt.timedelta(days=3)
#: Days the worker's own runs stay in ``runs`` (under load it records about one a second).
KEEP_RUNS = dt.timedelta(days=7)
#: Suffix of the worker's lease owner name, which marks its runs in ``runs.owner``.
OWNER_SUFFIX = ":realtime"


@dc.dataclass
class Batch:
    """What one worker run did with a batch of events."""

    events: int
    summary: RunSummary
    #: Seconds from each event's arrival to its contact's changes being written (or found unchanged).
    latencies: list[float] = dc.field(default_factory=list)


@dc.dataclass
class _EventRun(_Run):
    """A sync run whose pull stage is a batch of stored events (see the module's steps 3-4)."""

    events: list[QueuedEvent] = dc.field(default_factory=list)
    queue: EventQueue | None = None
    latencies: list[float] = dc.field(default_factory=list)
    #: The worker's adapters by role, kept between its runs (connections and what an adapter
    #: learnt once -- the CRM's field types -- are not paid again every second).
    kept: dict[str, CRMAdapter] = dc.field(default_factory=dict)

    def adapter_for(self, role: str, limiter: RateLimiter) -> CRMAdapter:
        if role not in self.kept:
            self.kept[role] = self.factory(self.crm, limiter)
        return self.kept[role]

    def release(self, adapter: CRMAdapter) -> None:
        return None  # kept for the worker's next run; closed by RealtimeWorker.stop

    def go(self, *, full: bool, resync: bool) -> None:
        now = utc(self.clock())
        with self.store.transaction() as conn:
            release_unsent(conn, self.crm.name)
            fetch, rescore = self.apply(conn)
        pusher = self.pusher().start()
        self.scoring = self.in_process()
        finished = False
        try:
            if any(e.detail.get("activity") for e in self.events):
                # The scheduled pull's own step: from the checked-in cursor, cursor checked in after.
                self.pull("activities", now, resync=False)
            rescore |= self.fetch(sorted(fetch), now)
            # Also those read back unchanged whose new activity was just stored (needs_score).
            ids = sorted(self.existing(rescore) | self.existing(fetch, needing_score=True))
            size = self.config.batch.score_chunk
            for i in range(0, len(ids), size):
                self.score_chunk(ids[i : i + size], as_of=now, on_chunk=pusher.poke)
            self.commit_scored(on_chunk=pusher.poke, ahead=0)
            finished = True
        finally:
            self.scoring.close()
            counts = pusher.finish(flush=finished and not self.stopped())
        self.pushed(counts)
        if finished and not self.stopped():
            done = utc(self.clock())
            assert self.queue is not None
            self.queue.finish([e.id for e in self.events], done)
            self.latencies = [max(0.0, (done - e.received_at).total_seconds()) for e in self.events]
            self.run_actions()

    def apply(self, conn: sa.Connection) -> tuple[set[str], set[str]]:
        """Apply the events in order; returns the contacts to read back and those to rescore."""
        fetch: set[str] = set()
        rescore: set[str] = set()
        crm = self.crm.name
        for event in self.events:
            cid, detail = event.contact_id, event.detail
            if event.kind in ("created", "changed") and cid:
                fetch.add(cid)
            elif event.kind == "deleted" and cid:
                fetch.discard(cid)
                rescore.discard(cid)
                drop_contact(conn, crm, [cid])
            elif event.kind == "privacy_deleted" and cid:
                fetch.discard(cid)
                rescore.discard(cid)
                report = forget(conn, crm, cid)
                log.info("crm %s: privacy deletion of a contact: %d rows removed", crm, report.total)
            elif event.kind == "merged" and cid:
                merged = [str(i) for i in detail.get("merged_ids", [])]
                merge_into(conn, crm, cid, merged)
                fetch.difference_update(merged)
                rescore.difference_update(merged)
                fetch.add(cid)
            elif event.kind == "activity":
                rescore.update(self._owners(conn, cid, detail.get("anonymous_id"), detail.get("email")))
            elif event.kind == "identify":
                rescore.update(self._identify(conn, cid, detail.get("anonymous_id"), detail.get("email")))
        return fetch, rescore

    def _owners(self, conn: sa.Connection, cid: str | None, anonymous_id: t.Any, email: t.Any) -> set[str]:
        """The contacts an activity belongs to: named, linked by identity, or by e-mail address."""
        owners = {cid} if cid else set()
        crm = self.crm.name
        if isinstance(anonymous_id, str):
            owners.update(r for (r,) in conn.execute(sa.select(identities.c.contact_id).where(identities.c.crm == crm, identities.c.anonymous_id == normalize_anonymous_id(anonymous_id))))
        if isinstance(email, str):
            owners.update(r for (r,) in conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == crm, contacts.c.email == email.strip().lower())))
        return owners

    def _identify(self, conn: sa.Connection, cid: str | None, anonymous_id: t.Any, email: t.Any) -> set[str]:
        """Link an anonymous id to the contact it now names (by id, else by e-mail); its history then counts."""
        crm = self.crm.name
        target = cid
        if target is not None and conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == crm, contacts.c.id == target)).first() is None:
            target = None
        if target is None and isinstance(email, str):
            row = conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == crm, contacts.c.email == email.strip().lower())).first()
            target = row[0] if row else None
        if target is None or not isinstance(anonymous_id, str):
            log.info("crm %s: an identify call names no known contact; its anonymous history stays unlinked", crm)
            return set()
        upsert(conn, identities, [{"crm": crm, "anonymous_id": normalize_anonymous_id(anonymous_id), "contact_id": target}], ["crm", "anonymous_id"], ["contact_id"])
        return {target}

    def fetch(self, ids: list[str], now: dt.datetime) -> set[str]:
        """Read the contacts back from the CRM and store them; returns those new or changed."""
        adapter = self.adapters["main"]
        changed: set[str] = set()
        for page in adapter.read_contacts(ids):
            changed.update(self.store.save_contacts(page.records, now))
            self.summary.pulled_contacts += len(page.records)
            for reject in page.rejects:
                self.store.add_quarantine(reject.stream or "contacts", reject.record_id, reject.reason, reject.raw, now, self.summary.run_id)
                self.summary.rejected += 1
                log.warning("crm %s: contact %s quarantined: %s", self.crm.name, reject.record_id, reject.reason)
            self.renew()
        return changed

    def existing(self, ids: set[str], *, needing_score: bool = False) -> set[str]:
        """Those of ``ids`` the store holds (an activity may name a contact not pulled yet); or those marked ``needs_score``."""
        found: set[str] = set()
        ordered = sorted(ids)
        with self.store.engine.connect() as conn:
            for i in range(0, len(ordered), 500):
                query = sa.select(contacts.c.id).where(contacts.c.crm == self.crm.name, contacts.c.id.in_(ordered[i : i + 500]))
                if needing_score:
                    query = query.where(contacts.c.needs_score.is_(True))
                found.update(r for (r,) in conn.execute(query))
        return found


class RealtimeWorker:
    """Processes the stored events of one CRM, batch by batch, on its own thread.

    Args:
        config: the loaded ``connector.yaml``.
        crm_name: which CRM.
        engine: the state database.
        scorers: preloaded models (default: loaded from the CRM's model files).
        factory: builds the adapter (default: :func:`connector.sync.connect.connect`).
        clock: current UTC time.
        batch_limit: most events per run.
        poll_seconds: longest sleep between two looks at the queue when nobody wakes the worker.
        on_batch: told about each batch processed (the server's metrics).
        linger_seconds: how long events may gather before a run that is not full starts: every run
            costs at least two CRM calls (read back, write), so a run per event would spend the
            CRM's budget (HubSpot: 190 per 10 s) at 50 events a second.
    """

    def __init__(
        self,
        config: ConnectorConfig,
        crm_name: str,
        *,
        engine: sa.Engine,
        scorers: ScorerSet | None = None,
        factory: AdapterFactory | None = None,
        clock: Clock | None = None,
        batch_limit: int = 500,
        poll_seconds: float = 1.0,
        on_batch: t.Callable[[Batch], None] | None = None,
        linger_seconds: float = 0.5,
    ) -> None:
        crm = config.crm(crm_name)
        # A worker never waits for the lease: the events stay stored until the scheduled run is over.
        self.config = config.model_copy(update={"lease": LeaseConfig(ttl_seconds=config.lease.ttl_seconds, wait_seconds=0.0)})
        self.crm = crm
        self.engine = engine
        self.queue = EventQueue(engine, crm.name)
        self.scorers = scorers or ScorerSet.load(crm.models)
        self.factory = factory or functools.partial(connect, env_file=config.env_file)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.limiter = RateLimiter.from_limits(crm.limits)
        self.batch_limit = batch_limit
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self.on_batch = on_batch
        self.owner = default_owner() + OWNER_SUFFIX
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned = 0.0
        self._adapters: dict[str, CRMAdapter] = {}

    def wake(self) -> None:
        """New events were stored: look now."""
        self._wake.set()

    def run_once(self) -> Batch | None:
        """Process one batch of pending events; ``None`` when there was none, or the lease is busy."""
        events = self.queue.pending(self.batch_limit)
        if not events:
            return None
        run = _EventRun(
            config=self.config,
            crm=self.crm,
            store=Store(self.engine, self.crm.name),
            scorers=self.scorers,
            clock=self.clock,
            wall=self.clock,
            factory=self.factory,
            progress=NullProgress(),
            stop=self.stop_event,
            summary=RunSummary(crm=self.crm.name, full=False),
            limiter=self.limiter,
            events=events,
            queue=self.queue,
            kept=self._adapters,
        )
        try:
            summary = run.leased(self.owner, full=False, resync=False)
        except LeaseBusy:
            log.debug("crm %s: a sync holds the lease; %d events wait", self.crm.name, len(events))
            return None
        except Exception as exc:
            # A bug or a database failure: count the attempt, so a poison event is set aside
            # after MAX_ATTEMPTS instead of being retried forever.
            self.queue.failed([e.id for e in events], f"{type(exc).__name__}: {exc}", utc(self.clock()))
            raise
        if summary.status == "failed":
            self.queue.failed([e.id for e in events], summary.error or "failed", utc(self.clock()))
        batch = Batch(len(events), summary, run.latencies)
        if self.on_batch is not None:
            self.on_batch(batch)
        return batch

    def loop(self) -> None:
        """Process batches until :meth:`stop`; a batch that fails is logged and retried later."""
        while not self.stop_event.is_set():
            try:
                batch = self.run_once()
                self._prune()
            except Exception:
                log.exception("crm %s: real-time batch failed; retrying shortly", self.crm.name)
                batch = None
            if batch is None:
                woken = self._wake.wait(self.poll_seconds)
                self._wake.clear()
                if woken:
                    self.stop_event.wait(self.linger_seconds)
            elif batch.events < self.batch_limit:
                self.stop_event.wait(self.linger_seconds)

    def _prune(self) -> None:
        if time.monotonic() - self._pruned > 600:
            self._pruned = time.monotonic()
            now = utc(self.clock())
            self.queue.prune(now - KEEP_DONE)
            with self.engine.begin() as conn:
                conn.execute(sa.delete(runs).where(runs.c.crm == self.crm.name, runs.c.owner.like(f"%{OWNER_SUFFIX}"), runs.c.started_at < now - KEEP_RUNS))

    def start(self) -> RealtimeWorker:
        """Run :meth:`loop` on a daemon thread."""
        self._thread = threading.Thread(target=self.loop, name=f"realtime-{self.crm.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the batch in flight (its events stay pending if it did not finish)."""
        self.stop_event.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for adapter in self._adapters.values():
            adapter.close()
        self._adapters.clear()
