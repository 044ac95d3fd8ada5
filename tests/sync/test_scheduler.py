"""The scheduler keeps its jobs in the state database: restarts keep the schedule, runs never overlap."""

from __future__ import annotations

import datetime as dt
import threading
import time
import types
import typing as t

import pytest

from connector.sync.scheduler import (
    JobSpec,
    SyncScheduler,
    daily_trigger,
    next_run_times,
    schedule_trigger,
)

UTC = dt.UTC


def _wait_for(predicate: t.Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _specs(interval: float = 3600, crms: t.Sequence[str] = ("hubspot",)) -> list[JobSpec]:
    out = []
    for crm in crms:
        out.append(JobSpec(crm, False, schedule_trigger(interval_seconds=interval)))
        out.append(JobSpec(crm, True, daily_trigger("03:00")))
    return out


def _config(url: str, crms: t.Sequence[str] = ("hubspot",)) -> t.Any:
    return types.SimpleNamespace(effective_database_url=lambda: url, crms=[types.SimpleNamespace(name=c) for c in crms])


def test_new_sync_job_runs_at_once_and_rescore_waits_for_its_time(database_url: str) -> None:
    calls: list[tuple[str, bool]] = []
    sched = SyncScheduler(database_url, _specs(), lambda crm, full: calls.append((crm, full)))
    sched.start()
    try:
        assert _wait_for(lambda: calls == [("hubspot", False)])
        runs = sched.next_runs()
    finally:
        sched.shutdown()
    rescore = runs["rescore:hubspot"]
    assert rescore is not None and (rescore.hour, rescore.minute) == (3, 0)
    sync = runs["sync:hubspot"]
    assert sync is not None and sync > dt.datetime.now(UTC) + dt.timedelta(minutes=59)


def test_restart_keeps_the_stored_schedule(database_url: str) -> None:
    ran: list[str] = []
    first = SyncScheduler(database_url, _specs(), lambda crm, full: ran.append(crm))
    first.start()
    try:
        assert _wait_for(lambda: ran == ["hubspot"])
        time.sleep(0.2)
        stored = first.next_runs()
    finally:
        first.shutdown()

    calls: list[tuple[str, bool]] = []
    second = SyncScheduler(database_url, _specs(), lambda crm, full: calls.append((crm, full)))
    second.start()
    try:
        time.sleep(0.3)
        assert second.next_runs() == stored
    finally:
        second.shutdown()
    assert calls == [], "a restart must not run a job whose time has not come"
    assert next_run_times(_config(database_url)) == {"hubspot": min(v for v in stored.values() if v)}


def test_changed_trigger_is_rescheduled_and_removed_crm_dropped(database_url: str) -> None:
    first = SyncScheduler(database_url, _specs(crms=("a", "b")), lambda crm, full: None)
    first.start()
    time.sleep(0.3)
    first.shutdown()

    changed = [JobSpec("a", False, schedule_trigger(cron="*/5 * * * *")), JobSpec("a", True, daily_trigger("04:30"))]
    second = SyncScheduler(database_url, changed, lambda crm, full: None)
    second.start()
    try:
        time.sleep(0.3)
        runs = second.next_runs()
    finally:
        second.shutdown()
    assert set(runs) == {"sync:a", "rescore:a"}
    assert runs["rescore:a"] is not None and (runs["rescore:a"].hour, runs["rescore:a"].minute) == (4, 30)
    assert next_run_times(_config(database_url, ("a", "b"))) ["b"] is None


def test_missed_runs_are_coalesced_into_one(database_url: str) -> None:
    past = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    calls: list[tuple[str, bool]] = []
    # Scheduled ten minutes ago every 60 s: ten missed fire times, one run.
    specs = [JobSpec("hubspot", False, schedule_trigger(interval_seconds=60))]
    sched = SyncScheduler(database_url, specs, lambda crm, full: calls.append((crm, full)), clock=lambda: past)
    sched.start()
    try:
        assert _wait_for(lambda: len(calls) >= 1)
        time.sleep(0.5)
    finally:
        sched.shutdown()
    assert calls == [("hubspot", False)]


def test_a_job_never_overlaps_itself(tmp_path: t.Any) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    active = 0
    peak = 0
    runs = 0
    lock = threading.Lock()

    def slow(crm: str, full: bool) -> None:
        nonlocal active, peak, runs
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.35)
        with lock:
            active -= 1
            runs += 1

    sched = SyncScheduler(url, [JobSpec("hubspot", False, schedule_trigger(interval_seconds=0.1))], slow)
    sched.start()
    try:
        assert _wait_for(lambda: runs >= 2)
    finally:
        sched.shutdown()
    assert peak == 1


