"""The push of a large run on its own process, so it uses a second CPU core.

Why: a large sync is bound by the CRM's search limit (HubSpot: 5 searches per second, 200 contacts
each, i.e. 1,000 contacts per second) only if storing, scoring and pushing a contact costs less than
a millisecond of CPU. In one interpreter the pull, the scoring and the push share one core (the
interpreter lock), and measured at 100,000 contacts they needed about 1.1 ms per contact, a third
of it the push (building request bodies, parsing answers, recording what landed). Moved to its own
process the push runs on another core, and the main process only pulls, stores and scores.

How it stays safe:

- **Same data path.** The child runs the same :class:`~connector.sync.outbox.OutboxPusher` on the
  same state database: it claims pending outbox rows (``sending``), pushes them, marks each batch
  done as it lands, exactly as the push thread did. Only rows created after the hand-over are
  read (the pusher moves forward through the ids), and each contact is scored once per run.
- **One rate budget.** The child's adapter is gated by the run's rate limiter, whose buckets live
  in shared memory (:meth:`connector.sync.ratelimit.RateLimiter.shared`), so parent and child
  together stay under the CRM's limits.
- **One lease.** The child renews the run's lease under the run's owner name before every batch;
  a lost lease stops it before its next write and fails the run, as in the parent.
- **Dies with the run.** The child asks the kernel to kill it when its parent dies (Linux
  ``PR_SET_PDEATHSIG``) and checks its parent before every batch, so a killed run never leaves a
  pusher behind; it ignores SIGINT/SIGTERM, because the parent decides when to stop (after the
  batch in flight) and tells it through an event.
- **Nothing lost.** The child reports its counts, API statistics and the last outbox id it
  reached; its log records are forwarded to the parent's logging. If it dies without a report,
  the run fails with that message and the rows it was sending are released by the next run.

Small runs never start a process (it costs a second or two of start-up): :class:`AdaptivePusher`
pushes on a thread and hands over to a process once the run has staged
``batch.push_process_after`` contacts. A run whose adapter factory or clock cannot be sent to
another process (tests with in-process fakes, an in-memory database) keeps the thread.
"""

from __future__ import annotations

import contextlib
import dataclasses as dc
import datetime as dt
import logging
import multiprocessing as mp
import os
import pickle
import signal
import threading
import typing as t

from connector.adapters.base import ApiStats, CRMError
from connector.sync.lease import Lease, LeaseLost
from connector.sync.outbox import BackgroundPusher, OutboxPusher, PushCounts

if t.TYPE_CHECKING:
    import sqlalchemy as sa

    from connector.sync.config import CRMConfig

__all__ = ["AdaptivePusher", "PushJob", "PushOutcome", "PushProcess", "PushProcessDied", "process_push_blocker"]

log = logging.getLogger(__name__)

_CTX = mp.get_context("spawn")


class PushProcessDied(CRMError):
    """The push process ended without reporting (killed, out of memory); the next run resumes its rows."""


@dc.dataclass(frozen=True)
class PushJob:
    """Everything the push process needs, sent to it once at start (must pickle)."""

    crm: CRMConfig
    #: may hold a database password, and the factory credentials (e.g. a partial with an environ):
    #: kept out of the repr, so a job in a log line or traceback shows neither
    database_url: str = dc.field(repr=False)
    adapter_factory: t.Callable[..., t.Any] = dc.field(repr=False)
    clock: t.Callable[[], dt.datetime]
    owner: str
    ttl_seconds: float
    run_id: int | None
    batch_size: int
    max_attempts: int
    after_id: int
    parent_pid: int


@dc.dataclass
class PushOutcome:
    """What the push process did, reported to the parent when it ends."""

    counts: PushCounts
    last_id: int
    stats: ApiStats
    rate_limited: int = 0


def process_push_blocker(adapter_factory: t.Any, clock: t.Any, crm: t.Any, engine: sa.Engine) -> str | None:
    """Why this run cannot push from another process (``None``: it can).

    The process is started with ``spawn`` (a fresh interpreter, safe with threads running), so
    what it needs must pickle, and it must reach the same database.
    """
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return "the state database is in memory"
    try:
        pickle.dumps((adapter_factory, clock, crm))
    except Exception as exc:  # noqa: BLE001 - any pickling failure means "not here"
        return f"the adapter factory or clock cannot be sent to another process ({type(exc).__name__})"
    return None


