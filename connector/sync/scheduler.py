"""When each CRM syncs: apscheduler 3 jobs persisted in the state database.

One job per CRM runs the incremental sync on the CRM's interval or cron schedule, and one more per
CRM runs the daily full rescore (so decay is applied even to contacts nobody touched). The jobs live
in the ``scheduler_jobs`` table of the state database (apscheduler's SQLAlchemyJobStore), so a
restarted service keeps its schedule: a job whose time passed while the service was down runs once
at start (``coalesce``), within the misfire grace time.

apscheduler persists a job's callable as a textual reference, so a job cannot carry the running
service (its stop event, its configuration object). Instead of a global registry, the scheduler runs
jobs through :class:`SyncExecutor`, which is handed the service's runner and calls it with the job's
``(crm, full)`` arguments. The stored reference, :func:`scheduled_sync`, is a real function that a
plain apscheduler executor could run too: it loads the configuration and syncs once.

Several service instances may share one PostgreSQL state database: apscheduler 3 does not
coordinate schedulers, so each instance fires its own jobs, and the pipeline's per-CRM lease makes
sure only one of them pushes a CRM at a time.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

if t.TYPE_CHECKING:
    from apscheduler.job import Job
    from apscheduler.triggers.base import BaseTrigger

    from connector.sync.config import ConnectorConfig

__all__ = [
    "JOB_TABLE",
    "RESCORE_GRACE_SECONDS",
    "JobSpec",
    "Runner",
    "SyncExecutor",
    "SyncScheduler",
    "daily_trigger",
    "job_id",
    "job_specs",
    "next_run_times",
    "schedule_trigger",
    "scheduled_sync",
]

log = logging.getLogger(__name__)

#: The table apscheduler keeps its jobs in, inside the state database.
JOB_TABLE = "scheduler_jobs"

#: A daily full rescore missed while the service was down still runs at start within this time.
RESCORE_GRACE_SECONDS = 23 * 3600

#: What a job runs: ``runner(crm_name, full)``.
Runner = t.Callable[[str, bool], object]


def job_id(crm: str, full: bool) -> str:
    """The job id of a CRM's incremental sync (``sync:<crm>``) or daily full rescore (``rescore:<crm>``)."""
    return f"{'rescore' if full else 'sync'}:{crm}"


@dc.dataclass(frozen=True)
class JobSpec:
    """One scheduled job as the configuration asks for it."""

    crm: str
    full: bool
    trigger: BaseTrigger

    @property
    def id(self) -> str:
        """The job's id in the job store."""
        return job_id(self.crm, self.full)


def schedule_trigger(
    *, interval_seconds: float | None = None, cron: str | None = None, timezone: str | dt.tzinfo = "UTC"
) -> BaseTrigger:
    """The trigger of an incremental sync: every ``interval_seconds``, or a 5-field crontab line.

    Raises:
        ValueError: neither or both are given, or the crontab line is not valid.
    """
    if (interval_seconds is None) == (cron is None):
        raise ValueError("a schedule needs exactly one of an interval or a cron expression")
    if cron is not None:
        return CronTrigger.from_crontab(cron, timezone=timezone)
    if interval_seconds is None or interval_seconds <= 0:
        raise ValueError(f"the sync interval must be positive, got {interval_seconds}")
    return IntervalTrigger(seconds=interval_seconds, timezone=timezone)


def daily_trigger(at: str | dt.time, timezone: str | dt.tzinfo = "UTC") -> BaseTrigger:
    """The trigger of the daily full rescore, at ``HH:MM`` (a string or a ``datetime.time``)."""
    if isinstance(at, str):
        try:
            at = dt.time.fromisoformat(at)
        except ValueError as exc:
            raise ValueError(f"the full rescore time must look like HH:MM, got {at!r}") from exc
    return CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=timezone)


def scheduled_sync(crm: str, full: bool, config_path: str | None = None) -> object:
    """What a stored job names: load the configuration and run one sync of ``crm``.

    The service runs jobs through :class:`SyncExecutor` with its own runner instead (to share its
    stop event); this function is what a plain apscheduler executor would call.
    """
    from connector.sync.config import config_path as default_path
    from connector.sync.config import load_config
    from connector.sync.pipeline import run_sync

    return run_sync(load_config(default_path(config_path)), crm, full=full)


class _BoundJob:
    """The view of a job that ``apscheduler.executors.base.run_job`` needs, calling our runner."""

    def __init__(self, job: Job, runner: Runner) -> None:
        self.id = job.id
        self.misfire_grace_time = job.misfire_grace_time
        self.args: tuple[t.Any, ...] = tuple(job.args[:2])
        self.kwargs: dict[str, t.Any] = {}
        self.func = runner
        self._name = job.name

    def __str__(self) -> str:
        return self._name


