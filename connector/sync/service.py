"""``connector run``: the scheduler as a foreground service that stops cleanly.

The service starts :class:`~connector.sync.scheduler.SyncScheduler` and then only waits. On SIGTERM
or SIGINT it sets the stop event it shares with the pipeline: a run in flight finishes the batch it
is writing, checks its progress in, and returns; no new run starts; the process exits 0. A second
signal while stopping exits at once (130) -- safe too, because the pipeline is crash-safe, just
slower to resume.

Each CRM's runs are serialised here (the incremental sync and the daily full rescore of one CRM never
run side by side in one process); across processes the pipeline's lease does the same.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import typing as t

from connector.sync.scheduler import JobSpec, SyncScheduler

__all__ = ["JsonLinesFormatter", "SyncFn", "SyncService", "setup_logging"]

log = logging.getLogger(__name__)

#: One sync of one CRM: ``sync(crm, full, stop)``; it must return soon after ``stop`` is set.
SyncFn = t.Callable[[str, bool, threading.Event], object]


@dc.dataclass
class SyncService:
    """The foreground service: scheduled syncs until a signal asks it to stop.

    Args:
        database_url: the state database (the scheduler keeps its jobs there).
        specs: the scheduled jobs (see :func:`connector.sync.scheduler.job_specs`).
        sync: runs one sync; handed the shared stop event.
        misfire_grace_seconds: how late a missed run may still start.
        config_path: stored with the jobs for reference.
        stop: the stop event; pass one in to stop the service from another thread (tests).
    """

    database_url: str
    specs: t.Sequence[JobSpec]
    sync: SyncFn
    misfire_grace_seconds: int = 3600
    config_path: str | None = None
    stop: threading.Event = dc.field(default_factory=threading.Event)
    _locks: dict[str, threading.Lock] = dc.field(default_factory=dict, init=False, repr=False)
    _signals: int = dc.field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._locks = {spec.crm: threading.Lock() for spec in self.specs}

    def run(self, *, install_signal_handlers: bool = True) -> int:
        """Serve until stopped; return the process exit code (0 after a clean stop)."""
        previous: dict[signal.Signals, t.Any] = {}
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        scheduler = SyncScheduler(
            self.database_url,
            self.specs,
            self._run_job,
            misfire_grace_seconds=self.misfire_grace_seconds,
            config_path=self.config_path,
        )
        try:
            scheduler.start()
            crms = sorted({spec.crm for spec in self.specs})
            log.info("service started for %s; stop with SIGTERM or Ctrl-C", ", ".join(crms))
            for jid, when in sorted(scheduler.next_runs().items()):
                log.info("next run of %s: %s", jid, when.isoformat() if when else "not scheduled")
            # Short waits keep the main thread responsive to signals on every platform.
            while not self.stop.wait(0.5):
                pass
            log.info("stopping: a run in flight finishes its batch first")
        finally:
            scheduler.shutdown(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("service stopped cleanly")
        return 0

    def _on_signal(self, signum: int, _frame: t.Any) -> None:
        """First signal: stop after the batch in flight. Second: leave now (the pipeline resumes)."""
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals > 1:
            log.warning("%s again: exiting now; the next run resumes from the outbox and cursors", name)
            os._exit(130)
        log.info("%s received: finishing the batch in flight, then exiting (send again to exit now)", name)
        self.stop.set()

    def _run_job(self, crm: str, full: bool) -> object:
        """Run one scheduled sync, one at a time per CRM, never after stop was requested."""
        lock = self._locks.setdefault(crm, threading.Lock())
        with lock:
            if self.stop.is_set():
                log.info("not starting %s sync of %s: the service is stopping", "full" if full else "incremental", crm)
                return None
            log.info("%s sync of %s starting", "full" if full else "incremental", crm)
            try:
                return self.sync(crm, full, self.stop)
            except Exception as exc:  # noqa: BLE001 - one failed run must not end the service
                log.error("sync of %s failed: %s; the next scheduled run retries", crm, exc)
                return None


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line (``ts``, ``level``, ``logger``, ``message``, ``exc``), for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single JSON line."""
        entry: dict[str, t.Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler[t.TextIO]):
    """Writes each record to ``sys.stderr`` as it is *at that moment*.

    ``connector sync`` draws progress bars with rich, which swaps ``sys.stderr`` while they are on
    screen so that what is written there appears above the bars; a handler holding the original
    stream would tear the bars instead.
    """

    @property
    def stream(self) -> t.TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: t.TextIO) -> None:
        return None


def setup_logging(fmt: t.Literal["text", "json"] = "text", level: str = "INFO", stream: t.TextIO | None = None) -> None:
    """Send the connector's logs to stderr as text lines or JSON lines (``log_format`` in connector.yaml).

    Replaces the root handlers so running the service twice in one process does not double lines.
    apscheduler's and alembic's own chatter is kept at WARNING unless DEBUG is asked for. At INFO
    the adapters log each retry (endpoint, status, wait) and the rate limiter each 429 back-off and
    each adaptation to the CRM's announced limits; at DEBUG also every wait for the rate budget.
    """
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    if fmt == "json":
        handler.setFormatter(JsonLinesFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for chatty in ("apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(level if level == "DEBUG" else "WARNING")
