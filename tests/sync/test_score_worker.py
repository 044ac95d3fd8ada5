"""Scoring in a worker process gives the run exactly what scoring in its own process gives."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import pathlib

import pytest
import sqlalchemy as sa

from connector.sync.config import load_config
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync
from connector.sync.score_worker import worker_blocker
from tests.sync.test_crash import crm_state, db_state, diff_summary, frozen_clock, make_sandbox, setup_crm, write_config

CONTACTS = 450  # three pages of contacts: the first scored in the run, the others in the worker


def test_a_worker_scores_as_the_run_itself_does(tmp_path: pathlib.Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="connector")
    (tmp_path / "here").mkdir()
    (tmp_path / "worker").mkdir()
    with make_sandbox(CONTACTS) as reference:
        config = write_config(tmp_path / "here", batch={"push_size": 10, "score_chunk": 25, "score_worker_after": 0})
        setup_crm(config, reference)
        env = {"TEST_HS_TOKEN": reference.token, "TEST_HS_URL": reference.base_url}
        expected_summary = run_sync(load_config(config), clock=frozen_clock, adapter_factory=functools.partial(connect, environ=env))
        expected, expected_db = crm_state(reference), db_state(load_config(config).effective_database_url())
    assert "scoring continues in a worker" not in caplog.text
    with make_sandbox(CONTACTS) as crm:
        config = write_config(tmp_path / "worker", database_url=database_url, batch={"push_size": 10, "score_chunk": 25, "score_worker_after": 1})
        setup_crm(config, crm)
        env = {"TEST_HS_TOKEN": crm.token, "TEST_HS_URL": crm.base_url}
        summary = run_sync(load_config(config), clock=frozen_clock, adapter_factory=functools.partial(connect, environ=env))
        actual = crm_state(crm)
    assert "scoring continues in a worker process" in caplog.text
    assert summary.status == "ok", summary.error
    assert actual == expected, diff_summary(expected, actual)
    assert (summary.scored, summary.changed, summary.written, summary.actions) == (expected_summary.scored, expected_summary.changed, expected_summary.written, expected_summary.actions)
    if database_url.startswith("sqlite"):
        actual_db = db_state(database_url)
        assert {k: actual_db[k] for k in ("scores", "firings", "actions")} == {k: expected_db[k] for k in ("scores", "firings", "actions")}
    assert not multiprocessing.active_children(), "the worker outlived its run"


def test_an_in_memory_database_keeps_the_scoring_in_the_run() -> None:
    assert worker_blocker(sa.create_engine("sqlite://")) == "the state database is in memory"
    assert worker_blocker(sa.create_engine("sqlite:////tmp/state.db")) is None


def _workers_of(pid: int) -> list[int]:
    """Spawned processes whose parent is ``pid`` (a run's scoring worker)."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_run_killed_while_its_worker_scores_leaves_no_worker_and_the_next_run_finishes(tmp_path: pathlib.Path) -> None:
    import os
    import signal
    import time

    from tests.sync.test_crash import process_factory, spawn_sync

    with make_sandbox(CONTACTS, rate_limit="40/1s") as crm:
        config = write_config(tmp_path, batch={"push_size": 10, "score_chunk": 25, "score_worker_after": 1}, rate_limit={"requests": 40, "per_seconds": 1, "searches_per_second": 100000})
        setup_crm(config, crm)
        outcome = tmp_path / "outcome.json"
        proc = spawn_sync(process_factory(), config, crm, outcome)
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while not workers and proc.is_alive() and time.monotonic() < deadline:
            workers = _workers_of(proc.pid)
            time.sleep(0.01)
        assert workers, "the run never started its scoring worker: the test proves nothing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        deadline = time.monotonic() + 15
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _running(w)], "a scoring worker outlived its killed run"
        final = spawn_sync(process_factory(), config, crm, outcome)
        final.join(120)
        assert final.exitcode == 0
        db = db_state(load_config(config).effective_database_url())
        assert db["pending_outbox"] == 0 and len({s[0] for s in db["scores"]}) == CONTACTS


def test_a_full_rescore_of_a_large_portal_starts_its_worker_before_the_pull(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's imports and models load while the run pulls: it reads the portal as soon as the pull ends."""
    import datetime as dt

    from connector.sync import pipeline
    from tests.fakecrm import FakeAdapter, FakeCRM
    from tests.sync.test_rescore_columnar import _config, _portal

    events: list[str] = []

    class Recorded(pipeline.ScoringWorker):
        def __init__(self, *args: object, **kwargs: object) -> None:
            events.append("worker")
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    pull = FakeAdapter.pull_contacts

    def pulled(self: FakeAdapter, *args: object, **kwargs: object) -> object:
        events.append("pull")
        return pull(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "ScoringWorker", Recorded)
    monkeypatch.setattr(FakeAdapter, "pull_contacts", pulled)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    config = _config(tmp_path, url, worker_after=100)
    crm: FakeCRM = _portal(3, 120)
    factory = lambda c, g: FakeAdapter(crm, g, page_size=50, max_batch_size=50)  # noqa: E731
    now = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
    assert run_sync(config, "main", clock=lambda: now, adapter_factory=factory).status == "ok"  # the first sync: 120 new contacts
    events.clear()
    later = now + dt.timedelta(days=1)
    summary = run_sync(config, "main", full=True, clock=lambda: later, adapter_factory=factory)
    assert summary.status == "ok", summary.error
    assert events[:2] == ["worker", "pull"], events
    assert events.count("worker") == 1
    events.clear()
    assert run_sync(config, "main", clock=lambda: later + dt.timedelta(hours=1), adapter_factory=factory).status == "ok"
    assert "worker" not in events  # an incremental run with nothing to score keeps the scoring in its process
    assert not multiprocessing.active_children(), "the worker outlived its run"
