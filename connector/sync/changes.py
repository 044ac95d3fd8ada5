"""Near-real-time sync from a CRM's change feed: notices in, the normal incremental run out, the position stored after it.

Why this shape: a change notice says *that* records changed, not reliably *what* the connector
needs (related activity, fields the notice leaves null), and the scheduled sync already knows how to
pull what changed since its cursors, score, and write back once. So the listener never writes by
itself: it collects notices for ``debounce_s`` after the last one (at most ``max_delay_s`` after the
first, so a steady trickle still gets synced), then calls the same ``run_sync`` the scheduler calls.
The lease, rate budget, outbox and written-values dedupe are therefore shared with scheduled runs:
a run already going (``LeaseBusy``) just means "try again in a moment", never a double write.

The feed position (Salesforce replay id) is stored in ``feed_positions`` only after the run that
covered the notices up to it committed (status ``ok`` or ``partial``): a crash before that replays
the notices on restart (another incremental run, harmless), never loses them. On start the listener
resumes after the stored position; when there is none, when it is older than the feed's retention
(72 h for Salesforce CDC), or when the feed refuses it (:class:`ChangeGap`), it subscribes from now
on and runs an incremental pull at once, which covers whatever the gap hid. An idle feed's
keepalive positions are stored at most every ``idle_save_s`` so a quiet week does not age the
position out of the retention window. The connector's own write-backs come back as change events
too; ``is_echo`` recognises them (only output fields changed) so they move the position without
causing another run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import threading
import time
import typing as t

import sqlalchemy as sa

from connector.adapters.changes import ChangeGap, ChangeItem, ChangeNotice, ChangeSource, FeedPosition
from connector.sync.bulk import upsert
from connector.sync.lease import LeaseBusy
from connector.sync.tables import feed_positions

if t.TYPE_CHECKING:
    from connector.sync.summary import RunSummary

__all__ = ["RETENTION", "ChangeListener", "FeedPositions", "ListenStats"]

log = logging.getLogger(__name__)

RETENTION = dt.timedelta(hours=72)
_COMMITTED = ("ok", "partial")
_END = object()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FeedPositions:
    """The stored position of one CRM's feed (one row of ``feed_positions``)."""

    def __init__(self, engine: sa.Engine, crm: str, feed: str) -> None:
        self.engine = engine
        self.crm = crm
        self.feed = feed

    def load(self) -> tuple[bytes, dt.datetime] | None:
        """(position, when it was stored), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(feed_positions.c.position, feed_positions.c.updated_at)
                               .where(feed_positions.c.crm == self.crm, feed_positions.c.feed == self.feed)).one_or_none()
        return None if row is None else (bytes.fromhex(row.position), row.updated_at)

    def save(self, position: bytes, now: dt.datetime) -> None:
        """Store the position (after the run that handled everything up to it committed)."""
        with self.engine.begin() as conn:
            upsert(conn, feed_positions, [{"crm": self.crm, "feed": self.feed, "position": position.hex(), "updated_at": now}],
                   ["crm", "feed"], ["position", "updated_at"])


@dataclasses.dataclass
class ListenStats:
    """What a listener did (logged at the end, and what tests look at)."""

    notices: int = 0
    #: notices of the connector's own writes (only its output fields changed): skipped, no run
    echoes: int = 0
    gaps: int = 0
    runs: int = 0
    failed_runs: int = 0
    saves: int = 0
    notice_to_run_s: list[float] = dataclasses.field(default_factory=list)


class ChangeListener:
    """Turns a change feed into debounced incremental runs, storing the position after each committed run.

    Args:
        source: the CRM's change feed.
        run: one incremental sync run of the CRM (``run_sync`` bound to it), returning its summary.
        positions: where the feed position is stored.
        debounce_s: quiet time after the last notice before a run starts.
        max_delay_s: longest wait after the first pending notice, however busy the feed.
        retry_s: wait before retrying a run that failed or found the CRM's lease taken (doubles up to 60 s).
        idle_save_s: how often a keepalive position is stored while nothing is pending.
        retention: how old a stored position may be and still be resumed from.
        clock: current UTC time (stored positions' age).
        stop: set to end the listener (after the run in flight).
        is_echo: tells a notice of the connector's own write-back (only its output fields changed), which
            needs no run: without it every run's writes would come back as notices and cause one more run.
    """

    def __init__(self, source: ChangeSource, run: t.Callable[[], RunSummary], positions: FeedPositions, *, debounce_s: float = 1.0,
                 max_delay_s: float = 10.0, retry_s: float = 5.0, idle_save_s: float = 60.0, retention: dt.timedelta = RETENTION,
                 clock: t.Callable[[], dt.datetime] = _now, stop: threading.Event | None = None, queue_size: int = 1000,
                 is_echo: t.Callable[[ChangeNotice], bool] | None = None) -> None:
        self.source = source
        self.run_once = run
        self.positions = positions
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s
        self.retry_s = retry_s
        self.idle_save_s = idle_save_s
        self.retention = retention
        self.clock = clock
        self.stop = stop or threading.Event()
        self.stats = ListenStats()
        self.queue_size = queue_size
        self.is_echo = is_echo
        self._items: queue.Queue[t.Any] = queue.Queue()
        self._feed_error: BaseException | None = None

    def _start(self) -> tuple[bytes | None, bool]:
        """(position to resume after, whether an incremental pull must run at once)."""
        stored = self.positions.load()
        if stored is None:
            log.info("no stored position for %s: listening from now on, after an incremental pull", self.positions.feed)
            return None, True
        position, saved_at = stored
        age = self.clock() - saved_at
        if age > self.retention:
            log.warning("stored position of %s is %s old, beyond the %s retention: incremental pull, then listening from now on",
                        self.positions.feed, age, self.retention)
            self.stats.gaps += 1
            return None, True
        return position, False

    def _pump(self, start: bytes | None, items: queue.Queue[t.Any]) -> None:
        try:
            for item in self.source.changes(start, self.stop):
                while not self.stop.is_set():
                    try:
                        items.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        continue
        except Exception as exc:  # noqa: BLE001 - handed to the listening thread, which raises it
            self._feed_error = exc
        finally:
            items.put(_END)

    def listen(self) -> ListenStats:
        """Listen until ``stop`` is set (or the feed fails for good, which raises its error)."""
        start, pending = self._start()
        self._items = queue.Queue(maxsize=self.queue_size)  # per call; bounded: a slow sync slows the feed's credit
        self._feed_error = None
        pump = threading.Thread(target=self._pump, args=(start, self._items), name="change-feed", daemon=True)
        pump.start()
        latest, saved = start, start
        first_at = last_at = time.monotonic() if pending else 0.0
        not_before = 0.0
        last_save = time.monotonic()
        retry = self.retry_s
        while not self.stop.is_set():
            now = time.monotonic()
            due = max(min(last_at + self.debounce_s, first_at + self.max_delay_s), not_before) if pending else now + 1.0
            try:
                item = self._items.get(timeout=max(0.0, due - now))
            except queue.Empty:
                item = None
            if item is _END:
                break
            if item is not None:
                latest, pending, first_at, last_at = self._take(t.cast(ChangeItem, item), latest, pending, first_at, last_at)
            now = time.monotonic()
            if pending and now >= max(min(last_at + self.debounce_s, first_at + self.max_delay_s), not_before):
                handled = latest
                if self._run(first_at):
                    pending, retry, not_before = False, self.retry_s, 0.0
                    if handled is not None and handled != saved:
                        saved, last_save = self._save(handled), now
                else:
                    not_before, retry = now + retry, min(60.0, retry * 2)
            elif not pending and latest is not None and latest != saved and now - last_save >= self.idle_save_s:
                saved, last_save = self._save(latest), now
        self.stop.set()
        if not pending and latest is not None and latest != saved:
            self._save(latest)
        pump.join(10)
        if self._feed_error is not None:
            raise self._feed_error
        return self.stats

    def _take(self, item: ChangeItem, latest: bytes | None, pending: bool, first_at: float, last_at: float) -> tuple[bytes | None, bool, float, float]:
        now = time.monotonic()
        if isinstance(item, FeedPosition):
            return item.position, pending, first_at, last_at
        if isinstance(item, ChangeNotice) and self.is_echo is not None and self.is_echo(item):
            self.stats.echoes += 1
            return item.position, pending, first_at, last_at
        if isinstance(item, ChangeGap):
            self.stats.gaps += 1
            log.warning("change feed gap (%s): an incremental pull covers it", item.reason)
        else:
            self.stats.notices += 1
            log.debug("change notice: %s %s %s", item.entity, item.change_type, ",".join(item.record_ids[:5]))
        return item.position, True, first_at if pending else now, now  # a gap without a position: the old one is void

    def _run(self, first_at: float) -> bool:
        """One incremental run; True when it committed."""
        self.stats.runs += 1
        try:
            summary = self.run_once()
        except LeaseBusy as exc:
            log.info("a run of this CRM is going on (%s): retrying after it", exc)
            return False
        except Exception as exc:  # noqa: BLE001 - a failed run must not end the listener; the notices stay pending
            self.stats.failed_runs += 1
            log.error("sync run after change notices failed: %s; retrying", exc)
            return False
        if summary.status not in _COMMITTED:
            if summary.status != "stopped":
                self.stats.failed_runs += 1
                log.error("sync run after change notices ended %s: %s; retrying", summary.status, summary.error)
            return False
        self.stats.notice_to_run_s.append(time.monotonic() - first_at)
        return True

    def _save(self, position: bytes) -> bytes:
        self.positions.save(position, self.clock())
        self.stats.saves += 1
        return position
