"""One sync run of one CRM, top-down: pull -> store -> score -> diff -> outbox -> push -> actions.

Follow a contact through :func:`run_sync`:

1. **Pull.** The adapter yields pages of activity that occurred since the checked-in cursor (minus
   the overlap window), then pages of contacts changed since theirs. Each page is committed as it
   comes (new or changed contacts, and contacts with new activity, are marked ``needs_score``); a
   stream's cursor is checked in only once every page of it is stored. Records the adapter could
   not translate are quarantined with the reason.
2. **Score** only what needs it. New or changed contacts are scored page by page as they are
   pulled (their activity is already stored), in the time the pull would wait for its search
   budget; then
   the rest: contacts with new activity, contacts whose stored ``changes_at`` (a decay step, an
   activity leaving a window) has passed, contacts a model has never scored, everyone on
   ``full``. Anonymous ``email:<address>`` activity and known identities are resolved by the store.
3. **Diff.** Each scored contact's outputs (score, dimensions, grade, matrix, stage, reasons
   summary, scored-at) are compared with what the CRM holds after the writes already made or in
   flight; only real changes go to the outbox, in the same transaction as the scores, stage
   history and trigger firings.
4. **Push** the outbox in the largest batches the adapter takes, each batch marked done as it
   lands: first what an earlier run left, then, in the background with its own adapter (same
   rate limiter) while pulling and scoring go on, every complete batch, then the last one. The
   background push is a thread; once a run has staged ``batch.push_process_after`` contacts it
   moves to its own process (a second CPU core, see :mod:`connector.sync.push_process`).
   Scoring is CPU work and pulling and pushing wait on separate rate limits, so a large run takes
   about as long as its slowest part rather than the sum. Then pending trigger actions run once.

A crash at any point loses nothing (uncommitted work is redone: cursors did not move, scores and
outbox rows were not committed) and doubles nothing (activities are unique, the outbox holds one
pending row per contact, firings have idempotency keys). The lease keeps other instances out.

Everything the run depends on is handed in: the config, the clock (no ``datetime.now()`` below
this function), the adapter factory, a progress sink and a stop event.
"""

from __future__ import annotations

import contextlib
import dataclasses as dc
import datetime as dt
import functools
import logging
import os
import queue
import threading
import typing as t

from connector.adapters.base import ApiStats, CRMAdapter, CRMError, RequestGate
from connector.scoring.model import ScoringModel
from connector.scoring.records import utc
from connector.scoring.result import ScoreResult
from connector.sync import cursor
from connector.sync.actions import execute_pending, record_firings
from connector.sync.config import ConnectorConfig, CRMConfig
from connector.sync.db import open_database
from connector.sync.lease import Lease, LeaseLost, default_owner
from connector.sync.outbox import OutboxPusher, release_unsent, stage_changes
from connector.sync.push_process import AdaptivePusher, PushJob, process_push_blocker
from connector.sync.ratelimit import RateLimiter
from connector.sync.store import Store

if t.TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["AdapterFactory", "NullProgress", "Prefetch", "Progress", "RunSummary", "ScorerSet", "outputs_of", "run_sync"]

log = logging.getLogger(__name__)

#: Builds the adapter of a configured CRM, handed the rate limiter to gate every request with.
AdapterFactory = t.Callable[[CRMConfig, RequestGate], CRMAdapter]
Clock = t.Callable[[], dt.datetime]

#: Records of the contact pull that may wait while the activity is pulled (see ``_Run.contacts_ahead``).
AHEAD_RECORDS = 20_000

STAGES = ("pull contacts", "pull activities", "score", "push", "actions")


class Progress(t.Protocol):
    """Where a run reports its progress (the CLI draws bars; the scheduler logs)."""

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins; ``total`` when known."""

    def advance(self, stage: str, amount: int) -> None:
        """``amount`` more items of the stage are done."""

    def finish(self, stage: str) -> None:
        """The stage is over."""


class NullProgress:
    """Reports nothing."""

    def start(self, stage: str, total: int | None = None) -> None:  # noqa: D102
        return None

    def advance(self, stage: str, amount: int) -> None:  # noqa: D102
        return None

    def finish(self, stage: str) -> None:  # noqa: D102
        return None


@dc.dataclass
class RunSummary:
    """What one run did; also stored in the ``runs`` table."""

    crm: str
    run_id: int | None = None
    status: str = "running"
    full: bool = False
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    pulled_contacts: int = 0
    pulled_activities: int = 0
    rejected: int = 0
    scored: int = 0
    changed: int = 0
    written: int = 0
    failed: int = 0
    quarantined: int = 0
    actions: int = 0
    api_calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    error: str | None = None

    def counts(self) -> dict[str, t.Any]:
        """The counters, as stored in the run's row."""
        skip = {"crm", "run_id", "status", "full", "started_at", "ended_at", "error"}
        return {k: v for k, v in dc.asdict(self).items() if k not in skip}

    @property
    def ok(self) -> bool:
        """True when the run finished everything it set out to do."""
        return self.status == "ok"


