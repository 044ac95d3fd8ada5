"""End to end: a lead changed in the Salesforce sandbox reaches the connector as a CDC event and is rescored and written back
by the normal run, through the real Salesforce adapter; a restarted listener resumes from the stored replay id."""

from __future__ import annotations

import pathlib
import threading
import time
import typing as t

import pytest

from connector.adapters.specs import specs_from_models
from connector.sandbox.testing import trusting_session
from connector.scoring.loader import load_models
from connector.sync.changes import ChangeListener, FeedPositions
from connector.sync.config import load_config
from connector.sync.connect import open_change_feed
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.summary import RunSummary
from tests.sync.salesforce_support import CRM, OWNER, env_for, make_sandbox, org_clock, quick_retries, setup_crm, write_config


def wait_for(until: t.Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert until(), "not reached in time"


def test_a_lead_changed_in_salesforce_is_rescored_within_seconds_and_a_restart_resumes(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = make_sandbox(leads=40, contacts=10, pubsub_port=0, pubsub_keepalive_s=0.3)
    try:
        env = env_for(sandbox)
        for name, value in env.items():  # the feed is opened as `connector listen` opens it: from the entry's variables
            monkeypatch.setenv(name, value)
        path = write_config(tmp_path)
        setup_crm(path, sandbox)
        config = load_config(path)
        engine = open_database(config.effective_database_url())
        summaries: list[RunSummary] = []

        def run() -> RunSummary:
            summaries.append(run_sync(config, CRM, clock=org_clock(sandbox), owner=OWNER, adapter_factory=quick_retries(env), engine=engine))
            return summaries[-1]

        positions = FeedPositions(engine, CRM, "/data/ChangeEvents")
        entry = config.crm(CRM)
        outputs = [spec.name for spec in specs_from_models(load_models(entry.models))]
        lead = next(rid for rid, rec in sandbox.org.tables["lead"].items() if not rec.get("IsConverted") and not rec.get("IsDeleted"))
        api = trusting_session(sandbox.ca_path)
        api.headers["Authorization"] = f"Bearer {sandbox.new_session()}"

        def retitle(title: str) -> None:
            sandbox.clock.advance(seconds=60)  # a later SystemModstamp than the cursor's
            answer = api.patch(f"{sandbox.instance_url}/services/data/v59.0/sobjects/Lead/{lead}", json={"Title": title, "Industry": "Technology"})
            assert answer.status_code == 204, answer.text

        def scores() -> dict[str, t.Any]:
            record = sandbox.get("Lead", lead) or {}
            return {k: v for k, v in record.items() if k.endswith("__c")}

        feed = open_change_feed(entry, "/data/ChangeEvents", outputs)  # through the registry (AdapterSpec.change_feed)
        listener = ChangeListener(feed.source, run, positions, debounce_s=0.2, idle_save_s=0.0, is_echo=feed.is_echo)
        thread = threading.Thread(target=listener.listen, daemon=True)
        thread.start()
        try:
            wait_for(lambda: len(summaries) == 1 and positions.load() is not None)  # no position yet: the full first pull, then listening
            assert summaries[0].status == "ok", summaries[0].error
            before = scores()
            retitle("Student intern")
            wait_for(lambda: len(summaries) == 2)
            assert summaries[1].status == "ok" and summaries[1].written == 1, summaries[1]  # the changed lead only (the pull may re-read the first run's writes)
            wait_for(lambda: scores() != before and listener.stats.echoes >= 1)  # rescored; the write-back came back as an echo
            lowered = scores()
            assert len(summaries) == 2  # the echo caused no run
        finally:
            listener.stop.set()
            thread.join(15)
        assert not thread.is_alive()

        retitle("VP Marketing")  # while nobody listens
        feed.close()
        feed = open_change_feed(entry, "/data/ChangeEvents", outputs)
        again = ChangeListener(feed.source, run, positions, debounce_s=0.2, idle_save_s=0.0, is_echo=feed.is_echo)
        thread = threading.Thread(target=again.listen, daemon=True)
        thread.start()
        try:
            # The first notice may still be the echo of the first listener's write-back (its position was
            # stored before that echo arrived): wait for the run the change made while nobody listened.
            wait_for(lambda: again.stats.runs >= 1 and again.stats.saves >= 1)
        finally:
            again.stop.set()
            thread.join(15)
        assert again.stats.gaps == 0 and again.stats.runs == 1 and summaries[-1].written == 1
        assert scores() != lowered  # rescored from the change made while nobody listened, in one run
        feed.close()
        engine.dispose()
    finally:
        sandbox.stop()
