"""What ``connector status`` says about runs: killed runs are abandoned, quarantines show, 80 columns fit."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import socket
import subprocess
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.cli import app
from connector.cli.status_view import RUN_COLUMNS
from connector.sync.admin import crm_status
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.store import Store
from connector.sync.summary import status_label
from connector.sync.tables import runs
from tests.fakecrm import T0, FakeAdapter, FakeCRM
from tests.sync.conftest import write_config


class _Killed(BaseException):
    """Stands in for SIGKILL: the run's code stops where it is; nothing records its end."""


def _seed(crm: FakeCRM, n: int = 7) -> None:
    for i in range(n):
        crm.add_contact(f"c{i}", T0, email=f"p{i}@example.com", job_title="Marketing Manager")
    crm.add_activity("a1", "page_view", T0, contact_id="c0")
    crm.add_activity("a2", "page_view", T0, contact_id="c1")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def _killed_run(monkeypatch, sync_config, factory, clock, owner: str) -> None:
    """A run killed after storing its first page of contacts (it recorded its counters on the way)."""
    monkeypatch.setattr("connector.sync.pipeline.PROGRESS_EVERY", 0.0)
    original = Store.save_contacts
    calls = []

    def save_then_die(self, records, now):
        calls.append(1)
        if len(calls) == 2:
            raise _Killed
        return original(self, records, now)

    with monkeypatch.context() as m:
        m.setattr(Store, "save_contacts", save_then_die)
        m.setattr(Store, "finish_run", lambda *a, **k: None)
        m.setattr("connector.sync.lease.Lease.release", lambda self: None)
        with pytest.raises(_Killed):
            run_sync(sync_config, "main", clock=clock, adapter_factory=factory, owner=owner)


def test_a_killed_runs_process_gone_shows_abandoned_with_what_it_had_done(monkeypatch, sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    _killed_run(monkeypatch, sync_config, factory, clock, owner=f"{socket.gethostname()}:{_dead_pid()}:abc123")
    engine = open_database(sync_config.effective_database_url())
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(runs.c.status)).scalar_one() == "running", "a killed run cannot record its end"
        (run,) = crm_status(engine, "main", now=clock.now).runs
    finally:
        engine.dispose()
    assert run["status"] == "abandoned" and "no longer exists" in run["error"]
    assert (run["pulled_activities"], run["pulled_contacts"]) == (2, 3), "counters recorded while the run went on"
    assert run["api_calls"] > 0


