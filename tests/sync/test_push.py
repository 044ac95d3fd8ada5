"""The run's one pusher against a sandbox HubSpot: one rate budget with the pull, one lease, one stop.

Each test runs a real sync against a sandbox (served on a thread of the test process, over a loopback
socket) through the real adapter; the pusher writes on its own thread while the run pulls and scores.
"""

from __future__ import annotations

import datetime as dt
import functools
import pathlib
import threading
import time
import typing as t

import sqlalchemy as sa

from connector.sandbox.hubspot import HubSpotSandbox
from connector.sync.config import load_config
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync
from connector.sync.progress import NullProgress
from tests.sync.test_crash import crm_state, diff_summary, frozen_clock, make_sandbox, setup_crm, write_config

CONTACTS = 120


def factory_for(sandbox: HubSpotSandbox) -> t.Any:
    return functools.partial(connect, environ={"TEST_HS_TOKEN": sandbox.token, "TEST_HS_URL": sandbox.base_url})


def test_the_pusher_and_the_pulls_share_one_rate_budget(tmp_path: pathlib.Path) -> None:
    # The sandbox enforces 20 requests per 2 s (searches have their own limit), the connector is
    # configured to the same. The pull of activity, the push and the trigger actions overlap; with
    # a budget each, the push's batches would overrun the window the other calls are in.
    with HubSpotSandbox(seed="demo", seed_contacts=CONTACTS, random_seed=7, token="t", rate_limit="20/2s", search_rate="5/s") as crm:
        config = write_config(tmp_path, rate_limit={"requests": 20, "per_seconds": 2, "searches_per_second": 5})
        setup_crm(config, crm)
        time.sleep(2.2)  # the setup's calls leave the sandbox's window
        crm.requests_clear()
        summary = run_sync(load_config(config), adapter_factory=factory_for(crm))
        log = crm.requests
    assert summary.status == "ok", summary.error
    assert summary.written == CONTACTS
    assert [r.path for r in log if r.status == 429] == []
    assert summary.rate_limited == 0
    assert sum(1 for r in log if r.path.endswith("/batch/update")) >= CONTACTS // 10
    assert summary.api_calls == len(log), "every adapter's calls are counted in the run"


class _StealLease(NullProgress):
    """Progress sink that hands the lease to another instance once the pusher has sent a batch, then lets the run's next renewal ask the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stolen = False

    def advance(self, stage: str, amount: int) -> None:
        if stage == "push" and not self.stolen:
            engine = sa.create_engine(self.url)
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE leases SET owner = 'another-instance', expires_at = :far"), {"far": dt.datetime(2100, 1, 1)})
            engine.dispose()
            self.stolen = True
            # The run asks the database about its lease at most every quarter of the TTL; the
            # claim's next batches could otherwise all go out within that quarter of a second.
            time.sleep(0.3)


def test_a_lost_lease_stops_the_pusher_and_fails_the_run(tmp_path: pathlib.Path, database_url: str) -> None:
    # A real clock, a short TTL: the lease is asked about every quarter of a second.
    with make_sandbox(400, rate_limit="60/1s") as crm:
        config = write_config(tmp_path, database_url=database_url, lease={"ttl_seconds": 1, "wait_seconds": 0}, rate_limit={"requests": 60, "per_seconds": 1, "searches_per_second": 100})
        setup_crm(config, crm)
        thief = _StealLease(database_url)
        summary = run_sync(load_config(config), adapter_factory=factory_for(crm), progress=thief)
    assert thief.stolen
    assert summary.status == "failed"
    assert "lost the lease" in (summary.error or "")
    assert summary.written < 400


class _StopAfterFirstPush(NullProgress):
    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def advance(self, stage: str, amount: int) -> None:
        if stage == "push":
            self.stop.set()


def test_stop_ends_the_push_after_its_batch_and_the_next_run_finishes(tmp_path: pathlib.Path, database_url: str) -> None:
    (tmp_path / "ref").mkdir()
    with make_sandbox(400) as reference:
        config = write_config(tmp_path / "ref")
        setup_crm(config, reference)
        assert run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(reference)).status == "ok"
        expected = crm_state(reference)
    with make_sandbox(400, rate_limit="20/1s") as crm:
        config = write_config(tmp_path, database_url=database_url, rate_limit={"requests": 20, "per_seconds": 1, "searches_per_second": 100})
        setup_crm(config, crm)
        stop = threading.Event()
        first = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(crm), stop=stop, progress=_StopAfterFirstPush(stop))
        assert first.status == "stopped"
        assert 0 < first.written < 400
        second = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(crm))
        assert second.status == "ok", second.error
        actual = crm_state(crm)
    assert actual == expected, diff_summary(expected, actual)
