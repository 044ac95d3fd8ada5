"""Trigger actions: executed once, recorded; failures retried or quarantined."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from connector.adapters.base import CRMError, TaskRequest, TaskResult
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from tests.fakecrm import T0, FakeAdapter


def _hot(crm) -> None:
    crm.add_contact("c1", T0, email="a@x.com", job_title="Marketing")
    crm.add_contact("c2", T0, email="b@x.com", job_title="Sales")
    crm.add_activity("d1", "demo_request", T0, contact_id="c1")  # 25 + 40 = 65 > 50


def _count(config, sql: str) -> int:
    engine = make_engine(config.effective_database_url())
    with engine.connect() as conn:
        n = int(conn.execute(sa.text(sql)).scalar_one())
    engine.dispose()
    return n


def test_trigger_fires_once_and_its_actions_run_once(sync_config, fake_crm, factory, clock):
    _hot(fake_crm)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.actions == 2
    assert fake_crm.lists == {"hot leads": {"c1"}}
    assert [t.subject for t in fake_crm.tasks] == ["Call this lead"]
    assert fake_crm.tasks[0].due_at == clock.now + dt.timedelta(days=1)
    for _ in range(2):
        clock.advance(days=1)
        run_sync(sync_config, "main", full=True, clock=clock, adapter_factory=factory)
    assert len(fake_crm.tasks) == 1
    assert _count(sync_config, "SELECT COUNT(*) FROM trigger_firings") == 1
    assert _count(sync_config, "SELECT COUNT(*) FROM trigger_actions WHERE status = 'done'") == 2


def test_stage_history_records_the_move(sync_config, fake_crm, factory, clock):
    _hot(fake_crm)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    engine = make_engine(sync_config.effective_database_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT contact_id, from_stage, to_stage FROM stage_history ORDER BY contact_id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("c1", None, "mql"), ("c2", None, "subscriber")]


def test_failed_action_is_retried_next_run_and_looked_up_first(sync_config, fake_crm, factory, clock, monkeypatch):
    _hot(fake_crm)
    original = FakeAdapter.create_tasks
    seen: list[list[TaskRequest]] = []

    def down(self, tasks):
        seen.append(list(tasks))
        raise CRMError("the CRM answered 502", status=502, retryable=True)

    monkeypatch.setattr(FakeAdapter, "create_tasks", down)
    first = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert first.actions == 1 and first.failed == 1 and fake_crm.tasks == []
    assert [t.attempted for t in seen[0]] == [False]  # never sent: no look-up needed
    monkeypatch.setattr(FakeAdapter, "create_tasks", lambda self, tasks: seen.append(list(tasks)) or original(self, tasks))
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.actions == 1 and len(fake_crm.tasks) == 1
    assert [t.attempted for t in seen[1]] == [True]  # sent before: the adapter looks it up first


def test_per_task_refusal_is_quarantined(sync_config, fake_crm, factory, clock, monkeypatch):
    _hot(fake_crm)

    def refused(self, tasks):
        return TaskResult(failed={t.key: ("contact has no owner and the mapping names no default owner", False) for t in tasks})

    monkeypatch.setattr(FakeAdapter, "create_tasks", refused)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.quarantined == 1
    assert _count(sync_config, "SELECT COUNT(*) FROM quarantine WHERE stream = 'actions'") == 1
    assert _count(sync_config, "SELECT COUNT(*) FROM trigger_actions WHERE status = 'quarantined'") == 1


class Crash(BaseException):
    """Stands in for SIGKILL."""


def test_task_cut_off_by_a_crash_is_looked_up_not_created_twice(sync_config, fake_crm, factory, clock, monkeypatch):
    _hot(fake_crm)
    original = FakeAdapter.create_tasks

    def create_then_die(self, tasks):
        original(self, tasks)  # the CRM created them ...
        raise Crash()  # ... and we died before recording the answer

    monkeypatch.setattr(FakeAdapter, "create_tasks", create_then_die)
    try:
        run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    except Crash:
        pass
    assert _count(sync_config, "SELECT COUNT(*) FROM trigger_actions WHERE status = 'running'") == 1
    monkeypatch.setattr(FakeAdapter, "create_tasks", original)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert len(fake_crm.tasks) == 1
    assert fake_crm.tasks[0].key == "main:test-model:c1:hot:1#1"
    assert _count(sync_config, "SELECT COUNT(*) FROM trigger_actions WHERE status = 'done'") == 2


def test_actions_go_in_batches_with_the_owner_pulled_with_the_contact(sync_config, fake_crm, factory, clock):
    """5 hot contacts, batches of 2 (the fake's max_batch_size): 3 task calls, 3 list calls, owners handed in."""
    for i in range(5):
        fake_crm.add_contact(f"h{i}", T0, email=f"h{i}@x.com", owner_id=f"owner-{i}", job_title="Marketing")
        fake_crm.add_activity(f"d{i}", "demo_request", T0, contact_id=f"h{i}")
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.actions == 10
    assert sorted((t.contact_id, t.owner_id) for t in fake_crm.tasks) == [(f"h{i}", f"owner-{i}") for i in range(5)]
    assert fake_crm.lists == {"hot leads": {f"h{i}" for i in range(5)}}
    endpoints: dict[str, int] = {}
    for adapter in factory.built:  # type: ignore[attr-defined]
        for name, n in adapter.stats.by_endpoint.items():
            endpoints[name] = endpoints.get(name, 0) + n
    assert endpoints["tasks.batch_create"] == 3 and endpoints["lists.add"] == 3
    assert "tasks.search" not in endpoints  # nothing was sent before: no look-up
