"""The pipeline end to end on a fake CRM: first run, incremental run, nothing new, decay day."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from tests.fakecrm import T0


def _seed(crm) -> None:
    crm.add_contact("c1", T0, email="Ann@Example.com", job_title="Marketing Manager")
    crm.add_contact("c2", T0, email="bob@example.com", job_title="Engineer")
    crm.add_contact("c3", T0, email="cy@example.com", job_title="Marketing lead")
    crm.add_activity("a1", "page_view", T0, contact_id="c1")
    crm.add_activity("a2", "page_view", T0 + dt.timedelta(hours=1), contact_id="c2")


def test_first_run_scores_and_writes_everyone(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "ok", summary.error
    assert (summary.pulled_contacts, summary.pulled_activities, summary.scored, summary.written) == (3, 2, 3, 3)
    assert fake_crm.fields["c1"]["test_model_score"] == 34.06  # 25 fit + round2(10 * 0.5 ** (1 / 7)) engagement
    assert fake_crm.fields["c1"]["test_model_grade"] == "A"
    assert fake_crm.fields["c2"]["test_model_grade"] == "B"
    assert "job title Marketing" in fake_crm.fields["c1"]["test_model_reasons"]
    assert fake_crm.fields["c3"]["test_model_stage"] == "subscriber"
    assert summary.api_calls > 0


def test_incremental_run_writes_only_affected_contacts(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    pushes = len(fake_crm.pushes)
    clock.advance(minutes=5)
    fake_crm.add_activity("a3", "demo_request", clock.now - dt.timedelta(minutes=1), contact_id="c3")
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "ok", summary.error
    assert summary.pulled_activities == 1
    assert summary.scored == 1
    assert fake_crm.written_contacts(pushes) == {"c3"}
    assert fake_crm.fields["c3"]["test_model_stage"] == "mql"


def test_run_with_nothing_new_writes_nothing(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    pushes = len(fake_crm.pushes)
    clock.advance(minutes=10)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "ok", summary.error
    assert (summary.scored, summary.changed, summary.written) == (0, 0, 0)
    assert len(fake_crm.pushes) == pushes


def test_decay_day_writes_only_decayed_contacts(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    pushes = len(fake_crm.pushes)
    clock.advance(days=1)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "ok", summary.error
    # c1 and c2 have decaying page views; c3 has only a property rule and never changes.
    assert fake_crm.written_contacts(pushes) == {"c1", "c2"}
    assert summary.scored == 2


def test_full_rescore_scores_everyone_but_writes_only_changes(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    pushes = len(fake_crm.pushes)
    summary = run_sync(sync_config, "main", full=True, clock=clock, adapter_factory=factory)
    assert summary.scored == 3
    assert summary.written == 0
    assert len(fake_crm.pushes) == pushes


def test_repulled_page_never_counts_twice(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    summary = run_sync(sync_config, "main", resync=True, clock=clock, adapter_factory=factory)
    assert summary.pulled_activities == 2  # pulled again ...
    engine = make_engine(sync_config.effective_database_url())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM activities")).scalar_one() == 2  # ... stored once
    assert summary.scored == 0  # unchanged contacts and known activity: nothing to rescore
    engine.dispose()


def test_stop_request_ends_the_run_after_the_batch_in_flight(sync_config, fake_crm, factory, clock, monkeypatch):
    import threading

    from tests.fakecrm import FakeAdapter

    _seed(fake_crm)
    stop = threading.Event()
    original = FakeAdapter.push

    def push_then_signal(self, updates):
        result = original(self, updates)
        stop.set()  # SIGTERM arrives while the first batch is in flight
        return result

    monkeypatch.setattr(FakeAdapter, "push", push_then_signal)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory, stop=stop)
    assert summary.status == "stopped" and summary.written == 2
    monkeypatch.setattr(FakeAdapter, "push", original)
    resumed = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert resumed.written == 1  # c3: scored before the stop or now, depending on the timing
    assert resumed.scored in (0, 1)
    assert set(fake_crm.fields) == {"c1", "c2", "c3"}


def test_busy_crm_is_refused_with_the_holder_named(sync_config, fake_crm, factory, clock):
    import pytest

    from connector.sync.db import open_database
    from connector.sync.lease import Lease, LeaseBusy

    engine = open_database(sync_config.effective_database_url())
    Lease(engine, "main", "other-host:42:abc", clock=clock).acquire()
    with pytest.raises(LeaseBusy, match="being synced by other-host:42:abc"):
        run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    engine.dispose()


def test_contact_the_engine_cannot_score_is_quarantined_and_retried(sync_config, fake_crm, factory, clock, monkeypatch):
    from connector.scoring.engine import Scorer
    from connector.sync.admin import quarantine_retry
    from connector.sync.db import open_database

    _seed(fake_crm)
    original = Scorer.score

    def fragile(self, contact, *args, **kwargs):
        if contact.id == "c2":
            raise ValueError("unexpected property shape")
        return original(self, contact, *args, **kwargs)

    monkeypatch.setattr(Scorer, "score", fragile)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert (summary.status, summary.scored, summary.quarantined) == ("ok", 2, 1)
    assert set(fake_crm.fields) == {"c1", "c3"}
    monkeypatch.setattr(Scorer, "score", original)
    engine = open_database(sync_config.effective_database_url())
    assert quarantine_retry(engine, "main") == {"scoring": 1}
    engine.dispose()
    again = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert again.scored == 1 and "c2" in fake_crm.fields


def test_batch_scorer_path_writes_what_the_per_contact_path_writes(tmp_path, fake_crm, factory, clock, monkeypatch):
    from connector.scoring.batch import BatchScorer
    from connector.sync.config import load_config
    from tests.fakecrm import FakeAdapter, FakeCRM
    from tests.sync.conftest import write_config

    _seed(fake_crm)
    fake_crm.add_activity("a9", "demo_request", T0, contact_id="c3")
    twin = FakeCRM(contacts=dict(fake_crm.contacts), activities=list(fake_crm.activities))
    (tmp_path / "one").mkdir()
    (tmp_path / "batch").mkdir()
    per_contact = load_config(write_config(tmp_path / "one", f"sqlite:///{tmp_path / 'one' / 's.db'}"))
    batch_cfg = write_config(tmp_path / "batch", f"sqlite:///{tmp_path / 'batch' / 's.db'}")
    batch_cfg.write_text(batch_cfg.read_text().replace("score_chunk: 2", "score_chunk: 2\n  batch_scorer_min: 1"))
    batched = load_config(batch_cfg)
    run_sync(per_contact, "main", clock=clock, adapter_factory=factory)
    calls = []
    original = BatchScorer.results
    monkeypatch.setattr(BatchScorer, "results", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    run_sync(batched, "main", clock=clock, adapter_factory=lambda c, g: FakeAdapter(twin, g))
    assert calls  # the pulled page went through the batch scorer
    assert twin.fields == fake_crm.fields
    assert len(twin.tasks) == len(fake_crm.tasks) == 1