class SyncExecutor(BaseExecutor):
    """Runs jobs on threads, calling the runner it was given with the job's ``(crm, full)``.

    Misfire handling, events and error logging stay apscheduler's own (``run_job``).
    """

    def __init__(self, runner: Runner, max_workers: int = 4) -> None:
        super().__init__()
        import concurrent.futures

        self._runner = runner
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="sync")

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        bound = _BoundJob(job, self._runner)

        def done(future: t.Any) -> None:
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(run_job, bound, job._jobstore_alias, run_times, self._logger.name)
        future.add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, block until the runs in flight are over."""
        self._pool.shutdown(wait)


class SyncScheduler:
    """The service's scheduler: reconciles the stored jobs with the configuration, then fires them.

    Args:
        database_url: the state database; jobs are kept in its ``scheduler_jobs`` table.
        specs: the jobs the configuration asks for.
        runner: called as ``runner(crm, full)`` on a worker thread for each due job.
        misfire_grace_seconds: how late an incremental run may still start (e.g. after a restart);
            a missed daily rescore may be up to :data:`RESCORE_GRACE_SECONDS` late.
        config_path: stored with each job so :func:`scheduled_sync` could run it on its own.
        clock: the current time (UTC), injectable for tests.
    """

    def __init__(
        self,
        database_url: str,
        specs: t.Sequence[JobSpec],
        runner: Runner,
        *,
        misfire_grace_seconds: int = 3600,
        config_path: str | None = None,
        clock: t.Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._specs = list(specs)
        self._config_path = config_path
        self._misfire = misfire_grace_seconds
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._engine = _make_engine(database_url)
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine, tablename=JOB_TABLE)},
            executors={"default": SyncExecutor(runner, max_workers=max(1, len(self._specs)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace_seconds},
            timezone=dt.UTC,
        )

    def start(self) -> None:
        """Start firing jobs: new jobs run at once, kept jobs keep their stored next run time."""
        self._scheduler.start(paused=True)
        self._reconcile()
        self._scheduler.resume()

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing jobs; with ``wait``, block until the runs in flight are over."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        self._engine.dispose()

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """Each job's next run time, by job id."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    def _reconcile(self) -> None:
        """Make the job store hold exactly the configured jobs, keeping unchanged ones as stored.

        A job whose trigger did not change keeps its next run time, so a restart neither skips
        nor repeats a run; a changed trigger is recomputed from now; jobs of CRMs no longer
        configured are removed.
        """
        stored = {job.id: job for job in self._scheduler.get_jobs()}
        wanted = {spec.id: spec for spec in self._specs}
        for jid in stored.keys() - wanted.keys():
            log.info("removing scheduled job %s: no longer in the configuration", jid)
            self._scheduler.remove_job(jid)
        now = self._clock()
        for jid, spec in wanted.items():
            old = stored.get(jid)
            args = (spec.crm, spec.full)
            if old is not None and _trigger_key(old.trigger) == _trigger_key(spec.trigger) and tuple(old.args[:2]) == args:
                log.info("keeping scheduled job %s, next run %s", jid, old.next_run_time)
                continue
            # A new incremental sync runs at once; a new daily rescore waits for its time.
            first = now if not spec.full else spec.trigger.get_next_fire_time(None, now)
            self._scheduler.add_job(
                scheduled_sync,
                trigger=spec.trigger,
                args=args,
                kwargs={"config_path": self._config_path},
                id=jid,
                name=jid,
                replace_existing=True,
                next_run_time=first,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self._misfire if not spec.full else max(self._misfire, RESCORE_GRACE_SECONDS),
            )
            log.info("scheduled job %s (%s), next run %s", jid, spec.trigger, first)


def _trigger_key(trigger: BaseTrigger) -> str:
    """What makes two triggers the same schedule (an interval's start date does not; its zone does)."""
    if isinstance(trigger, IntervalTrigger):
        return f"interval[{trigger.interval}, {trigger.timezone}]"
    return repr(trigger)


def _make_engine(database_url: str) -> sa.Engine:
    """An engine for the job store; SQLite waits for locks instead of failing at once."""
    if database_url.startswith("sqlite"):
        return sa.create_engine(database_url, connect_args={"timeout": 30, "check_same_thread": False})
    return sa.create_engine(database_url, pool_pre_ping=True)


def next_run_times(config: ConnectorConfig) -> dict[str, dt.datetime | None]:
    """The next scheduled run of each configured CRM, read from the job store (for ``connector status``).

    ``None`` means "not scheduled": no ``connector run`` has stored a job for that CRM yet. Reads
    the table directly (no unpickling), so it is safe and cheap to call from the CLI.

    Args:
        config: the loaded connector configuration (its state database and CRM names are used).
    """
    names = [crm.name for crm in config.crms]
    out: dict[str, dt.datetime | None] = dict.fromkeys(names)
    engine = _make_engine(_database_url(config))
    try:
        if not sa.inspect(engine).has_table(JOB_TABLE):
            return out
        table = sa.table(JOB_TABLE, sa.column("id"), sa.column("next_run_time"))
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.next_run_time)).all()
    finally:
        engine.dispose()
    for jid, ts in rows:
        _kind, _, crm = str(jid).partition(":")
        if crm not in out or ts is None:
            continue
        when = dt.datetime.fromtimestamp(float(ts), dt.UTC)
        current = out[crm]
        out[crm] = when if current is None or when < current else current
    return out


def _database_url(config: ConnectorConfig) -> str:
    """The state database URL of a loaded configuration (``DATABASE_URL`` overrides the file)."""
    return config.effective_database_url()


def job_specs(config: ConnectorConfig) -> list[JobSpec]:
    """The jobs ``connector.yaml`` asks for: each CRM's sync schedule and its daily full rescore.

    A CRM with neither ``interval_minutes`` nor ``cron`` syncs every 15 minutes;
    ``full_rescore_at: null`` means no daily rescore for that CRM.
    """
    specs: list[JobSpec] = []
    for crm in config.crms:
        sched = crm.schedule
        if sched.cron is not None:
            trigger = schedule_trigger(cron=sched.cron, timezone=sched.timezone)
        else:
            minutes = sched.every_minutes or 15.0
            trigger = schedule_trigger(interval_seconds=minutes * 60, timezone=sched.timezone)
        specs.append(JobSpec(crm.name, False, trigger))
        if sched.full_rescore_at is not None:
            specs.append(JobSpec(crm.name, True, daily_trigger(sched.full_rescore_at, sched.timezone)))
    return specs
