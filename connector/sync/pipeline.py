"""One sync run of one CRM, top-down: pull -> store -> score -> diff -> outbox -> push -> actions.

Follow a contact through :func:`run_sync`:

1. **Pull.** The adapter yields pages of activity that occurred since the checked-in cursor (minus
   the overlap window), then pages of contacts changed since theirs. Each page is committed as it
   comes (new or changed contacts, and contacts with new activity, are marked ``needs_score``); a
   stream's cursor is checked in only once every page of it is stored. Records the adapter could
   not translate are quarantined with the reason.
2. **Score** only what needs it. New or changed contacts are scored page by page as they are
   pulled (their activity is already stored), in the time the pull would wait for its search
   budget; then the rest: contacts with new activity, contacts whose stored ``changes_at`` (a decay
   step, an activity leaving a window) has passed, contacts a model has never scored, everyone on
   ``full``. Anonymous e-mail activity and known identities are resolved by the store. A large run
   scores in a worker process, a chunk or two ahead of the commits
   (:mod:`connector.sync.score_worker`); the results are committed here, in order.
3. **Diff.** Each scored contact's outputs (score, dimensions, grade, matrix, stage, reasons
   summary, scored-at) are compared with what the CRM holds after the writes already made or in
   flight; only real changes go to the outbox, in the same transaction as the scores, stage
   history and trigger firings (:mod:`connector.sync.outbox`).
4. **Push.** The run's :class:`~connector.sync.push.Pusher` writes the outbox on its own thread
   while pulling and scoring go on, in the largest batches the adapter takes, each marked done as
   it lands; the last, incomplete batch when the scoring is over.
5. **Actions.** Pending trigger actions run once, in batches (:mod:`connector.sync.actions`).
6. **Outcomes.** What became of contacts (customers, won deals), pulled from the moment the
   contact pull is over (they spend the search budget it no longer uses) and stored last.

A crash at any point loses nothing (uncommitted work is redone: cursors did not move, scores and
outbox rows were not committed) and doubles nothing (activities are unique, the outbox holds one
pending row per contact, firings have idempotency keys). The lease keeps other instances out.

Everything the run depends on is handed in: the config, the clock (no ``datetime.now()`` below
this function), the adapter factory, a progress sink and a stop event.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses as dc
import datetime as dt
import functools
import logging
import threading
import time
import typing as t

import sqlalchemy as sa

from connector.adapters.base import ApiStats, CRMAdapter, CRMError, Outcome, Page
from connector.scoring.records import Activity, Contact, utc
from connector.sync import cursor, dueindex
from connector.sync.actions import execute_pending, record_firings
from connector.sync.config import ConnectorConfig, CRMConfig
from connector.sync.connect import AdapterFactory, connect
from connector.sync.db import open_database
from connector.sync.drift import record_week
from connector.sync.echo import EchoPlan, plan_echo, record_window
from connector.sync.idset import IdSet
from connector.sync.lease import Lease, LeaseLost, default_owner
from connector.sync.outbox import release_unsent, stage_changes
from connector.sync.outcomes import save_outcomes
from connector.sync.prefetch import Prefetch
from connector.sync.progress import NullProgress, Progress
from connector.sync.push import PushCounts, Pusher
from connector.sync.ratelimit import RateLimiter
from connector.sync.rescore import RescoreEnd
from connector.sync.scankeep import kept_scan
from connector.sync.score_worker import InProcess, Scoring, ScoringWorker, worker_blocker
from connector.sync.scorers import ChunkOptions, ScoredChunk, ScorerSet, scoring_context
from connector.sync.scoresscan import read_by_run, read_scores
from connector.sync.store import Store
from connector.sync.summary import RunSummary
from connector.sync.webhook import webhook_sender

__all__ = ["run_sync"]

log = logging.getLogger(__name__)

Clock = t.Callable[[], dt.datetime]
Stream = t.Literal["contacts", "activities", "outcomes"]

#: Records of the contact pull that may wait while the activity is pulled (see ``_Run.reader_ahead``).
AHEAD_RECORDS = 20_000
#: Chunks being scored (in the worker) ahead of the one committed next.
SCORING_AHEAD = 2
#: An incremental run with at least this many contacts due, and :data:`COLUMNAR_SHARE` of the stored
#: ones, rescores them column-wise (:mod:`connector.sync.rescore`, the others left out) instead of
#: reading each one's records. Why: an hour of decay on a busy portal makes a tenth of it due (the
#: most active contacts: 104,504 of a million, 47 activities each in the bench's portal), and read
#: contact by contact they took about two minutes, where reading the whole portal column-wise costs
#: about 46 us a stored contact against about 1.1 ms a due one read as records: even at 5% due the
#: columns win. Below 10,000 due the exact path takes seconds and starts no worker.
COLUMNAR_DUE = 10_000
COLUMNAR_SHARE = 0.05
#: Seconds between two recordings of a run's counters in its row, so a killed run shows what it did.
PROGRESS_EVERY = 5.0
#: (CRM, notice) pairs already warned about in this process (see ``_Run.note``).
_NOTICED: set[tuple[str, str]] = set()


def _real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_sync(
    config: ConnectorConfig,
    crm_name: str | None = None,
    *,
    full: bool = False,
    resync: bool = False,
    clock: Clock | None = None,
    as_of: dt.datetime | None = None,
    adapter_factory: AdapterFactory | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    owner: str | None = None,
    engine: sa.Engine | None = None,
    scorers: ScorerSet | None = None,
) -> RunSummary:
    """Run one sync of one CRM and return what it did.

    Args:
        config: the loaded ``connector.yaml``.
        crm_name: which CRM (``None``: the only one configured).
        full: rescore every contact (the daily decay safety net); the pull stays incremental.
        resync: pull everything again instead of what changed since the cursors.
        clock: current UTC time (the only source of "now"); scores are as of the run's start.
        as_of: run as of this instant instead (``connector sync --as-of``): the run's "now" stands
            still there -- the pull window's end, the scores, decay, stage times, task due dates --
            so two runs against the same (frozen) CRM write the same. The lease and the run's
            start and end times keep the real clock, so other instances judge the lease rightly.
        adapter_factory: builds the adapter (default: :func:`connector.sync.connect.connect`).
        progress: progress sink.
        stop: when set, the run ends after the page or batch in flight (progress kept).
        owner: lease owner name (default: host, pid and a nonce).
        engine: an open state database (default: opened from the config, schema upgraded).
        scorers: preloaded models (default: loaded from the CRM's model files).

    Raises:
        connector.sync.lease.LeaseBusy: another instance is syncing this CRM.
        KeyError: no such CRM in the config.
    """
    if as_of is not None and clock is not None:
        raise ValueError("give clock or as_of, not both")
    crm = config.crm(crm_name)
    own_engine = engine is None
    engine = engine or open_database(config.effective_database_url())
    run = _Run(
        config=config,
        crm=crm,
        store=Store(engine, crm.name, lazy_commits=True),
        scorers=scorers or ScorerSet.load(crm.models),
        clock=clock or (functools.partial(utc, as_of) if as_of is not None else _real_clock),
        wall=_real_clock if as_of is not None else (clock or _real_clock),
        factory=adapter_factory or functools.partial(connect, env_file=config.env_file),
        progress=progress or NullProgress(),
        stop=stop,
        summary=RunSummary(crm=crm.name, full=full),
    )
    try:
        return run.leased(owner or default_owner(), full=full, resync=resync)
    finally:
        if own_engine:
            engine.dispose()


@dc.dataclass
class _Run:
    """One run's collaborators and its stages, in the order they run."""

    config: ConnectorConfig
    crm: CRMConfig
    store: Store
    scorers: ScorerSet
    clock: Clock
    #: The real time, for the lease and the run's start and end (the clock itself, unless the run is as of a fixed instant).
    wall: Clock
    factory: AdapterFactory
    progress: Progress
    stop: threading.Event | None
    summary: RunSummary
    lease: Lease | None = None
    #: The run's adapters, one per thread (created in :meth:`leased`): ``main`` pulls activity and
    #: carries out the actions, ``reader`` pulls contacts, then outcomes, on prefetch threads, ``writer`` pushes.
    adapters: dict[str, CRMAdapter] = dc.field(default_factory=dict)
    #: Contacts already scored in this run (page by page as they were pulled); compact: see :mod:`connector.sync.idset`.
    scored_ids: IdSet = dc.field(default_factory=IdSet)
    #: Where chunks are scored: in this process, then (a large run) in a worker.
    scoring: Scoring | None = None
    #: Whether the run has decided where to score on (after ``batch.score_worker_after`` contacts).
    worker_decided: bool = False
    #: The echo of an earlier run's writes this run's contact pull leaves out (:mod:`connector.sync.echo`).
    echo: EchoPlan | None = None
    #: Chunks handed to the scoring and not committed yet, oldest first.
    scoring_ahead: collections.deque[cf.Future[ScoredChunk]] = dc.field(default_factory=collections.deque)
    #: Each adapter with its counters at the run's start (the run counts the difference).
    snapshots: list[tuple[CRMAdapter, ApiStats]] = dc.field(default_factory=list)
    #: The running pusher (its counts join the run's at the end; read live for the progress).
    running_pusher: Pusher | None = None
    #: The thread the run runs on (the only one that records its progress) and when it last did.
    thread: int | None = None
    progress_at: float = 0.0
    #: The CRM's rate budget; ``None``: a fresh one for this run. ``connector serve`` hands in one
    #: limiter shared by all its runs of the CRM (see :mod:`connector.sync.realtime`).
    limiter: RateLimiter | None = None

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def renew(self) -> None:
        """Renew the lease (raises :class:`LeaseLost` when another instance took the CRM); record the counters now and then."""
        assert self.lease is not None
        self.lease.renew()
        if threading.get_ident() == self.thread and time.monotonic() - self.progress_at >= PROGRESS_EVERY and self.summary.run_id is not None:
            self.progress_at = time.monotonic()
            self.store.record_progress(self.summary.run_id, self.counts_so_far())

    def counts_so_far(self) -> dict[str, t.Any]:
        """The run's counters as they stand, the push's and the API calls included."""
        live = dc.replace(self.summary)
        for adapter, before in self.snapshots:
            live.add_api(adapter.stats, before)
        if self.running_pusher is not None:
            counts = self.running_pusher.counts
            live.written, live.failed, live.quarantined = live.written + counts.written, live.failed + counts.failed, live.quarantined + counts.quarantined
        return live.counts()

    # 0. lease, adapters, the run's row ------------------------------------------------------------

    def leased(self, owner: str, *, full: bool, resync: bool) -> RunSummary:
        """Claim the CRM's lease, record the run, run its stages, record how it ended."""
        crm, summary = self.crm, self.summary
        self.lease = Lease(self.store.engine, crm.name, owner, ttl_seconds=self.config.lease.ttl_seconds, clock=self.wall)
        self.lease.acquire(self.config.lease.wait_seconds)
        summary.started_at = utc(self.wall())
        snapshots = self.snapshots
        self.thread, self.progress_at = threading.get_ident(), time.monotonic()
        try:
            summary.run_id = self.store.start_run(summary.started_at, full=full, owner=self.lease.owner)
            log.info("crm %s: run %s started (full=%s, resync=%s)", crm.name, summary.run_id, full, resync)
            # One rate limiter, three adapters: the contact pull and the writer work on threads of
            # their own while the main thread pulls activity, stores and scores; no adapter is ever
            # used by two threads at once, and together they stay under the CRM's limits.
            limiter = self.limiter or RateLimiter.from_limits(crm.limits)
            for role in ("main", "reader", "writer"):
                adapter = self.adapter_for(role, limiter)
                self.adapters[role] = adapter
                snapshots.append((adapter, dc.replace(adapter.stats)))
            try:
                self.go(full=full, resync=resync)
                summary.status = "stopped" if self.stopped() else ("partial" if summary.error else "ok")
            except (CRMError, LeaseLost) as exc:
                summary.status, summary.error = "failed", str(exc)
                log.error("crm %s: run %s failed: %s", crm.name, summary.run_id, exc)
        except BaseException as exc:
            summary.status = "failed"
            summary.error = summary.error or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            for adapter, before in snapshots:
                summary.add_api(adapter.stats, before)
                self.release(adapter)
            summary.ended_at = utc(self.wall())
            if summary.run_id is not None:
                self.store.finish_run(summary.run_id, summary.ended_at, summary.status, summary.counts(), summary.error)
            self.lease.release()
            log.info(
                "crm %s: run %s %s: pulled %d contacts, %d activities; scored %d; changed %d; written %d; api calls %d",
                crm.name, summary.run_id, summary.label, summary.pulled_contacts, summary.pulled_activities,
                summary.scored, summary.changed, summary.written, summary.api_calls,
            )
        return summary

    def adapter_for(self, role: str, limiter: RateLimiter) -> CRMAdapter:
        """The run's adapter for ``role`` (a new one; ``connector serve`` keeps its own between runs)."""
        return self.factory(self.crm, limiter)

    def release(self, adapter: CRMAdapter) -> None:
        """The run is over for ``adapter``."""
        adapter.close()

    def go(self, *, full: bool, resync: bool) -> None:
        """The stages: pull (scoring new contacts page by page), score the rest, push, actions."""
        until = utc(self.clock())
        with self.store.transaction() as conn:
            release_unsent(conn, self.crm.name)  # rows a killed run was sending
        dueindex.restore_due_index(self.store.engine)  # a killed full rescore may have left it out
        self.store.statistics.start()  # a store never analyzed (older version, bulk import) gets its statistics first
        pusher = self.running_pusher = self.pusher().start()
        self.scoring = self.in_process()
        if full:  # a large portal's rescore is read and scored in a worker: started now, it is ready (1.5 s of imports) when the pull ends
            self.decide_worker(self.store.count_contacts())
        scored = False
        finished = False
        with self.reader_ahead(until, resync) as ahead:
            try:
                # Activity first, so contacts can be scored as soon as their page is stored: the
                # scoring then fills the time the contact pull would wait for its search budget.
                # (Measured: in the pulling thread beats a scoring thread, which only adds contention
                # for the interpreter lock.) Scores are as of the run's start: the instant the pulled
                # data is complete up to.
                def score_page(ids: list[str]) -> None:
                    self.score_chunk(ids, as_of=until, on_chunk=pusher.poke)

                if (
                    ahead is not None
                    and self.pull("activities", until, resync)
                    and self.pull("contacts", until, resync, on_page=score_page, pages=ahead.contacts)
                ):
                    self.commit_scored(on_chunk=pusher.poke, ahead=0)
                    scored = self.score(full, as_of=until, on_chunk=pusher.poke)
                finished = True
            finally:
                try:
                    self.scoring.close()  # what is still being scored is dropped: those contacts keep needs_score
                finally:
                    counts = pusher.finish(flush=finished and scored and not self.stopped())
                    self.running_pusher = None
            if self.summary.run_id is not None:
                with self.store.transaction() as conn:
                    record_window(conn, self.summary.run_id, pusher.window, until, self.echo)
            self.pushed(counts)
            if scored and not self.stopped():
                self.run_actions()
                record_week(self.store.engine, self.crm.name, self.scorers.models, until)
            if finished and scored and ahead is not None and not self.stopped():
                # What became of contacts (customers, won deals): for the report and for learning.
                self.pull("outcomes", until, resync, pages=ahead.outcomes)

    # 1. pull --------------------------------------------------------------------------------------

    def _since(self, stream: Stream, resync: bool) -> dt.datetime | None:
        overlap = dt.timedelta(minutes=self.config.overlap_for(self.crm))
        return cursor.since(self.store.cursor_state(), stream, overlap, full=resync)

    @contextlib.contextmanager
    def reader_ahead(self, until: dt.datetime, resync: bool) -> t.Iterator[_Ahead | None]:
        """The ``reader`` adapter's pulls, on threads of their own: contacts at once, outcomes when the contact search is over.

        Why contacts at once: the activity pull spends the general budget, the contact pull the
        search budget; one after the other, a large run paid the activity pull (13 s for 100,000
        contacts) on top of the search bound. The pages wait, in order, up to :data:`AHEAD_RECORDS`
        records, until the activity is stored; only then are they stored and scored, so every
        contact is scored with its activity, and the cursors move exactly as before.

        Why outcomes then: they spend the search budget too (HubSpot: customers and won deals are
        searches), which the contact search has just stopped using. Pulled only after the push and
        the actions, they left it idle while the run stored the last contact pages, scored and
        pushed (measured at 100,000 contacts: 8 s on PostgreSQL, 25 s on a busy SQLite, of 131).
        Their pages wait too and are stored at the run's end, as before; an outcome pull is not
        started when the contact pull failed or was left early.
        """
        if self.stopped():
            yield None
            return
        since = self._since("contacts", resync)
        outcomes_since = self._since("outcomes", resync)
        with self.store.engine.connect() as conn:
            marker = self.scorers.models[0].output_names()["scored_at"]
            self.echo = plan_echo(conn, self.crm.name, since, cursor.checked_in(self.store.cursor_state(), "contacts"), until, marker)
        reader, echo = self.adapters["reader"], self.echo.echo if self.echo else None
        searched = threading.Event()
        complete = False

        def contacts() -> t.Iterator[Page[Contact]]:
            nonlocal complete
            try:
                yield from reader.pull_contacts(since, until, echo)
                complete = True
            finally:
                searched.set()  # the reader adapter is free (the outcome pull waits for this)

        def outcomes() -> t.Iterator[Page[Outcome]]:
            searched.wait()
            if complete:
                yield from reader.pull_outcomes(outcomes_since, until)

        # Outcomes outermost: their thread waits for the contacts' thread, so that one must end first.
        with (
            Prefetch(outcomes(), depth=10_000, max_records=AHEAD_RECORDS, size=_records, name=f"pull-{self.crm.name}-outcomes") as outcome_pages,
            Prefetch(contacts(), depth=10_000, max_records=AHEAD_RECORDS, size=_records, name=f"pull-{self.crm.name}-contacts") as contact_pages,
        ):
            yield _Ahead(contact_pages, outcome_pages)

    def pull(
        self,
        stream: Stream,
        until: dt.datetime,
        resync: bool,
        on_page: t.Callable[[list[str]], None] | None = None,
        pages: t.Iterator[Page[Contact]] | t.Iterator[Page[Outcome]] | None = None,
    ) -> bool:
        """Pull and store one stream; check its cursor in when every page is stored.

        The ids of contacts that are new or changed go to ``on_page`` once their page is stored.
        ``pages``: the stream's pull, already started (see :meth:`reader_ahead`).
        """
        if self.stopped():
            return False
        self.progress.start(f"pull {stream}")
        if stream == "contacts":
            self.progress.start("score")  # contacts are scored page by page from here on
        if pages is not None:
            if stream == "contacts" and self.echo is not None and self.echo.ids:
                # The contacts the run whose echo the search leaves out wrote: read again first, so
                # an edit their write hid is seen before the cursor can move past that run's window.
                log.info("crm %s: reading %d contacts run %s wrote again (their echo is left out of the search)", self.crm.name, len(self.echo.ids), self.echo.run_id)
                if not self._store_pages(stream, self.adapters["main"].read_contacts(self.echo.ids), until, on_page, check_in=False):
                    return False
            return self._store_pages(stream, t.cast(t.Iterator[Page[t.Any]], pages), until, on_page)
        main = self.adapters["main"]
        since = self._since(stream, resync)
        started: t.Iterable[Page[t.Any]]
        if stream == "contacts":
            started = main.pull_contacts(since, until)
        elif stream == "activities":
            started = main.pull_activities(since, until)
        else:
            started = main.pull_outcomes(since, until)
        with Prefetch[Page[t.Any]](started, size=_records, name=f"pull-{self.crm.name}-{stream}") as prefetched:
            return self._store_pages(stream, prefetched, until, on_page)

    def _store_pages(
        self,
        stream: Stream,
        pages: t.Iterable[Page[t.Any]],
        until: dt.datetime,
        on_page: t.Callable[[list[str]], None] | None,
        *,
        check_in: bool = True,
    ) -> bool:
        """Store each pulled page (and hand new or changed contacts to ``on_page``); check the cursor in at the end (``check_in``)."""
        stage = f"pull {stream}"
        state = self.store.cursor_state()
        for page in pages:
            now = utc(self.clock())
            if stream == "contacts":
                changed = self.store.save_contacts(t.cast(list[Contact], page.records), now)
                self.store.statistics.stored(len(changed), "contacts")
                if page.gone:
                    # Deleted, merged or converted in the CRM: their history moves to the successor.
                    self.summary.retired += self.store.retire_contacts(page.gone)
                self.summary.pulled_contacts += len(page.records)
                if changed and on_page is not None:
                    on_page(changed)
            elif stream == "activities":
                self.store.statistics.stored(self.store.save_activities(t.cast(list[Activity], page.records), now), "activities")
                self.summary.pulled_activities += len(page.records)
            else:
                save_outcomes(self.store.engine, self.crm.name, t.cast(list[Outcome], page.records), now)
            self.note(page)
            for reject in page.rejects:
                self.store.add_quarantine(reject.stream or stream, reject.record_id, reject.reason, reject.raw, now, self.summary.run_id)
                self.summary.rejected += 1
                log.warning("crm %s: %s record %s quarantined: %s", self.crm.name, stream, reject.record_id, reject.reason)
            state = cursor.advance_progress(state, stream, page.cursor)
            self.progress.advance(stage, len(page.records) + len(page.rejects))
            self.renew()
            if self.stopped():
                self.progress.finish(stage)
                return False
        if not check_in:
            return True
        state = cursor.finalize(state, stream, until)
        self.store.check_in_cursor(stream, cursor.checked_in(state, stream), utc(self.clock()))
        self.progress.finish(stage)
        return True

    def note(self, page: Page[Contact] | Page[Activity] | Page[Outcome]) -> None:
        """Count what the adapter left out on purpose; report each notice once (a stream the CRM does not offer).

        Every run's summary lists its notices; the log warns once per CRM and process (a scheduler
        syncing every 15 minutes would otherwise repeat it 96 times a day), later runs log it at INFO.
        """
        self.summary.skipped += sum(page.skipped.values())
        for reason, n in page.skipped.items():
            log.info("crm %s: %d record(s) skipped: %s", self.crm.name, n, reason)
        for notice in page.notices:
            if notice in self.summary.notices:
                continue
            self.summary.notices.append(notice)
            first = (self.crm.name, notice) not in _NOTICED
            _NOTICED.add((self.crm.name, notice))
            log.log(logging.WARNING if first else logging.INFO, "crm %s: %s", self.crm.name, notice)

    # 2-3. score, diff, outbox ----------------------------------------------------------------------

    @functools.cached_property
    def chunk_options(self) -> ChunkOptions:
        """How this CRM's chunks are scored (the same in this process and in the scoring worker)."""
        context = scoring_context(self.crm.reasons_limit, self.crm.write_policy)
        return ChunkOptions(reasons_limit=self.crm.reasons_limit, batch_min=self.config.batch.batch_scorer_min, context=context, write_policy=self.crm.write_policy)

    def in_process(self) -> Scoring:
        return InProcess(self.store, self.scorers, self.chunk_options)

    def score(self, full: bool, *, as_of: dt.datetime, on_chunk: t.Callable[[], None]) -> bool:
        """Score what still needs it, chunk by chunk, each chunk one transaction with its outbox entries.

        Contacts already scored from their pulled page in this run are skipped. ``on_chunk`` is
        told after each commit (it wakes the pusher). A full rescore of a large portal on SQLite
        runs with the scores' due index set aside (:mod:`connector.sync.dueindex`).
        """
        aside = dueindex.due_index_set_aside(self.store.engine, stored_contacts=self.store.count_contacts) if full else contextlib.nullcontext()
        with aside:
            return self._score(full, as_of=as_of, on_chunk=on_chunk)

    def _score(self, full: bool, *, as_of: dt.datetime, on_chunk: t.Callable[[], None]) -> bool:
        ids: list[str] | None = None
        if full:  # the full rescore, column-wise (connector.sync.rescore), by whoever scores
            ids = self.rescore(as_of=as_of, on_chunk=on_chunk)
        if ids is None:
            ids = self.scored_ids.without(self.store.ids_to_score(as_of, [m.model for m in self.scorers.models], full=full))
            stored = self.store.count_contacts() if not full and len(ids) >= COLUMNAR_DUE else 0
            if stored and len(ids) >= COLUMNAR_SHARE * stored:
                # Many contacts due (decay moving the most active ones): reading the whole portal
                # column-wise costs less than reading each of them as records.
                self.decide_worker(stored)
                rest = self.rescore(as_of=as_of, on_chunk=on_chunk, only=ids)
                ids = ids if rest is None else rest
        size = self.config.batch.score_chunk
        for i in range(0, len(ids), size):
            self.score_chunk(ids[i : i + size], as_of=as_of, on_chunk=on_chunk)
            if self.stopped():
                break
        self.commit_scored(on_chunk=on_chunk, ahead=0)
        self.progress.finish("score")
        return not self.stopped()

    def rescore(self, *, as_of: dt.datetime, on_chunk: t.Callable[[], None], only: list[str] | None = None) -> list[str] | None:
        """Rescore everyone (or ``only`` those) column-wise, committing the moved contacts' chunks in order as they come.

        The scoring (a worker on a large portal) reads the portal and hands back chunks; up to
        :data:`SCORING_AHEAD` requests are in flight so it scores on while this process commits.
        Returns the contacts left for the exact scoring, or ``None`` when the portal could not be
        read column-wise (everyone is then scored the exact way). Where it scores is decided
        before (:meth:`decide_worker`: at a full run's start, or with the stored contacts counted).
        """
        assert self.scoring is not None
        engine, crm, models = self.store.engine, self.crm.name, self.scorers.models
        chosen: IdSet | None = None
        if only is not None:
            chosen = IdSet()
            chosen.add(only)
        scores = (lambda: read_scores(engine, crm, models)) if read_by_run(engine) else None
        started = self.scoring.start_rescore(as_of, self.scored_ids, lambda: kept_scan(engine, crm, models, utc(self.wall())), scores, chosen)
        # Requests left in flight at the end are answered with the end again (or, when stopped, with
        # chunks nobody commits: those contacts keep their old scores); answers come in order, so
        # later requests to the scoring are not confused by them.
        ahead: collections.deque[cf.Future[ScoredChunk | RescoreEnd]] = collections.deque()
        end: RescoreEnd | None = None
        while end is None and not self.stopped():
            while len(ahead) <= SCORING_AHEAD:
                ahead.append(self.scoring.next_rescored())
            try:
                got = ahead.popleft().result()
            except Exception:
                started.result()  # the portal could not be read: that error, not its consequence
                raise
            if isinstance(got, RescoreEnd):
                end = got
                break
            self.scored_ids.add(got.ids)
            self._commit(got)
            on_chunk()
            self.renew()
        if end is None:
            return []
        self.summary.scored += end.unchanged
        self.progress.advance("score", end.unchanged)
        return self.scored_ids.without(end.exact) if end.columnar else None

    def score_chunk(self, chunk: t.Sequence[str], *, as_of: dt.datetime, on_chunk: t.Callable[[], None]) -> None:
        """Hand ``chunk`` to the scoring; commit what is scored, keeping at most :data:`SCORING_AHEAD` chunks ahead."""
        assert self.scoring is not None
        self.decide_worker(len(self.scored_ids))
        self.scoring_ahead.append(self.scoring.submit(chunk, as_of))
        self.scored_ids.add(chunk)
        self.commit_scored(on_chunk=on_chunk, ahead=SCORING_AHEAD)

    def decide_worker(self, scored: int) -> None:
        """Score on in a worker process once ``scored`` reaches ``batch.score_worker_after`` (decided once per run)."""
        assert self.scoring is not None
        after = self.config.batch.score_worker_after
        if after and not self.worker_decided and scored >= after:
            self.worker_decided = True
            blocker = worker_blocker(self.store.engine)
            if blocker is None:
                url = self.store.engine.url.render_as_string(hide_password=False)
                self.scoring.close()
                self.scoring = ScoringWorker(url, self.crm.name, [str(m) for m in self.crm.models], self.chunk_options)
                log.info("crm %s: scoring continues in a worker process", self.crm.name)
            else:
                log.debug("crm %s: scoring stays in this process: %s", self.crm.name, blocker)

    def commit_scored(self, *, on_chunk: t.Callable[[], None], ahead: int) -> None:
        """Commit scored chunks in order: those done, and more (waiting) until at most ``ahead`` are left."""
        while self.scoring_ahead and (self.scoring_ahead[0].done() or len(self.scoring_ahead) > ahead):
            self._commit(self.scoring_ahead.popleft().result())
            on_chunk()
            self.renew()

    def _commit(self, chunk: ScoredChunk) -> None:
        """Scores, stage moves, firings, outbox entries and quarantined contacts of a chunk: one transaction."""
        now = utc(self.clock())
        for warning in chunk.warnings:
            log.warning("crm %s: %s", self.crm.name, warning)
        # Outbox rows staged claimed for the running pusher (it reads them, no claim of its own):
        # then the commit waits for the disk, as a claim did (see Store.bulk_transaction).
        pusher = self.running_pusher
        claimed = pusher is not None and pusher.taking
        with self.store.bulk_transaction(durable=claimed) as conn:
            self.store.save_scores(conn, chunk.scores)
            self.store.add_stage_changes(conn, chunk.moves)
            record_firings(conn, self.crm.name, chunk.firings)
            staged = stage_changes(
                conn, self.crm.name, chunk.desired, chunk.as_of, self.summary.run_id,
                companions=self.scorers.companions, policy=self.crm.write_policy, claimed=claimed, prepared=chunk.prepared,
            )  # fmt: skip
            if pusher is not None and staged.claimed:  # before the commit: the pusher may read the rows at once
                pusher.known(staged.claimed)
            self.store.clear_needs_score(conn, chunk.ids)
            for cid, reason, raw in chunk.failed:
                self.store.add_quarantine("scoring", cid, reason, raw, now, self.summary.run_id, conn=conn)
        changed = staged.changed
        self.summary.changed += changed
        statistics = self.store.statistics
        for table, rows in (("scores", len(chunk.scores)), ("stage_history", len(chunk.moves)), ("outbox", changed), ("trigger_firings", len(chunk.firings))):
            statistics.stored(rows, table)
        self.summary.scored += len(chunk.ids) - len(chunk.failed)
        self.summary.quarantined += len(chunk.failed)
        self.progress.advance("score", len(chunk.ids))

    # 4. push and 5. actions ------------------------------------------------------------------------

    def pusher(self) -> Pusher:
        """The run's pusher, on the ``writer`` adapter; its progress bar counts rows written while scoring goes on."""
        self.progress.start("push")
        return Pusher(
            self.store,
            self.adapters["writer"],
            batch_size=self.config.batch.push_size,
            max_attempts=self.config.batch.max_push_attempts,
            clock=self.clock,
            run_id=self.summary.run_id,
            before_batch=self.renew,
            on_batch=lambda n: self.progress.advance("push", n),
            stop=self.stop,
        )

    def pushed(self, counts: PushCounts) -> None:
        """Add what the pusher did to the run's summary."""
        self.progress.finish("push")
        self.summary.written += counts.written
        self.summary.failed += counts.failed
        self.summary.quarantined += counts.quarantined
        if counts.error:
            self.summary.error = counts.error

    def run_actions(self) -> None:
        """Carry out the pending trigger actions (see :mod:`connector.sync.actions`)."""
        self.progress.start("actions")
        counts = execute_pending(
            self.store,
            self.adapters["main"],
            clock=self.clock,
            run_id=self.summary.run_id,
            max_attempts=self.config.batch.max_push_attempts,
            webhook=webhook_sender(self.crm.webhooks, env_file=self.config.env_file),
            before_call=self.renew,
            stop=self.stop,
        )
        self.progress.advance("actions", counts.done)
        self.progress.finish("actions")
        self.summary.actions += counts.done
        self.summary.quarantined += counts.quarantined
        self.summary.failed += counts.failed


@dc.dataclass(frozen=True)
class _Ahead:
    """The pulls :meth:`_Run.reader_ahead` started: their pages, in order, as they arrive."""

    contacts: t.Iterator[Page[Contact]]
    outcomes: t.Iterator[Page[Outcome]]


def _records(page: Page[t.Any]) -> int:
    return len(page.records)
