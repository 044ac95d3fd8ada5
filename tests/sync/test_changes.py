"""The change listener with a fake feed and a fake run: debounce, store-after-commit, resume, gaps, retries (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
import typing as t

import pytest

from connector.adapters.changes import ChangeGap, ChangeItem, ChangeNotice, FeedPosition
from connector.sync.changes import ChangeListener, FeedPositions
from connector.sync.db import open_database
from connector.sync.lease import LeaseBusy
from connector.sync.summary import RunSummary

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def pos(n: int) -> bytes:
    return n.to_bytes(8, "big")


def notice(n: int) -> ChangeNotice:
    return ChangeNotice("Lead", (f"00Q{n:015d}",), "UPDATE", 1_700_000_000_000 + n, pos(n))


class FakeFeed:
    """Yields what the test puts in, until stopped; remembers where it was asked to start."""

    def __init__(self, *items: ChangeItem) -> None:
        self.items: queue.Queue[ChangeItem] = queue.Queue()
        self.starts: list[bytes | None] = []
        for item in items:
            self.items.put(item)

    def changes(self, start: bytes | None, stop: threading.Event) -> t.Iterator[ChangeItem]:
        self.starts.append(start)
        while not stop.is_set():
            try:
                yield self.items.get(timeout=0.05)
            except queue.Empty:
                continue


class FakeRun:
    """A run function: answers the scripted outcomes (a status, or an exception), then ``ok``; records the stored position it saw."""

    def __init__(self, positions: FeedPositions, *outcomes: str | Exception) -> None:
        self.positions = positions
        self.outcomes = list(outcomes)
        self.seen: list[bytes | None] = []

    def __call__(self) -> RunSummary:
        stored = self.positions.load()
        self.seen.append(stored[0] if stored else None)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        return RunSummary(crm="sf", status=outcome, error=None if outcome == "ok" else "boom")


@pytest.fixture
def positions(database_url: str) -> t.Iterator[FeedPositions]:
    engine = open_database(database_url)
    yield FeedPositions(engine, "sf", "/data/ChangeEvents")
    engine.dispose()


def listen(listener: ChangeListener, until: t.Callable[[], bool], timeout: float = 10.0) -> None:
    thread = threading.Thread(target=listener.listen, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        time.sleep(0.02)
    listener.stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert until(), "the listener did not get there in time"


def make(feed: FakeFeed, run: FakeRun, positions: FeedPositions, **options: t.Any) -> ChangeListener:
    return ChangeListener(feed, run, positions, debounce_s=0.3, retry_s=0.05, clock=lambda: NOW, **options)


def stored(positions: FeedPositions) -> bytes | None:
    found = positions.load()
    return found[0] if found else None


def test_a_burst_of_notices_is_one_run_and_the_position_is_stored_after_it(positions: FeedPositions) -> None:
    positions.save(pos(1), NOW)
    feed = FakeFeed(*(notice(n) for n in range(2, 7)))
    run = FakeRun(positions)
    listener = make(feed, run, positions)
    listen(listener, lambda: listener.stats.saves == 1)
    assert feed.starts == [pos(1)]  # resumed after the stored position
    assert listener.stats.runs == 1 and listener.stats.notices == 5
    assert run.seen == [pos(1)]  # while the run went on, the old position was still stored
    assert stored(positions) == pos(6)


def test_a_failed_run_keeps_the_notices_pending_and_the_old_position(positions: FeedPositions) -> None:
    positions.save(pos(1), NOW)
    feed = FakeFeed(notice(2), notice(3))
    run = FakeRun(positions, "failed", RuntimeError("CRM down"), LeaseBusy("sf is being synced by another instance"))
    listener = make(feed, run, positions)
    listen(listener, lambda: listener.stats.saves == 1)
    assert run.seen == [pos(1)] * 4 and listener.stats.failed_runs == 2
    assert stored(positions) == pos(3)


def test_no_stored_position_pulls_at_once_and_listens_from_now_on(positions: FeedPositions) -> None:
    feed = FakeFeed(FeedPosition(pos(40)))
    run = FakeRun(positions)
    listener = make(feed, run, positions, idle_save_s=0.0)
    listen(listener, lambda: listener.stats.runs == 1 and stored(positions) == pos(40))
    assert feed.starts == [None] and listener.stats.notices == 0


def test_a_position_older_than_the_retention_is_not_resumed(positions: FeedPositions) -> None:
    positions.save(pos(5), NOW - dt.timedelta(hours=73))
    feed = FakeFeed(FeedPosition(pos(90)))
    run = FakeRun(positions)
    listener = make(feed, run, positions, idle_save_s=0.0)
    listen(listener, lambda: stored(positions) == pos(90))
    assert feed.starts == [None] and listener.stats.runs == 1 and listener.stats.gaps == 1


def test_a_gap_runs_a_pull_and_the_void_position_is_not_stored(positions: FeedPositions) -> None:
    positions.save(pos(5), NOW - dt.timedelta(hours=1))
    feed = FakeFeed(ChangeGap("replay id refused"))
    run = FakeRun(positions)
    listener = make(feed, run, positions, idle_save_s=0.0)
    listen(listener, lambda: listener.stats.runs == 1)
    assert stored(positions) == pos(5)  # nothing new to store yet: the next position comes from the new subscription
    feed.items.put(FeedPosition(pos(77)))
    listener.stop.clear()
    listen(listener, lambda: stored(positions) == pos(77))


def test_a_keepalive_position_is_stored_only_when_nothing_is_pending(positions: FeedPositions) -> None:
    positions.save(pos(1), NOW)
    feed = FakeFeed(notice(2), FeedPosition(pos(3)))
    run = FakeRun(positions, "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed")
    listener = make(feed, run, positions, idle_save_s=0.0)
    listen(listener, lambda: len(run.seen) >= 3)
    assert stored(positions) == pos(1)  # notice 2 was never handled: neither it nor the keepalive after it is stored


def test_the_listener_runs_the_real_sync_waits_for_a_held_lease_and_writes_once(sync_config, fake_crm, factory, clock) -> None:
    from connector.sync.lease import Lease
    from connector.sync.pipeline import run_sync
    from tests.fakecrm import T0

    fake_crm.add_contact("c1", T0, email="ann@example.com", job_title="Marketing Manager")
    engine = open_database(sync_config.effective_database_url())
    try:
        assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine).status == "ok"  # the scheduled sync
        pushes = len(fake_crm.pushes)
        clock.advance(minutes=5)
        fake_crm.add_activity("a9", "demo_request", clock.now - dt.timedelta(minutes=1), contact_id="c1")
        scheduler = Lease(engine, "main", "another-instance", clock=clock)
        assert scheduler.try_acquire()  # a scheduled run of this CRM is going on elsewhere
        positions = FeedPositions(engine, "main", "/data/ChangeEvents")
        positions.save(pos(1), clock.now)
        feed = FakeFeed(ChangeNotice("Contact", ("c1",), "UPDATE", 0, pos(2)))
        listener = ChangeListener(feed, lambda: run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine), positions,
                                  debounce_s=0.05, retry_s=0.05, clock=clock)
        thread = threading.Thread(target=listener.listen, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while listener.stats.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.stats.runs >= 2 and stored(positions) == pos(1) and len(fake_crm.pushes) == pushes  # LeaseBusy: waited, wrote nothing
        scheduler.release()
        while listener.stats.saves < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        listener.stop.set()
        thread.join(5)
        assert stored(positions) == pos(2) and fake_crm.written_contacts(pushes) == {"c1"}
        after = len(fake_crm.pushes)
        assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine).written == 0  # the next scheduled run writes nothing again
        assert len(fake_crm.pushes) == after
    finally:
        engine.dispose()


def test_echoes_of_our_own_writes_move_the_position_without_a_run(positions: FeedPositions) -> None:
    positions.save(pos(1), NOW)
    echo = ChangeNotice("Lead", ("00Q1",), "UPDATE", 0, pos(2), ("Score__c", "LastModifiedDate"))
    feed = FakeFeed(echo)
    run = FakeRun(positions)
    listener = make(feed, run, positions, idle_save_s=0.0, is_echo=lambda n: set(n.changed_fields) <= {"Score__c", "LastModifiedDate"})
    listen(listener, lambda: stored(positions) == pos(2))
    assert listener.stats.echoes == 1 and listener.stats.runs == 0 and listener.stats.notices == 0