@dc.dataclass
class ScorerSet:
    """The models of one CRM, each with a per-contact scorer and, when available, a batch scorer."""

    models: list[ScoringModel]
    scorers: list[t.Any]
    batch: list[t.Any | None]

    @classmethod
    def load(cls, paths: t.Sequence[t.Any]) -> ScorerSet:
        """Load the model files (cross-model clashes are errors) and their predictors."""
        from connector.scoring.engine import Scorer
        from connector.scoring.loader import load_models, load_predictors

        models = load_models(paths)
        scorers: list[t.Any] = []
        batch: list[t.Any | None] = []
        for model, path in zip(models, paths, strict=True):
            predictors = load_predictors(model, path)
            scorers.append(Scorer(model, predictors))
            try:
                from connector.scoring.batch import BatchScorer

                batch.append(BatchScorer(model, predictors))
            except ImportError:  # pragma: no cover - the batch path is optional
                batch.append(None)
        return cls(models, scorers, batch)


def outputs_of(result: ScoreResult, model: ScoringModel, reasons_max_chars: int, names: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The values a score result writes to the CRM, keyed by canonical output name.

    ``names``: ``model.output_names()``, when the caller has it already (it runs per result).
    """
    from connector.scoring.explain import summary

    names = names if names is not None else model.output_names()
    out: dict[str, t.Any] = {names["score"]: result.score}
    for dim in model.dimensions:
        out[names[f"dimension:{dim}"]] = result.dimensions.get(dim)
    for key in ("grade", "matrix", "stage"):
        if key in names:
            out[names[key]] = getattr(result, key)
    out[names["reasons"]] = summary(result, reasons_max_chars)
    out[names["scored_at"]] = result.as_of
    return out


class Prefetch:
    """Runs a page iterator (an adapter's pull) on its own thread, ``depth`` pages ahead of the consumer.

    Why: the pull waits for its search budget and the network, storing and scoring a page is CPU.
    Fetched one after the other, every page pays both; with the next page requested while the
    current one is scored, the pull runs at the rate limit whenever the CPU keeps up. Pages still
    arrive in order, and only the consumer stores them and moves the cursor, so crash safety is
    untouched. The adapter doing the pull is used by this thread alone until the pull ends (the
    writer has its own adapter). An error of the iterator is raised in the consumer, at the page
    where it happened. Leaving the ``with`` block early (stop, error) ends the thread after the
    request in flight and closes the iterator.
    """

    _END = object()

    def __init__(self, pages: t.Iterable[t.Any], *, depth: int = 2, name: str = "prefetch", max_records: int | None = None) -> None:
        self._pages = pages
        self._queue: queue.Queue[tuple[t.Any, BaseException | None]] = queue.Queue(maxsize=max(1, depth))
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        # With ``max_records``, a deep queue is also bounded by the records it holds (pages of a
        # few hundred or a few thousand records, depending on the CRM): memory stays bounded.
        self._max_records = max_records
        self._held = 0
        self._room = threading.Condition()

    def __enter__(self) -> t.Iterator[t.Any]:
        self._thread.start()
        return self._iterate()

    def __exit__(self, *exc: object) -> None:
        self._quit.set()
        while self._thread.is_alive():
            try:  # make room so a blocked producer sees the quit flag
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _iterate(self) -> t.Iterator[t.Any]:
        while True:
            item, error = self._queue.get()
            self._release(item)
            if error is not None:
                raise error
            if item is self._END:
                return
            yield item

    @staticmethod
    def _size(item: t.Any) -> int:
        return len(getattr(item, "records", ()) or ())

    def _release(self, item: t.Any) -> None:
        if self._max_records is None:
            return
        with self._room:
            self._held -= self._size(item)
            self._room.notify_all()

    def _put(self, item: t.Any, error: BaseException | None = None) -> bool:
        if self._max_records is not None:
            size = self._size(item)
            with self._room:
                while self._held > 0 and self._held + size > self._max_records:
                    if self._quit.is_set():
                        return False
                    self._room.wait(timeout=0.1)
                self._held += size
        while not self._quit.is_set():
            try:
                self._queue.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        iterator = iter(self._pages)
        try:
            for page in iterator:
                if not self._put(page):
                    return
            self._put(self._END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, in order
            self._put(None, exc)
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()


def _real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_sync(
    config: ConnectorConfig,
    crm_name: str | None = None,
    *,
    full: bool = False,
    resync: bool = False,
    clock: Clock | None = None,
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
        adapter_factory: builds the adapter (default: :func:`connector.sync.adapters_factory.build_adapter`).
        progress: progress sink.
        stop: when set, the run ends after the page or batch in flight (progress kept).
        owner: lease owner name (default: host, pid and a nonce).
        engine: an open state database (default: opened from the config, schema upgraded).
        scorers: preloaded models (default: loaded from the CRM's model files).

    Raises:
        connector.sync.lease.LeaseBusy: another instance is syncing this CRM.
        KeyError: no such CRM in the config.
    """
    crm = config.crm(crm_name)
    clock = clock or _real_clock
    progress = progress or NullProgress()
    if adapter_factory is None:
        from connector.sync.adapters_factory import build_adapter

        # A partial, not a closure: the push process (see connector.sync.push_process) gets it too.
        adapter_factory = functools.partial(build_adapter, env_file=config.env_file)

    scorers = scorers or ScorerSet.load(crm.models)
    own_engine = engine is None
    engine = engine or open_database(config.effective_database_url())
    try:
        return _run_leased(config, crm, engine, scorers, clock, adapter_factory, progress, stop, owner, full=full, resync=resync)
    finally:
        if own_engine:
            engine.dispose()


def _run_leased(
    config: ConnectorConfig,
    crm: CRMConfig,
    engine: sa.Engine,
    scorers: ScorerSet,
    clock: Clock,
    adapter_factory: AdapterFactory,
    progress: Progress,
    stop: threading.Event | None,
    owner: str | None,
    *,
    full: bool,
    resync: bool,
) -> RunSummary:
    """Claim the CRM's lease, record the run, run its stages, record how it ended."""
    store = Store(engine, crm.name)
    lease = Lease(engine, crm.name, owner or default_owner(), ttl_seconds=config.lease.ttl_seconds, clock=clock)
    lease.acquire(config.lease.wait_seconds)
    started_at = utc(clock())
    summary = RunSummary(crm=crm.name, full=full, started_at=started_at)
    try:
        summary.run_id = store.start_run(started_at, full=full, owner=lease.owner)
        log.info("crm %s: run %s started (full=%s, resync=%s)", crm.name, summary.run_id, full, resync)
        blocker = process_push_blocker(adapter_factory, clock, crm, engine) if config.batch.push_process_after else "turned off"
        if blocker is not None:
            log.debug("crm %s: the push stays on a thread: %s", crm.name, blocker)
        # Shared memory when the push may move to its own process: both draw from one budget.
        limiter = RateLimiter.from_config(crm.rate_limit, shared=blocker is None)
        # Three adapters sharing one rate limiter: the contact pull and the writer work on their
        # own threads while the main thread pulls activity, stores and scores, and no adapter is
        # ever used by two threads at once.
        adapter = adapter_factory(crm, limiter)
        writer = adapter_factory(crm, limiter)
        reader = adapter_factory(crm, limiter)
        used = (adapter, writer, reader)
        before = [dc.replace(getattr(a, "stats", None) or ApiStats()) for a in used]
        push_job = None
        if blocker is None:
            database_url = engine.url.render_as_string(hide_password=False)

            def push_job(after_id: int) -> PushJob:
                return PushJob(
                    crm=crm, database_url=database_url, adapter_factory=adapter_factory, clock=clock, owner=lease.owner,
                    ttl_seconds=config.lease.ttl_seconds, run_id=summary.run_id, batch_size=config.batch.push_size,
                    max_attempts=config.batch.max_push_attempts, after_id=after_id, parent_pid=os.getpid(),
                )

        run = _Run(config, crm, store, lease, adapter, writer, scorers, clock, progress, stop, summary, reader=reader, limiter=limiter, push_job=push_job)
        try:
            run.go(full=full, resync=resync)
            summary.status = "stopped" if stop is not None and stop.is_set() else ("partial" if summary.error else "ok")
        except (CRMError, LeaseLost) as exc:
            summary.status, summary.error = "failed", str(exc)
            log.error("crm %s: run %s failed: %s", crm.name, summary.run_id, exc)
        finally:
            for a, b in zip(used, before, strict=True):
                stats = getattr(a, "stats", None) or ApiStats()
                summary.api_calls += stats.calls - b.calls
                summary.retries += stats.retries - b.retries
                summary.rate_limited += stats.rate_limited - b.rate_limited
                close = getattr(a, "close", None)
                if callable(close):
                    close()
            # What the push process did over the wire (zero when the push stayed on a thread).
            summary.api_calls += run.push_stats.calls
            summary.retries += run.push_stats.retries
            summary.rate_limited += run.push_stats.rate_limited
            summary.rate_limited = max(summary.rate_limited, limiter.stats.rate_limited + run.push_rate_limited)
    except BaseException as exc:
        summary.status = "failed"
        summary.error = summary.error or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        summary.ended_at = utc(clock())
        if summary.run_id is not None:
            store.finish_run(summary.run_id, summary.ended_at, summary.status, summary.counts(), summary.error)
        lease.release()
        log.info(
            "crm %s: run %s %s: pulled %d contacts, %d activities; scored %d; changed %d; written %d; api calls %d",
            crm.name, summary.run_id, summary.status, summary.pulled_contacts, summary.pulled_activities,
            summary.scored, summary.changed, summary.written, summary.api_calls,
        )
    return summary


@dc.dataclass
class _Run:
    """The stages of one run, sharing its collaborators (kept out of the public surface)."""

    config: ConnectorConfig
    crm: CRMConfig
    store: Store
    lease: Lease
    adapter: CRMAdapter
    writer: CRMAdapter
    scorers: ScorerSet
    clock: Clock
    progress: Progress
    stop: threading.Event | None
    summary: RunSummary
    #: pulls the contacts (on the prefetch thread) while ``adapter`` pulls activity; default ``adapter``
    reader: CRMAdapter | None = None
    #: the rate limiter of the run (handed to the push process, if one starts)
    limiter: t.Any = None
    #: builds the push process's job from the outbox id to continue after; None: push on a thread only
    push_job: t.Callable[[int], PushJob] | None = None
    scored_ids: set[str] = dc.field(default_factory=set)
    #: API statistics of the push process
    push_stats: ApiStats = dc.field(default_factory=ApiStats)
    push_rate_limited: int = 0

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def go(self, *, full: bool, resync: bool) -> None:
        until = utc(self.clock())
        with self.store.transaction() as conn:
            release_unsent(conn, self.crm.name)  # rows a killed run was sending
        # Writes left over by an earlier run go first.
        pusher = self.pusher()
        pusher.push()
        background = None
        if not pusher.halted:
            background = AdaptivePusher(
                pusher,
                staged=lambda: self.summary.changed,
                job=self.push_job,
                limiter=self.limiter,
                after=self.config.batch.push_process_after,
                stop=self.stop,
            )
        poke = background.poke if background is not None else None
        scored = False
        failed = True
        try:
            # Activity first, so contacts can be scored as soon as their page is stored: the
            # scoring then fills the time the contact pull would wait for its search budget.
            # (Measured: in the pulling thread beats a scoring thread, which only adds contention
            # for the interpreter lock.) Scores are as of the run's start: the instant the pulled
            # data is complete up to.
            def score_page(ids: list[str]) -> None:
                self.score_chunk(ids, as_of=until, on_chunk=poke)

            with self.contacts_ahead(until, resync) as contact_pages:
                if self.pull("activities", until, resync) and self.pull("contacts", until, resync, on_page=score_page, pages=contact_pages):
                    scored = self.score(full, as_of=until, on_chunk=poke)
            failed = False
        finally:
            if background is not None:
                try:
                    background.finish(abort=failed)
                finally:
                    self.push_stats, self.push_rate_limited = background.stats, background.rate_limited
        if scored:
            pusher.push()  # the last, incomplete batch
        self.progress.finish("push")
        self.summary.written += pusher.counts.written
        self.summary.failed += pusher.counts.failed
        self.summary.quarantined += pusher.counts.quarantined
        if pusher.counts.error:
            self.summary.error = pusher.counts.error
        if scored and not self.stopped():
            self.run_actions()

    # 1. pull --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def contacts_ahead(self, until: dt.datetime, resync: bool) -> t.Iterator[t.Iterator[t.Any] | None]:
        """Start pulling contacts (on ``reader``, its own thread) while the activity is pulled.

        Why: the activity pull spends the general budget, the contact pull the search budget; one
        after the other, a large run paid the activity pull (13 s for 100,000 contacts) on top of
        the search bound. The pages wait, in order, up to :data:`AHEAD_RECORDS` records, until the
        activity is stored; only then are they stored and scored, so every contact is scored with
        its activity, and the cursors move exactly as before. Without a separate reader, nothing
        is started early.
        """
        if self.reader is None or self.stopped():
            yield None
            return
        state = self.store.cursor_state()
        since = cursor.since(state, "contacts", dt.timedelta(minutes=self.config.overlap_for(self.crm)), full=resync)
        pages = self.reader.pull_contacts(since, until)
        with Prefetch(pages, depth=10_000, max_records=AHEAD_RECORDS, name=f"pull-{self.crm.name}-contacts") as prefetched:
            yield prefetched

    def pull(
        self,
        stream: str,
        until: dt.datetime,
        resync: bool,
        on_page: t.Callable[[list[str]], None] | None = None,
        pages: t.Iterator[t.Any] | None = None,
    ) -> bool:
        """Pull and store one stream; check its cursor in when every page is stored.

        The ids of contacts that are new or changed go to ``on_page`` once their page is stored.
        ``pages``: the stream's pull, already started (see :meth:`contacts_ahead`).
        """
        if self.stopped():
            return False
        state = self.store.cursor_state()
        stage = f"pull {stream}"
        self.progress.start(stage)
        if stream == "contacts":
            self.progress.start("score")  # contacts are scored page by page from here on
        if pages is not None:
            return self._store_pages(stream, stage, state, pages, until, on_page)
        overlap = dt.timedelta(minutes=self.config.overlap_for(self.crm))
        since = cursor.since(state, stream, overlap, full=resync)
        started = self.adapter.pull_contacts(since, until) if stream == "contacts" else self.adapter.pull_activities(since, until)
        with Prefetch(started, name=f"pull-{self.crm.name}-{stream}") as prefetched:
            return self._store_pages(stream, stage, state, prefetched, until, on_page)

    def _store_pages(
        self,
        stream: str,
        stage: str,
        state: cursor.State,
        pages: t.Iterable[t.Any],
        until: dt.datetime,
        on_page: t.Callable[[list[str]], None] | None,
    ) -> bool:
        """Store each pulled page (and hand new or changed contacts to ``on_page``); check the cursor in at the end."""
        for page in pages:
            now = utc(self.clock())
            if stream == "contacts":
                changed = self.store.save_contacts(page.records, now)
                self.summary.pulled_contacts += len(page.records)
                if changed and on_page is not None:
                    on_page(changed)
            else:
                self.store.save_activities(page.records, now)
                self.summary.pulled_activities += len(page.records)
            for reject in page.rejects:
                self.store.add_quarantine(reject.stream or stream, reject.record_id, reject.reason, reject.raw, now, self.summary.run_id)
                self.summary.rejected += 1
                log.warning("crm %s: %s record %s quarantined: %s", self.crm.name, stream, reject.record_id, reject.reason)
            state = cursor.advance_progress(state, stream, page.cursor)
            self.progress.advance(stage, len(page.records) + len(page.rejects))
            self.lease.renew()
            if self.stopped():
                self.progress.finish(stage)
                return False
        state = cursor.finalize(state, stream, until)
        self.store.check_in_cursor(stream, cursor.checked_in(state, stream), utc(self.clock()))
        self.progress.finish(stage)
        return True

    # 2-3. score, diff, outbox ----------------------------------------------------------------------

    def score(self, full: bool, *, as_of: dt.datetime, on_chunk: t.Callable[[], None] | None = None) -> bool:
        """Score what still needs it, chunk by chunk, each chunk one transaction with its outbox entries.

        Contacts already scored from their pulled page in this run are skipped. ``on_chunk`` is
        told after each commit (it wakes the background pusher).
        """
        names = [m.model for m in self.scorers.models]
        ids = [i for i in self.store.ids_to_score(as_of, names, full=full) if i not in self.scored_ids]
        size = self.config.batch.score_chunk
        for i in range(0, len(ids), size):
            self.score_chunk(ids[i : i + size], as_of=as_of, on_chunk=on_chunk)
            if self.stopped():
                self.progress.finish("score")
                return False
        self.progress.finish("score")
        return True

    def score_chunk(self, chunk: t.Sequence[str], *, as_of: dt.datetime, on_chunk: t.Callable[[], None] | None = None) -> None:
        """Score ``chunk`` under every model; scores, stage changes, firings and outbox in one commit."""
        data = self.store.load_for_scoring(chunk)
        use_batch = len(chunk) >= self.config.batch.batch_scorer_min
        results: list[ScoreResult] = []
        failed: set[str] = set()
        for model, scorer, batch in zip(self.scorers.models, self.scorers.scorers, self.scorers.batch, strict=True):
            results += self._score_model(model, scorer, batch if use_batch else None, data, as_of, failed)
        results = [r for r in results if r.contact_id not in failed]
        desired: dict[str, dict[str, t.Any]] = {}
        stage_changes_rows = []
        by_name = {m.model: m for m in self.scorers.models}
        names = {m.model: m.output_names() for m in self.scorers.models}
        for r in results:
            desired.setdefault(r.contact_id, {}).update(outputs_of(r, by_name[r.model], self.crm.reasons_limit, names[r.model]))
            before = data.previous_stage.get((r.contact_id, r.model))
            if r.stage != before and ((r.contact_id, r.model) in data.previous_stage or r.stage is not None):
                stage_changes_rows.append((r.contact_id, r.model, before, r.stage, as_of))
        companions = {m.output_names()["scored_at"] for m in self.scorers.models}
        with self.store.transaction() as conn:
            self.store.save_scores(conn, results)
            self.store.add_stage_changes(conn, stage_changes_rows)
            record_firings(conn, self.crm.name, results)
            self.summary.changed += stage_changes(conn, self.crm.name, desired, as_of, self.summary.run_id, companions=companions)
            self.store.clear_needs_score(conn, chunk)
        self.scored_ids.update(chunk)
        self.summary.scored += len(chunk) - len(failed)
        self.progress.advance("score", len(chunk))
        if on_chunk is not None:
            on_chunk()
        self.lease.renew()

    def _score_model(self, model: ScoringModel, scorer: t.Any, batch: t.Any | None, data: t.Any, as_of: dt.datetime, failed: set[str]) -> list[ScoreResult]:
        """Score a chunk under one model; a contact the engine cannot score is quarantined, not fatal."""
        previous = {cid: st for (cid, m), st in data.previous.items() if m == model.model}
        if batch is not None:
            try:
                flat = [a for c in data.contacts for a in data.activities[c.id]]
                return list(batch.score(data.contacts, flat, [], as_of, previous))
            except Exception:
                log.exception("crm %s: batch scoring failed; scoring the chunk contact by contact", self.crm.name)
        out = []
        for contact in data.contacts:
            if contact.id in failed:
                continue
            try:
                out.append(scorer.score(contact, data.activities[contact.id], [], as_of, previous.get(contact.id)))
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the run
                failed.add(contact.id)
                self.store.add_quarantine("scoring", contact.id, f"model {model.model}: {type(exc).__name__}: {exc}", {"contact_id": contact.id, "properties": dict(contact.properties)}, as_of, self.summary.run_id)
                self.summary.quarantined += 1
        return out

    # 4. push and actions ---------------------------------------------------------------------------

    def pusher(self) -> OutboxPusher:
        """The run's outbox pusher; its progress bar counts rows written while scoring goes on."""
        self.progress.start("push")
        return OutboxPusher(
            self.store,
            self.writer,
            batch_size=self.config.batch.push_size,
            max_attempts=self.config.batch.max_push_attempts,
            clock=self.clock,
            run_id=self.summary.run_id,
            before_batch=self.lease.renew,
            on_batch=lambda n: self.progress.advance("push", n),
            stop=self.stop,
        )

    def run_actions(self) -> None:
        self.progress.start("actions")
        counts = execute_pending(
            self.store,
            self.adapter,
            clock=self.clock,
            run_id=self.summary.run_id,
            max_attempts=self.config.batch.max_push_attempts,
            before_call=self.lease.renew,
            stop=self.stop,
        )
        self.progress.advance("actions", counts.done)
        self.progress.finish("actions")
        self.summary.actions += counts.done
        self.summary.quarantined += counts.quarantined
        self.summary.failed += counts.failed

