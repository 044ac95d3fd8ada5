"""The Salesforce sync under faults, a SIGKILL mid-push and a spent daily allowance: the same org as an undisturbed run.

The shape of the HubSpot tests (``test_faults.py``, ``test_crash.py``): two identical demo orgs on
frozen clocks; one undisturbed sync gives the reference; on the other the sync is disturbed, then
run again until it reports success with nothing pending; the output fields of every person, the
stage and band campaigns and the keyed tasks must equal the reference, with nothing doubled.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import pathlib
import random
import signal
import time
import typing as t

import pytest
import requests

from connector.sync.config import load_config
from tests.sync.salesforce_support import crm_state, diff_summary, env_for, make_sandbox, other_quarantine, setup_crm, sync_in_process, sync_process_main, write_config
from tests.sync.test_crash import db_state

#: Small pushes: more places for a fault, a kill or the allowance to land between two commits.
BATCH = {"push_size": 20, "score_chunk": 25}


def _until_done(config: pathlib.Path, sb: t.Any, runs: int) -> list[t.Any]:
    """Sync again until a run is ok with nothing pending (at most ``runs`` runs); the summaries."""
    out = []
    for _ in range(runs):
        out.append(sync_in_process(config, sb))
        if out[-1].status == "ok" and _done(config):
            break
    return out


def _done(config: pathlib.Path) -> bool:
    db = db_state(load_config(config).effective_database_url())
    return db["pending_outbox"] == 0 and not any(status in ("pending", "running") for key, status in db["actions"] if not key.endswith("webhook"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    """The org after one undisturbed sync."""
    folder = tmp_path_factory.mktemp("reference")
    with make_sandbox() as sb:
        config = write_config(folder, batch=BATCH)
        setup_crm(config, sb)
        summary = sync_in_process(config, sb)
        assert summary.status == "ok", summary.error
        state = crm_state(sb)
    assert state["tasks"] and state["campaigns"], "the reference run did too little to test"
    return state


@pytest.mark.parametrize("writes", ["skip", "apply"])
def test_20_percent_faults_reach_the_fault_free_state(reference: dict[str, t.Any], tmp_path: pathlib.Path, writes: str) -> None:
    with make_sandbox() as sb:
        config = write_config(tmp_path, batch=BATCH)
        setup_crm(config, sb)
        sb.set_faults(rate=0.2, seed=5, kinds=("500", "502", "503", "drop"), writes=writes)
        runs = _until_done(config, sb, 15)  # 20% faults on every request: some runs end partial; the state converges
        served = sum(1 for r in sb.requests if r.fault)
        sb.set_faults(rate=0.0)
        actual = crm_state(sb)
    assert runs[-1].status == "ok", [(r.status, r.error) for r in runs]
    assert served > 10 and sum(r.retries for r in runs) > 0, f"only {served} faults served"
    assert actual == reference, diff_summary(reference, actual)


def test_kill_9_mid_push_then_a_clean_run_equals_the_undisturbed_run(reference: dict[str, t.Any], tmp_path: pathlib.Path) -> None:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["connector.sync.pipeline", "connector.adapters.salesforce", "connector.scoring.engine"])
    rng = random.Random(13)
    kills = 0
    with make_sandbox() as sb:
        config = write_config(tmp_path, batch=BATCH)
        setup_crm(config, sb)
        outcome = tmp_path / "outcome.json"
        for _ in range(5):
            base = len(sb.requests)
            pushes_before_kill = rng.randint(1, 4)
            proc = ctx.Process(target=sync_process_main, args=(str(config), env_for(sb), str(outcome)))
            proc.start()
            while proc.is_alive():
                writes = [r for r in sb.requests[base:] if r.method in ("PATCH", "POST") and "composite/sobjects" in r.path]
                if len(writes) >= pushes_before_kill:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.001)
            proc.join(60)
            assert proc.exitcode in (0, -signal.SIGKILL)
        assert kills >= 3, "the sync ended before the kill: the test proves too little"
        summary = _until_done(config, sb, 3)[-1]
        assert summary.status == "ok", summary.error
        actual = crm_state(sb)
    assert actual == reference, diff_summary(reference, actual)
    assert not [k for k, n in collections.Counter(actual["tasks"]).items() if n > 1], "a task was created twice"


def test_daily_allowance_spent_mid_run_stops_cleanly_and_the_next_run_finishes(reference: dict[str, t.Any], tmp_path: pathlib.Path) -> None:
    with make_sandbox(daily_limit=100_000) as sb:
        config = write_config(tmp_path, batch=BATCH)
        setup_crm(config, sb)
        admin = f"{sb.instance_url}/_sandbox/limits"
        # 40 requests left before the 10% reserve (of 500) is reached: less than one run needs.
        requests.post(admin, json={"dailyLimit": 500, "dailyUsage": 410}, verify=sb.ca_path, timeout=10)
        stopped = sync_in_process(config, sb)
        assert stopped.status in ("failed", "partial") and stopped.rejected == 0 and other_quarantine(config) == [], stopped
        assert "daily API allowance" in (stopped.error or "") and "10%" in (stopped.error or ""), stopped.error
        used = requests.get(admin, verify=sb.ca_path, timeout=10).json()["dailyUsage"]
        assert used <= 450, f"the run spent the reserve: {used} of 500"
        assert crm_state(sb) != reference

        requests.post(admin, json={"dailyLimit": 100_000, "dailyUsage": 0}, verify=sb.ca_path, timeout=10)  # the next day
        resumed = _until_done(config, sb, 2)[-1]
        assert resumed.status == "ok", resumed.error
        actual = crm_state(sb)
    assert actual == reference, diff_summary(reference, actual)
