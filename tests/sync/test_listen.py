"""``connector listen`` and the change listener over the real Salesforce sandbox feed (gRPC+TLS), with a stand-in run."""

from __future__ import annotations

import datetime as dt
import pathlib
import threading
import time
import typing as t

import pytest
from typer.testing import CliRunner

from connector.adapters.salesforce.cdc_auth import feed_from_environment
from connector.cli import app
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import trusting_session
from connector.sync.changes import ChangeListener, FeedPositions
from connector.sync.db import open_database
from connector.sync.summary import RunSummary
from tests.sync.conftest import write_config


def test_listen_refuses_a_crm_without_a_pulled_change_feed(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    result = CliRunner().invoke(app, ["listen", "--config", str(path), "--crm", "main"])
    assert result.exit_code == 1
    assert "main: adapter" in result.output and "has no pulled change feed" in result.output


@pytest.fixture(scope="module")
def sandbox() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(seed="empty", pubsub_port=0, pubsub_keepalive_s=0.3) as sb:
        yield sb


class Org:
    """What the stand-in run sees: the titles of the sandbox's leads, read through the REST API at run time."""

    def __init__(self, sb: SalesforceSandbox) -> None:
        self.sb = sb
        self.session = trusting_session(sb.ca_path)
        self.session.headers["Authorization"] = f"Bearer {sb.new_session()}"
        self.runs: list[dict[str, str]] = []

    def run(self) -> RunSummary:
        answer = self.session.get(f"{self.sb.instance_url}/services/data/v59.0/query", params={"q": "SELECT Id, Title FROM Lead"}).json()
        self.runs.append({r["Id"]: r["Title"] for r in answer["records"]})
        return RunSummary(crm="sf", status="ok")

    def retitle(self, lead: str, title: str) -> None:
        assert self.session.patch(f"{self.sb.instance_url}/services/data/v59.0/sobjects/Lead/{lead}", json={"Title": title}).status_code == 204


def wait_for(until: t.Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert until(), "not reached in time"


def run_until(listener: ChangeListener, until: t.Callable[[], bool], then: t.Callable[[], None] | None = None, finally_: t.Callable[[], bool] | None = None) -> None:
    """Start the listener, wait for ``until``, do ``then`` and wait for ``finally_``; stop it (a kill between runs)."""
    thread = threading.Thread(target=listener.listen, daemon=True)
    thread.start()
    try:
        wait_for(until)
        if then is not None and finally_ is not None:
            then()
            wait_for(finally_)
    finally:
        listener.stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_changes_trigger_runs_and_a_restart_resumes_from_the_stored_replay_id(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    sandbox.reset("empty")
    org = Org(sandbox)
    leads = sandbox.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(4)])
    engine = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    positions = FeedPositions(engine, "sf", "/data/ChangeEvents")
    env = sandbox.env()

    first = ChangeListener(feed_from_environment(environ=env), org.run, positions, debounce_s=0.2, idle_save_s=0.0)
    run_until(first, lambda: len(org.runs) == 1 and positions.load() is not None,  # no stored position: a pull at once, listening from LATEST
              then=lambda: org.retitle(leads[0], "VP"),
              finally_=lambda: first.stats.notices == 1 and len(org.runs) == 2 and org.runs[-1][leads[0]] == "VP")
    stored = positions.load()
    assert stored is not None and first.stats.runs == 2

    for lead in leads[1:]:
        org.retitle(lead, "CFO")  # changed while the listener is down
    second = ChangeListener(feed_from_environment(environ=env), org.run, positions, debounce_s=0.2, idle_save_s=0.0)
    run_until(second, lambda: second.stats.notices == 3 and second.stats.saves >= 1)
    assert all(org.runs[-1][lead] == "CFO" for lead in leads[1:])
    assert second.stats.gaps == 0 and second.stats.runs == 1  # resumed: the three missed changes, none repeated, one run

    stale = (10**9).to_bytes(8, "big")  # a replay id the org never issued (or one older than 72 h)
    positions.save(stale, dt.datetime.now(dt.UTC))
    third = ChangeListener(feed_from_environment(environ=env), org.run, positions, debounce_s=0.2, idle_save_s=0.0)
    run_until(third, lambda: third.stats.gaps == 1 and third.stats.runs == 1 and (positions.load() or (stale,))[0] != stale)
    engine.dispose()
