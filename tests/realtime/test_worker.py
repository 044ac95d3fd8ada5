"""The real-time worker on the fake CRM: events in, contacts read back by id, rescored, written once."""

from __future__ import annotations

import datetime as dt
import threading
import time

import sqlalchemy as sa

from connector.sync.db import open_database
from connector.sync.events import EventQueue, NewEvent
from connector.sync.pipeline import run_sync
from connector.sync.realtime import RealtimeWorker
from connector.sync.store import Store
from connector.sync.tables import contacts, realtime_events, runs
from tests.fakecrm import T0


def _seed(crm) -> None:
    crm.add_contact("c1", T0, email="ann@example.com", job_title="Engineer")
    crm.add_contact("c2", T0, email="bob@example.com", job_title="Engineer")


def _worker(config, factory, clock, engine):
    return RealtimeWorker(config, "main", engine=engine, factory=factory, clock=clock)


def test_a_changed_contact_is_read_back_rescored_and_written(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    assert fake_crm.fields["c1"]["test_model_grade"] == "B"
    pushes = len(fake_crm.pushes)
    clock.advance(minutes=1)
    fake_crm.add_contact("c1", clock.now, email="ann@example.com", job_title="Marketing Manager")
    queue = EventQueue(engine, "main")
    assert queue.accept("webhook", [NewEvent("e1", "changed", "c1", clock.now)], clock.now) == (1, 0)
    assert queue.accept("webhook", [NewEvent("e1", "changed", "c1", clock.now)], clock.now) == (0, 1)
    batch = _worker(sync_config, factory, clock, engine).run_once()
    assert batch is not None and batch.summary.status == "ok", batch and batch.summary.error
    assert fake_crm.written_contacts(pushes) == {"c1"}
    assert fake_crm.fields["c1"]["test_model_grade"] == "A"
    assert queue.depth() == 0
    # The scheduled pull's cursors did not move: a fetch by id says nothing about them.
    assert batch.summary.pulled_contacts == 1
    # Processing the same (redelivered, already done) event again writes nothing.
    assert _worker(sync_config, factory, clock, engine).run_once() is None
    assert fake_crm.written_contacts(pushes) == {"c1"}
    engine.dispose()


def test_events_wait_while_a_sync_holds_the_lease(sync_config, fake_crm, factory, clock):
    from connector.sync.lease import Lease

    _seed(fake_crm)
    engine = open_database(sync_config.effective_database_url())
    lease = Lease(engine, "main", "scheduled-sync", clock=clock)
    assert lease.try_acquire()
    EventQueue(engine, "main").accept("webhook", [NewEvent("e1", "created", "c1", clock.now)], clock.now)
    worker = _worker(sync_config, factory, clock, engine)
    assert worker.run_once() is None
    assert EventQueue(engine, "main").depth() == 1
    lease.release()
    batch = worker.run_once()
    assert batch is not None and batch.summary.status == "ok"
    assert "c1" in fake_crm.fields
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one() == 1
    engine.dispose()


def test_deletion_merge_and_privacy_deletion(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    fake_crm.add_contact("c3", T0, email="cy@example.com", job_title="Engineer")
    fake_crm.add_activity("a1", "page_view", T0, contact_id="c2")
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    clock.advance(minutes=1)
    queue = EventQueue(engine, "main")
    t = clock.now
    queue.accept(
        "webhook",
        [
            NewEvent("e2", "merged", "c1", t + dt.timedelta(seconds=1), {"merged_ids": ["c2"]}),
            NewEvent("e1", "changed", "c2", t),
            NewEvent("e3", "deleted", "c3", t + dt.timedelta(seconds=2)),
        ],
        t,
    )
    batch = _worker(sync_config, factory, clock, engine).run_once()
    assert batch is not None and batch.summary.status == "ok", batch.summary.error
    with engine.connect() as conn:
        ids = {r for (r,) in conn.execute(sa.select(contacts.c.id))}
        assert ids == {"c1"}
        # c2's activity now belongs to c1
        loaded = Store(engine, "main").load_for_scoring(["c1"])
        assert [a.id for a in loaded.activities["c1"]] == ["a1"]
    queue.accept("webhook", [NewEvent("e4", "privacy_deleted", "c1", t + dt.timedelta(seconds=3))], t)
    _worker(sync_config, factory, clock, engine).run_once()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(realtime_events).where(realtime_events.c.contact_id == "c1")).scalar_one() == 0
    engine.dispose()


def test_worker_and_scheduled_sync_together_write_each_change_once(sync_config, fake_crm, factory, clock):
    from connector.sync.config import LeaseConfig

    for i in range(20):
        fake_crm.add_contact(f"c{i}", T0, email=f"p{i}@example.com", job_title="Engineer")
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    pushes = len(fake_crm.pushes)
    clock.advance(minutes=1)
    changed = [f"c{i}" for i in range(0, 20, 2)]
    for cid in changed:
        fake_crm.add_contact(cid, clock.now, email=f"p{cid[1:]}@example.com", job_title="Marketing Manager")
    EventQueue(engine, "main").accept("webhook", [NewEvent(f"e-{cid}", "changed", cid, clock.now) for cid in changed], clock.now)
    worker = RealtimeWorker(sync_config, "main", engine=engine, factory=factory, clock=clock, poll_seconds=0.05, linger_seconds=0.0).start()
    waiting = sync_config.model_copy(update={"lease": LeaseConfig(wait_seconds=30)})
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_sync(waiting, "main", clock=clock, adapter_factory=factory, engine=engine))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    deadline = time.monotonic() + 20
    while EventQueue(engine, "main").depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert [r.status for r in results] == ["ok", "ok"]
    written = [u.contact_id for batch in fake_crm.pushes[pushes:] for u in batch if "test_model_grade" in u.values]
    assert sorted(written) == sorted(changed)  # each change written once, whoever got there first
    assert all(fake_crm.fields[cid]["test_model_grade"] == "A" for cid in changed)
    engine.dispose()


def test_an_event_that_keeps_breaking_the_run_is_set_aside(sync_config, fake_crm, clock):
    import pytest

    from connector.sync.events import MAX_ATTEMPTS
    from tests.fakecrm import FakeAdapter

    class Broken(FakeAdapter):
        def read_contacts(self, ids):
            raise RuntimeError("a bug")

    engine = open_database(sync_config.effective_database_url())
    queue = EventQueue(engine, "main")
    queue.accept("webhook", [NewEvent("e1", "changed", "c1", clock.now)], clock.now)
    worker = RealtimeWorker(sync_config, "main", engine=engine, factory=lambda c, gate: Broken(fake_crm, gate), clock=clock)
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            worker.run_once()
    assert queue.depth() == 0
    with engine.connect() as conn:
        status, attempts, error = conn.execute(sa.select(realtime_events.c.status, realtime_events.c.attempts, realtime_events.c.error)).one()
    assert (status, attempts, error) == ("failed", MAX_ATTEMPTS, "RuntimeError: a bug")
    assert worker.run_once() is None
    engine.dispose()