class PushProcess:
    """Parent side of the push process: start it, wake it, stop it, collect what it did.

    Args:
        job: what to push.
        limiter: the run's shared rate limiter (handed to the child while spawning).
        on_batch: told how many rows each landed batch carried (progress).
        run_stop: the run's stop event, passed on to the child while the parent waits for it.
    """

    def __init__(self, job: PushJob, limiter: t.Any, on_batch: t.Callable[[int], None], run_stop: threading.Event | None = None) -> None:
        self._on_batch = on_batch
        self._run_stop = run_stop
        self._wake, self._finish, self._stop = _CTX.Event(), _CTX.Event(), _CTX.Event()
        self._reports, child_end = _CTX.Pipe(duplex=False)
        self._outcome: PushOutcome | None = None
        self._error: BaseException | None = None
        self._process = _CTX.Process(
            target=_child_main,
            args=(job, limiter, child_end, self._wake, self._finish, self._stop),
            name=f"push-{job.crm.name}",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        log.info("crm %s: the push continues in process %s", job.crm.name, self._process.pid)

    def poke(self) -> None:
        """New outbox rows were committed; also hands on what the child reported so far."""
        self._drain()
        self._wake.set()

    def stop(self) -> None:
        """End after the batch in flight (the run was asked to stop)."""
        self._stop.set()
        self._wake.set()

    def finish(self) -> PushOutcome:
        """Push the remaining complete batches, wait for the child, return what it did.

        Raises:
            LeaseLost: the child found the lease taken.
            CRMError: the child could not work (e.g. its adapter could not be built), or died.
        """
        self._finish.set()
        self._wake.set()
        while self._outcome is None and self._error is None:
            if self._run_stop is not None and self._run_stop.is_set():
                self.stop()
            if self._reports.poll(0.2):
                self._drain()
            elif not self._process.is_alive():
                self._drain()
                break
        self._process.join()
        if self._error is not None:
            raise self._error
        if self._outcome is None:
            raise PushProcessDied(
                f"the push process ended without a report (exit code {self._process.exitcode}); "
                "the writes it was sending are sent again by the next run"
            )
        return self._outcome

    def _drain(self) -> None:
        while True:
            try:
                if not self._reports.poll():
                    return
                kind, payload = self._reports.recv()
            except (EOFError, OSError):
                return
            if kind == "progress":
                self._on_batch(payload)
            elif kind == "log":
                record = logging.makeLogRecord(payload)
                logging.getLogger(record.name).handle(record)
            elif kind == "done":
                self._outcome = payload
            elif kind == "lease":
                self._error = LeaseLost(payload)
            elif kind == "crm":
                self._error = CRMError(payload)
            else:
                self._error = CRMError(f"the push process failed: {payload}")


class AdaptivePusher:
    """Pushes complete batches in the background: on a thread, on a process once the run is large.

    Args:
        pusher: the run's pusher (the thread uses it; the hand-over continues from its last id,
            and the outcome of the process is merged back into it for the run's last batch).
        staged: how many contacts the run has staged so far.
        job: builds the process's job from the id to continue after; ``None``: thread only.
        limiter: the run's rate limiter (shared memory when ``job`` is given).
        after: staged contacts from which on the push moves to a process (0: never).
        stop: the run's stop event.
    """

    def __init__(
        self,
        pusher: OutboxPusher,
        *,
        staged: t.Callable[[], int],
        job: t.Callable[[int], PushJob] | None = None,
        limiter: t.Any = None,
        after: int = 0,
        stop: threading.Event | None = None,
    ) -> None:
        self.pusher = pusher
        self._staged = staged
        self._job = job if after > 0 else None
        self._limiter = limiter
        self._after = after
        self._stop = stop
        self._thread: BackgroundPusher | None = BackgroundPusher(pusher)
        self._process: PushProcess | None = None
        #: API statistics of the push process (its adapter lives there).
        self.stats = ApiStats()
        self.rate_limited = 0

    @property
    def in_process(self) -> bool:
        """True once the push has moved to its own process."""
        return self._process is not None

    def poke(self) -> None:
        """New outbox rows were committed."""
        if self._process is not None:
            if self._stop is not None and self._stop.is_set():
                self._process.stop()
            self._process.poke()
            return
        assert self._thread is not None
        self._thread.poke()
        if self._job is not None and self._staged() >= self._after and not self.pusher.halted and not self._stopped():
            self._hand_over(self._job)

    def _stopped(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def _hand_over(self, job: t.Callable[[int], PushJob]) -> None:
        assert self._thread is not None
        self.pusher.pause()
        try:
            self._thread.finish()  # after its batch in flight; re-raises what it failed with
        finally:
            self.pusher.resume()
        self._thread = None
        if self.pusher.halted:
            return
        self._process = PushProcess(job(self.pusher.last_id), self._limiter, self.pusher.on_batch, self._stop)
        self._process.poke()

    def finish(self, *, abort: bool = False) -> None:
        """Stop the background push after the batches it can complete; merge what it did.

        ``abort``: the run is failing; stop after the batch in flight instead.
        Raises what the thread or the process failed with (e.g. a lost lease).
        """
        if self._thread is not None:
            self._thread.finish()
            return
        assert self._process is not None
        if abort or self._stopped():
            self._process.stop()
        outcome = self._process.finish()
        counts = self.pusher.counts
        counts.written += outcome.counts.written
        counts.failed += outcome.counts.failed
        counts.quarantined += outcome.counts.quarantined
        counts.batches += outcome.counts.batches
        counts.error = counts.error or outcome.counts.error
        self.pusher.last_id = max(self.pusher.last_id, outcome.last_id)
        self.stats = outcome.stats
        self.rate_limited = outcome.rate_limited


# -- the child ---------------------------------------------------------------------------------------


class _ParentGone(Exception):
    """The run that started this process is gone; stop before the next write."""


class _ForwardLogs(logging.Handler):
    """Sends the child's log records to the parent, which hands them to its own logging setup."""

    def __init__(self, reports: t.Any) -> None:
        super().__init__()
        self._reports = reports

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = dict(record.__dict__)
            data["msg"], data["args"] = record.getMessage(), None
            if record.exc_info:
                data["exc_text"] = logging.Formatter().formatException(record.exc_info)
            data["exc_info"] = None
            self._reports.send(("log", data))
        except Exception:  # noqa: BLE001 - logging must never break the push
            self.handleError(record)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (elsewhere: the per-batch check)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child_main(job: PushJob, limiter: t.Any, reports: t.Any, wake: t.Any, finish: t.Any, stop: t.Any) -> None:
    """Entry point of the push process (module level, so ``spawn`` can import it)."""
    _die_with_parent()
    if os.getppid() != job.parent_pid:
        return  # the parent died before the kernel was asked to tell us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root = logging.getLogger()
    root.handlers[:] = [_ForwardLogs(reports)]
    root.setLevel(logging.INFO)
    try:
        reports.send(("done", _push_until_told(job, limiter, reports, wake, finish, stop)))
    except LeaseLost as exc:
        reports.send(("lease", str(exc)))
    except _ParentGone:
        return
    except CRMError as exc:
        reports.send(("crm", str(exc)))
    except BaseException as exc:
        log.exception("crm %s: the push process failed", job.crm.name)
        reports.send(("other", f"{type(exc).__name__}: {exc}"))


def _push_until_told(job: PushJob, limiter: t.Any, reports: t.Any, wake: t.Any, finish: t.Any, stop: t.Any) -> PushOutcome:
    from connector.sync.db import make_engine
    from connector.sync.store import Store

    engine = make_engine(job.database_url)
    adapter = None
    try:
        lease = Lease(engine, job.crm.name, job.owner, ttl_seconds=job.ttl_seconds, clock=job.clock)
        lease.adopt()

        def before_batch() -> None:
            if os.getppid() != job.parent_pid:
                raise _ParentGone
            lease.renew()

        adapter = job.adapter_factory(job.crm, limiter)
        pusher = OutboxPusher(
            Store(engine, job.crm.name),
            adapter,
            batch_size=job.batch_size,
            max_attempts=job.max_attempts,
            clock=job.clock,
            run_id=job.run_id,
            before_batch=before_batch,
            on_batch=lambda n: reports.send(("progress", n)),
            stop=stop,
        )
        pusher.last_id = job.after_id
        last_round = False
        while True:
            wake.clear()
            pusher.push(only_full=True)
            if last_round or stop.is_set() or pusher.halted:
                break
            if finish.is_set():
                last_round = True  # rows committed just before "finish": one more pass
                continue
            wake.wait(0.5)
        stats = getattr(adapter, "stats", None) or ApiStats()
        return PushOutcome(counts=pusher.counts, last_id=pusher.last_id, stats=stats, rate_limited=limiter.stats.rate_limited)
    finally:
        close = getattr(adapter, "close", None)
        if callable(close):
            close()
        engine.dispose()