def test_a_run_of_another_host_is_running_until_its_lease_expires(monkeypatch, sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    _killed_run(monkeypatch, sync_config, factory, clock, owner="other-host:4242:abc123")
    engine = open_database(sync_config.effective_database_url())
    try:
        assert crm_status(engine, "main", now=clock.now).runs[0]["status"] == "running", "its lease is live: it may be running"
        later = clock.now + dt.timedelta(seconds=sync_config.lease.ttl_seconds + 1)
        (run,) = crm_status(engine, "main", now=later).runs
    finally:
        engine.dispose()
    assert run["status"] == "abandoned" and "lease expired" in run["error"]


def test_the_next_run_marks_a_killed_run_abandoned_for_good(monkeypatch, sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    _killed_run(monkeypatch, sync_config, factory, clock, owner=f"{socket.gethostname()}:{_dead_pid()}:abc123")
    clock.advance(minutes=5)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    engine = open_database(sync_config.effective_database_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(runs.c.id, runs.c.status, runs.c.pulled_contacts).order_by(runs.c.id)).all()
    finally:
        engine.dispose()
    assert [(r.status, r.pulled_contacts) for r in rows] == [("abandoned", 3), ("ok", 7)]


def test_status_label_names_the_quarantined_records() -> None:
    assert status_label("ok", 0) == "ok"
    assert status_label("ok", 3) == "ok, 3 quarantined"
    assert status_label("abandoned", 1200) == "abandoned, 1,200 quarantined"


@pytest.fixture
def cli_env(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> FakeCRM:
    crm = FakeCRM()
    crm.add_contact("c1", T0, email="a@x.com", job_title="Marketing")
    crm.add_contact("c2", T0, email="b@x.com", job_title="Sales")
    crm.add_contact("c3", T0, email="c@x.com", job_title="Sales")
    monkeypatch.setattr("connector.sync.pipeline.connect", lambda c, gate, **kw: FakeAdapter(crm, gate))
    monkeypatch.setenv("CONNECTOR_CONFIG", str(write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "80")  # what rich uses when the output is not a terminal
    return crm


def test_sync_exit_code_tells_ok_from_ok_with_quarantined_records(cli_env: FakeCRM) -> None:
    clean = CliRunner().invoke(app, ["sync"])
    assert clean.exit_code == 0, clean.output
    now = dt.datetime.now(dt.UTC)  # the CLI runs on the real clock
    cli_env.add_contact("c4", now, email="d@x.com", job_title="Sales")
    cli_env.add_contact("c5", now, email="e@x.com", job_title="Sales")
    cli_env.refuse["c4"] = ("INVALID_EMAIL: the CRM refuses this record", False)
    quarantined = CliRunner().invoke(app, ["sync"])
    assert quarantined.exit_code == 3, quarantined.output
    assert "ok, 1 quarantined" in quarantined.output
    help_text = CliRunner().invoke(app, ["sync", "--help"], env={"COLUMNS": "200"}).output
    assert "3 every run ended ok but records were" in help_text


def test_status_fits_80_columns_with_every_header_whole(cli_env: FakeCRM) -> None:
    cli_env.refuse["c2"] = ("INVALID_EMAIL: the CRM refuses this record", False)
    CliRunner().invoke(app, ["sync"])
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines), result.output
    assert "…" not in result.output, result.output
    header = next(line for line in lines if line.split()[:2] == ["run", "started"])
    assert header.split() == [name for name, _ in RUN_COLUMNS], header
    for key in ("contacts", "cursors", "pending", "quarantined", "lease", "next scheduled run"):
        assert any(line.startswith(key) for line in lines), key
    assert "quarantined" in result.output and "ok, 1" in result.output
    assert "2026-" in result.output  # the run's start, whole


def test_quarantine_list_fits_80_columns_with_every_reason_whole(cli_env: FakeCRM) -> None:
    reason = "INVALID_EMAIL: the CRM refuses this record because its e-mail address has no domain part at all"
    cli_env.refuse["c2"] = (reason, False)
    CliRunner().invoke(app, ["sync"])
    result = CliRunner().invoke(app, ["quarantine", "list"])
    assert result.exit_code == 0, result.output
    assert all(len(line.rstrip()) <= 80 for line in result.output.splitlines()), result.output
    assert "…" not in result.output and reason in " ".join(result.output.split()), result.output
    assert "outbox, record c2" in result.output


def test_status_of_a_killed_cli_sync_is_abandoned(tmp_path: pathlib.Path) -> None:
    """A real ``connector sync`` process, SIGKILLed mid-run: status says abandoned, with its counters."""
    state = tmp_path / "crm.json"
    crm = FakeCRM()
    _seed(crm, 30)
    crm.save(state)
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    script = tmp_path / "slow_sync.py"
    script.write_text(
        "import sys, time\n"
        "import connector.sync.pipeline as p\n"
        "from connector.sync.store import Store\n"
        "p.PROGRESS_EVERY = 0.0\n"
        "save, pages = Store.save_contacts, []\n"
        "def slow(self, records, now):\n"
        "    pages.append(records)\n"
        "    if len(pages) == 2:\n"
        "        print('page', flush=True)\n"
        "        time.sleep(30)\n"
        "    return save(self, records, now)\n"
        "Store.save_contacts = slow\n"
        "from connector.cli import main\n"
        "sys.argv = ['connector', 'sync']\n"
        "main()\n"
    )
    root = pathlib.Path(__file__).resolve().parents[2]
    env = {**os.environ, "CONNECTOR_CONFIG": str(config), "FAKECRM_STATE": str(state), "FAKECRM_TOKEN": "t", "PYTHONPATH": str(root)}
    env.pop("DATABASE_URL", None)
    config.write_text(config.read_text().replace("TEST_TOKEN_VAR", "FAKECRM_TOKEN"))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        while "page" not in proc.stdout.readline():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    result = CliRunner().invoke(app, ["status"], env={"CONNECTOR_CONFIG": str(config), "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "abandoned" in result.output and "no longer exists" in result.output, result.output
    assert "(its process is gone: the next run takes it at once)" in " ".join(result.output.split()), result.output
    engine = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        (run,) = crm_status(engine, "main").runs
    finally:
        engine.dispose()
    assert (run["pulled_activities"], run["pulled_contacts"], run["status"]) == (2, 3, "abandoned")