def test_no_job_store_means_not_scheduled(tmp_path: t.Any) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert next_run_times(_config(url, ("x",))) == {"x": None}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "exactly one"), ({"interval_seconds": 5, "cron": "* * * * *"}, "exactly one"), ({"interval_seconds": 0}, "positive")],
)
def test_bad_schedule_is_refused(kwargs: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule_trigger(**kwargs)


def test_bad_rescore_time_is_refused() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        daily_trigger("3 o'clock")


def test_job_specs_follow_the_config() -> None:
    from connector.sync.config import ConnectorConfig
    from connector.sync.scheduler import job_specs

    config = ConnectorConfig.model_validate(
        {
            "crms": [
                {"name": "eu", "adapter": "hubspot", "mapping": "m.yaml", "models": ["a.yaml"], "schedule": {"cron": "*/5 * * * *", "full_rescore_at": None}},
                {"name": "us", "adapter": "hubspot", "mapping": "m.yaml", "models": ["a.yaml"], "schedule": {"interval_minutes": 30, "full_rescore_at": "02:15", "timezone": "Europe/Berlin"}},
                {"name": "de", "adapter": "hubspot", "mapping": "m.yaml", "models": ["a.yaml"]},
            ]
        }
    )
    specs = {spec.id: spec for spec in job_specs(config)}
    assert set(specs) == {"sync:eu", "sync:us", "rescore:us", "sync:de", "rescore:de"}
    assert "cron" in str(specs["sync:eu"].trigger)
    assert "0:30:00" in str(specs["sync:us"].trigger)
    assert "0:15:00" in str(specs["sync:de"].trigger), "no schedule given: every 15 minutes"
    assert "hour='2', minute='15'" in repr(specs["rescore:us"].trigger) and "Europe/Berlin" in repr(specs["rescore:us"].trigger)


def test_a_daily_rescore_missed_hours_ago_runs_once_at_start(tmp_path: t.Any) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    past = dt.datetime.now(UTC) - dt.timedelta(hours=5)
    due = (past + dt.timedelta(minutes=1)).time().replace(microsecond=0)
    calls: list[tuple[str, bool]] = []
    specs = [JobSpec("hubspot", True, daily_trigger(due))]
    sched = SyncScheduler(url, specs, lambda crm, full: calls.append((crm, full)), misfire_grace_seconds=60, clock=lambda: past)
    sched.start()
    try:
        assert _wait_for(lambda: calls == [("hubspot", True)])
        time.sleep(0.3)
        nxt = sched.next_runs()["rescore:hubspot"]
    finally:
        sched.shutdown()
    assert calls == [("hubspot", True)]
    assert nxt is not None and nxt > dt.datetime.now(UTC)


def test_connector_status_shows_the_next_run_stored_by_the_scheduler(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    from typer.testing import CliRunner

    from connector.cli import app
    from connector.sync.config import load_config
    from connector.sync.scheduler import job_specs

    repo = __import__("pathlib").Path(__file__).resolve().parents[2]
    config = tmp_path / "c.yaml"
    config.write_text(
        f"crms:\n  - name: eu\n    adapter: hubspot\n    mapping: {repo / 'mappings' / 'hubspot.yaml'}\n"
        f"    models: [{repo / 'mappings' / 'models' / 'b2b-saas.yaml'}]\n    credentials: {{access_token: H7_TOKEN}}\n"
        f"    schedule: {{cron: '0 4 * * *', full_rescore_at: null}}\n"
        f"database_url: sqlite:///{tmp_path / 's.db'}\n"
    )
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    before = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert before.exit_code == 0, before.output
    assert "not scheduled" in before.output

    cfg = load_config(config)
    ran: list[str] = []
    sched = SyncScheduler(cfg.effective_database_url(), job_specs(cfg), lambda crm, full: ran.append(crm))
    sched.start()
    try:
        assert _wait_for(lambda: ran == ["eu"]), "a new CRM's first sync runs at once"
        time.sleep(0.2)
    finally:
        sched.shutdown()
    nxt = next_run_times(cfg)["eu"]
    assert nxt is not None and (nxt.hour, nxt.minute) == (4, 0)
    after = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert after.exit_code == 0, after.output
    assert "not scheduled" not in after.output and "04:00" in after.output
