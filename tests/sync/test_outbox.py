"""The outbox: partial failures, retries, quarantine, and resuming after a crash."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from connector.adapters.base import CRMError, NoGate
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from tests.fakecrm import T0


class Crash(BaseException):
    """Stands in for SIGKILL: nothing after it runs, nothing catches it."""


def _push_all(store, adapter, clock):
    """Every pending row, written by a pusher as a run's would (its thread, then the last batch)."""
    from connector.sync.push import Pusher

    return Pusher(store, adapter, batch_size=100, max_attempts=5, clock=clock, run_id=None).start().finish(flush=True)


def _seed(crm, n: int = 5) -> None:
    for i in range(n):
        crm.add_contact(f"c{i}", T0, email=f"p{i}@example.com", job_title="Marketing" if i % 2 else "Sales")


def _rows(config, sql: str) -> list[tuple]:
    engine = make_engine(config.effective_database_url())
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return out


def test_refused_record_is_quarantined_with_the_crm_reason_and_others_land(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    fake_crm.refuse["c3"] = ("Property values were not valid: test_model_grade", False)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert (summary.written, summary.quarantined) == (4, 1)
    assert set(fake_crm.fields) == {"c0", "c1", "c2", "c4"}
    assert _rows(sync_config, "SELECT stream, record_id, reason FROM quarantine") == [("outbox", "c3", "Property values were not valid: test_model_grade")]
    pushes = len(fake_crm.pushes)
    again = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert again.written == 0 and len(fake_crm.pushes) == pushes  # not retried blindly


def test_retryable_failure_stays_pending_and_lands_next_run(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    fake_crm.refuse["c1"] = ("temporarily unavailable", True)
    first = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert (first.written, first.failed, first.quarantined) == (4, 1, 0)
    del fake_crm.refuse["c1"]
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.written == 1 and "c1" in fake_crm.fields
    assert second.scored == 0


def test_crm_down_keeps_the_outbox_for_the_next_run(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    fake_crm.push_error = CRMError("HubSpot answered 503 after 5 attempts", status=503, retryable=True)
    first = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert first.status == "partial" and "503" in (first.error or "")
    assert first.written == 0 and first.quarantined == 0
    fake_crm.push_error = None
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.status == "ok" and second.written == 5


def test_a_batch_the_adapter_cannot_write_at_all_stays_pending_and_is_not_split(sync_config, fake_crm, factory, clock, monkeypatch):
    """Isolating a bad record is the adapter's job (it answers per record); an exception means the
    whole batch could not be written, so the sync keeps every row of it and tries nothing one by one."""
    _seed(fake_crm, 4)
    from tests.fakecrm import FakeAdapter

    original = FakeAdapter.push
    sent: list[int] = []

    def strict_push(self, updates):
        sent.append(len(updates))
        if any(u.contact_id == "c2" for u in updates):
            raise CRMError("the CRM refused the batch", status=400)
        return original(self, updates)

    monkeypatch.setattr(FakeAdapter, "push", strict_push)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "partial" and "refused the batch" in (summary.error or "")
    assert summary.quarantined == 0 and 1 not in sent  # no record-by-record retry
    assert _rows(sync_config, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'") == [(4 - summary.written,)]


def test_crash_after_scoring_resumes_from_the_outbox_without_rescoring(sync_config, fake_crm, factory, clock, monkeypatch):
    _seed(fake_crm)
    from tests.fakecrm import FakeAdapter

    original = FakeAdapter.push
    calls = {"n": 0}

    def crashing_push(self, updates):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash()
        return original(self, updates)

    monkeypatch.setattr(FakeAdapter, "push", crashing_push)
    with pytest.raises(Crash):
        run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert len(fake_crm.fields) == 2  # the first batch (max 2) landed
    clock.advance(minutes=1)
    resumed = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert resumed.scored == 0 and resumed.written == 3
    assert len(fake_crm.fields) == 5
    assert _rows(sync_config, "SELECT status FROM runs ORDER BY id") == [("failed",), ("ok",)]


def test_crash_mid_pull_repulls_without_counting_twice(sync_config, fake_crm, factory, clock, monkeypatch):
    _seed(fake_crm, 7)
    for i in range(7):
        fake_crm.add_activity(f"a{i}", "page_view", T0 + dt.timedelta(minutes=i), contact_id=f"c{i}")
    from tests.fakecrm import FakeAdapter

    original = FakeAdapter.pull_activities

    def crashing_pull(self, since, until):
        pages = original(self, since, until)
        yield next(pages)
        raise Crash()

    monkeypatch.setattr(FakeAdapter, "pull_activities", crashing_pull)
    with pytest.raises(Crash):
        run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert _rows(sync_config, "SELECT stream FROM cursors") == []  # activities (pulled first) not checked in
    monkeypatch.setattr(FakeAdapter, "pull_activities", original)
    resumed = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert resumed.pulled_activities == 7
    assert _rows(sync_config, "SELECT COUNT(*) FROM activities") == [(7,)]
    assert len(fake_crm.fields) == 7


def test_pull_rejects_are_quarantined_and_the_rest_goes_on(sync_config, fake_crm, factory, clock):
    from connector.adapters.base import Reject

    _seed(fake_crm, 2)
    fake_crm.rejects.append(Reject("contacts", "bad-1", "hs_lead_score: 'abc' is not a number", {"id": "bad-1", "properties": {"hs_lead_score": "abc"}}))
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "ok" and summary.rejected == 1 and summary.written == 2
    assert _rows(sync_config, "SELECT stream, record_id FROM quarantine") == [("contacts", "bad-1")]


def test_value_changed_back_before_push_is_not_written(sync_config, fake_crm, factory, clock):
    from connector.sync.outbox import stage_changes

    _seed(fake_crm, 1)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    engine = make_engine(sync_config.effective_database_url())
    with engine.begin() as conn:
        assert stage_changes(conn, "main", {"c0": {"test_model_score": 99.0}}, clock.now, None).changed == 1
    with engine.begin() as conn:
        current = fake_crm.fields["c0"]["test_model_score"]
        assert stage_changes(conn, "main", {"c0": {"test_model_score": current}}, clock.now, None).changed == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")).scalar_one() == 0
    engine.dispose()


def test_batch_refused_whole_for_one_reason_is_a_setup_problem_not_bad_records(sync_config, fake_crm, factory, clock):
    _seed(fake_crm, 4)
    for i in range(4):
        fake_crm.refuse[f"c{i}"] = ('PROPERTY_DOESNT_EXIST: Property "test_model_score" does not exist', False)
    first = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert first.status == "partial" and "connector setup" in (first.error or "")
    assert first.quarantined == 0
    assert _rows(sync_config, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'") == [(4,)]
    fake_crm.refuse.clear()  # the admin ran `connector setup`
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.status == "ok" and second.written == 4


def test_push_runs_while_scoring_and_its_failures_reach_the_run(sync_config, fake_crm, factory, clock, monkeypatch):
    from tests.fakecrm import FakeAdapter

    _seed(fake_crm, 8)  # score_chunk 2, batch 2: batches become complete while scoring goes on

    def broken(self, updates):
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(FakeAdapter, "push", broken)
    with pytest.raises(RuntimeError, match="adapter bug"):
        run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert _rows(sync_config, "SELECT status, error FROM runs") == [("failed", "RuntimeError: adapter bug")]


def test_each_row_is_tried_once_per_run(sync_config, fake_crm, factory, clock):
    _seed(fake_crm, 6)
    fake_crm.refuse["c1"] = ("busy", True)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert (summary.written, summary.failed) == (5, 1)
    assert _rows(sync_config, "SELECT attempts FROM outbox WHERE contact_id = 'c1'") == [(1,)]


def test_rescoring_while_a_row_is_being_sent_never_leaves_a_stale_value(sync_config, fake_crm, factory, clock):
    """A row claimed by the pusher is not edited in place; the new row is diffed against it."""
    from connector.sync.outbox import SENDING, release_unsent, stage_changes
    from connector.sync.store import Store

    _seed(fake_crm, 1)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    current = fake_crm.fields["c0"]["test_model_score"]
    engine = make_engine(sync_config.effective_database_url())
    with engine.begin() as conn:
        stage_changes(conn, "main", {"c0": {"test_model_score": 99.0}}, clock.now, None)
        conn.execute(sa.text(f"UPDATE outbox SET status = '{SENDING}' WHERE status = 'pending'"))  # in flight
        # Rescored back to the written value while 99 is on its way: a new row must undo it.
        assert stage_changes(conn, "main", {"c0": {"test_model_score": current}}, clock.now, None).changed == 1
    with engine.begin() as conn:
        assert release_unsent(conn, "main") == 1  # the sender died: its row is pending again
    counts = _push_all(Store(engine, "main"), factory(None, NoGate()), clock)
    assert counts.written == 1  # the revived row was folded into the newer one
    assert fake_crm.fields["c0"]["test_model_score"] == current
    engine.dispose()


def test_failed_in_flight_row_is_folded_into_the_newer_one(sync_config, fake_crm, factory, clock):
    from connector.sync.outbox import SENDING, outbox, requeue, stage_changes
    from connector.sync.store import Store

    _seed(fake_crm, 1)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    engine = make_engine(sync_config.effective_database_url())
    with engine.begin() as conn:
        stage_changes(conn, "main", {"c0": {"test_model_score": 99.0, "test_model_grade": "Z"}}, clock.now, None)
        conn.execute(sa.text(f"UPDATE outbox SET status = '{SENDING}' WHERE status = 'pending'"))
        stage_changes(conn, "main", {"c0": {"test_model_score": 98.0, "test_model_grade": "Z"}}, clock.now, None)
    # The in-flight row fails retryably: the newer row (which assumed grade Z would land) gets it.
    fake_crm.refuse["c0"] = ("busy", True)
    store = Store(engine, "main")
    with engine.begin() as conn:
        for oid, cid, values in conn.execute(sa.select(outbox.c.id, outbox.c.contact_id, outbox.c["values"]).where(outbox.c.status == SENDING)).all():
            requeue(conn, "main", oid, cid, values, attempts=1, last_error="busy")
    fake_crm.refuse.clear()
    counts = _push_all(store, factory(None, NoGate()), clock)
    assert counts.written == 1
    assert fake_crm.fields["c0"]["test_model_score"] == 98.0 and fake_crm.fields["c0"]["test_model_grade"] == "Z"
    engine.dispose()


def test_claimed_rows_a_halt_leaves_unsent_go_back_pending_untried(sync_config, fake_crm, factory, clock, monkeypatch):
    """Several batches are claimed at once (staged claimed by the run); when the push halts after the first, the batch that failed
    counts an attempt, the batches never sent are pending again with none, and the next run writes them."""
    from connector.sync.push import Pusher
    from tests.fakecrm import FakeAdapter

    _seed(fake_crm, 8)  # batches of 2: all eight claimed at the end of the run, in one claim
    monkeypatch.setattr(Pusher, "poke", lambda self: None)
    original = FakeAdapter.push
    calls: list[list[str]] = []

    def failing_second(self, updates):
        calls.append([u.contact_id for u in updates])
        if len(calls) == 2:
            raise CRMError("HubSpot answered 503 after 5 attempts", status=503, retryable=True)
        return original(self, updates)

    monkeypatch.setattr(FakeAdapter, "push", failing_second)
    first = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert first.status == "partial" and first.written == 2 and len(calls) == 2
    tried = set(calls[1])
    rows = _rows(sync_config, "SELECT contact_id, status, attempts FROM outbox WHERE status <> 'done' ORDER BY contact_id")
    assert {cid for cid, _, _ in rows} == {f"c{i}" for i in range(8)} - set(calls[0])
    assert all(status == "pending" for _, status, _ in rows)
    assert {cid: attempts for cid, _, attempts in rows} == {cid: 1 if cid in tried else 0 for cid, _, _ in rows}
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.status == "ok" and second.written == 6
    assert set(fake_crm.fields) == {f"c{i}" for i in range(8)}


def test_batches_answered_before_a_failure_are_recorded_and_the_rest_sent_next_run(sync_config, fake_crm, factory, clock, monkeypatch):
    """The claim's batches are recorded together after the last: a batch the CRM took before an
    adapter's bug ended the push is still recorded as written (not sent again); the rows the
    failure left ``sending`` are sent by the next run, each once."""
    from connector.sync.push import Pusher
    from tests.fakecrm import FakeAdapter

    _seed(fake_crm, 8)  # batches of 2, one claim
    monkeypatch.setattr(Pusher, "poke", lambda self: None)
    original = FakeAdapter.push
    calls: list[list[str]] = []

    def broken_third(self, updates):
        calls.append([u.contact_id for u in updates])
        if len(calls) == 3:
            raise RuntimeError("adapter bug")
        return original(self, updates)

    monkeypatch.setattr(FakeAdapter, "push", broken_third)
    with pytest.raises(RuntimeError, match="adapter bug"):  # a bug is not a CRM failure: it ends the run
        run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    landed = set(calls[0]) | set(calls[1])
    rows = dict(_rows(sync_config, "SELECT contact_id, status FROM outbox"))
    assert {cid for cid, status in rows.items() if status == "done"} == landed
    assert {cid for cid, status in rows.items() if status == "sending"} == {f"c{i}" for i in range(8)} - landed
    recorded = {cid for (cid,) in _rows(sync_config, "SELECT contact_id FROM written_values")}
    assert recorded == landed
    monkeypatch.setattr(FakeAdapter, "push", original)
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.status == "ok" and second.written == 4
    assert set(fake_crm.fields) == {f"c{i}" for i in range(8)}
