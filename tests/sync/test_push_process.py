"""The push on its own process: same CRM state as the thread, one rate budget, one lease, one stop.

Each test runs a real sync against a sandbox HubSpot (served on a thread of the test process, over
a loopback socket, so the spawned push process reaches it too) with ``push_process_after: 1``: the
push moves to its own process after the first scored chunk. The sync clock and the adapter
factory are module-level objects, so they can be sent to that process.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import multiprocessing
import os
import pathlib
import time
import typing as t

import pytest
import sqlalchemy as sa

from connector.adapters.base import CRMError
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sync.adapters_factory import build_adapter
from connector.sync.config import load_config
from connector.sync.pipeline import NullProgress, run_sync
from connector.sync.push_process import process_push_blocker
from tests.sync.test_crash import REPO, SYNC_NOW, crm_state, diff_summary, make_sandbox, setup_crm

CONTACTS = 120


def frozen_clock() -> dt.datetime:
    """The sync's clock: module level, so the push process can be handed it."""
    return SYNC_NOW


def write_config(folder: pathlib.Path, database_url: str, *, after: int, extra: str = "", limits: str = "{requests: 100000, per_seconds: 1, searches_per_second: 100000}") -> pathlib.Path:
    models = "\n".join(f"      - {p}" for p in sorted((REPO / "mappings" / "models").glob("*.yaml")))
    path = folder / "connector.yaml"
    path.write_text(
        f"""crms:
  - name: main
    adapter: hubspot
    mapping: {REPO / "mappings" / "hubspot.yaml"}
    models:
{models}
    credentials: {{access_token: TEST_HS_TOKEN}}
    base_url_env: TEST_HS_URL
    rate_limit: {limits}
batch: {{push_size: 10, score_chunk: 25, push_process_after: {after}}}
database_url: "{database_url}"
{extra}"""
    )
    return path


def factory_for(sandbox: HubSpotSandbox) -> t.Any:
    return functools.partial(build_adapter, environ={"TEST_HS_TOKEN": sandbox.token, "TEST_HS_URL": sandbox.base_url})


def push_children() -> list[t.Any]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("push-")]


def test_process_push_leaves_the_crm_as_the_thread_push_does(tmp_path: pathlib.Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="connector")
    (tmp_path / "thread").mkdir()
    (tmp_path / "process").mkdir()
    with make_sandbox(CONTACTS) as reference:
        config = write_config(tmp_path / "thread", f"sqlite:///{tmp_path / 'thread' / 'state.db'}", after=0)
        setup_crm(config, reference)
        expected_summary = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(reference))
        expected = crm_state(reference)
    assert "continues in process" not in caplog.text
    with make_sandbox(CONTACTS) as crm:
        config = write_config(tmp_path / "process", database_url, after=1)
        setup_crm(config, crm)
        crm.requests_clear()
        summary = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(crm))
        actual = crm_state(crm)
        calls = len(crm.requests)
    assert "the push continues in process" in caplog.text
    assert summary.status == "ok", summary.error
    assert actual == expected, diff_summary(expected, actual)
    assert (summary.written, summary.scored, summary.changed) == (expected_summary.written, expected_summary.scored, expected_summary.changed)
    assert summary.api_calls == calls, "the push process's calls are counted in the run"
    assert not push_children()
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")).scalar_one()
    engine.dispose()
    assert left == 0


def test_parent_and_push_process_share_one_rate_budget(tmp_path: pathlib.Path) -> None:
    # The sandbox enforces 20 requests per 2 s (searches have their own limit), the connector is
    # configured to the same. The parent pulls activity right before the push process starts and
    # runs the trigger actions right after it; if the process had a budget of its own, its first
    # batches would overrun the window the parent's calls are still in.
    with HubSpotSandbox(seed="demo", seed_contacts=CONTACTS, random_seed=7, token="t", rate_limit="20/2s", search_rate="5/s") as crm:
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", after=1, limits="{requests: 20, per_seconds: 2, searches_per_second: 5}")
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


class _StealLease(NullProgress):
    """Progress sink that hands the lease to another instance once the push process has landed a batch."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stolen = False

    def advance(self, stage: str, amount: int) -> None:
        if stage == "push" and not self.stolen and push_children():
            engine = sa.create_engine(self.url)
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE leases SET owner = 'another-instance', expires_at = :far"), {"far": dt.datetime(2100, 1, 1)})
            engine.dispose()
            self.stolen = True


def test_a_lost_lease_stops_the_push_process_and_fails_the_run(tmp_path: pathlib.Path, database_url: str) -> None:
    # A real clock, a short TTL: the lease is asked about every quarter of a second.
    with make_sandbox(400, rate_limit="60/1s") as crm:
        config = write_config(tmp_path, database_url, after=1, extra="lease: {ttl_seconds: 1, wait_seconds: 0}\n", limits="{requests: 60, per_seconds: 1, searches_per_second: 100}")
        setup_crm(config, crm)
        thief = _StealLease(database_url)
        summary = run_sync(load_config(config), adapter_factory=factory_for(crm), progress=thief)
    assert thief.stolen
    assert summary.status == "failed"
    assert "lost the lease" in (summary.error or "")
    assert summary.written < 400
    assert not push_children()


class _StopAfterFirstPush(NullProgress):
    def __init__(self, stop: t.Any) -> None:
        self.stop = stop

    def advance(self, stage: str, amount: int) -> None:
        if stage == "push" and push_children():
            self.stop.set()


def test_stop_ends_the_push_process_after_its_batch_and_the_next_run_finishes(tmp_path: pathlib.Path, database_url: str) -> None:
    import threading

    (tmp_path / "ref").mkdir()
    with make_sandbox(400) as reference:
        config = write_config(tmp_path / "ref", f"sqlite:///{tmp_path / 'ref' / 'state.db'}", after=0)
        setup_crm(config, reference)
        assert run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(reference)).status == "ok"
        expected = crm_state(reference)
    with make_sandbox(400, rate_limit="20/1s") as crm:
        config = write_config(tmp_path, database_url, after=1, limits="{requests: 20, per_seconds: 1, searches_per_second: 100}")
        setup_crm(config, crm)
        stop = threading.Event()
        first = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(crm), stop=stop, progress=_StopAfterFirstPush(stop))
        assert first.status == "stopped"
        assert 0 < first.written < 400
        assert not push_children()
        second = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(crm))
        assert second.status == "ok", second.error
        actual = crm_state(crm)
    assert actual == expected, diff_summary(expected, actual)


def fails_outside(parent_pid: int, crm: t.Any, gate: t.Any, *, environ: dict[str, str]) -> t.Any:
    """An adapter factory that cannot build an adapter in any process but the test's own."""
    if os.getpid() != parent_pid:
        raise CRMError("crm 'main': environment variable TEST_HS_TOKEN is not set (in the push process)")
    return build_adapter(crm, gate, environ=environ)


def test_a_push_process_that_cannot_start_fails_the_run_and_loses_nothing(tmp_path: pathlib.Path) -> None:
    with make_sandbox(CONTACTS) as crm:
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", after=1)
        setup_crm(config, crm)
        env = {"TEST_HS_TOKEN": crm.token, "TEST_HS_URL": crm.base_url}
        broken = functools.partial(fails_outside, os.getpid(), environ=env)
        first = run_sync(load_config(config), clock=frozen_clock, adapter_factory=broken)
        assert first.status == "failed"
        assert "TEST_HS_TOKEN is not set (in the push process)" in (first.error or "")
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", after=0)
        second = run_sync(load_config(config), clock=frozen_clock, adapter_factory=factory_for(crm))
        assert second.status == "ok", second.error
        contacts = crm_state(crm)["contacts"]
    assert not push_children()
    assert all(props.get("b2b_saas_score") not in (None, "") for props in contacts.values()), "every contact got its score in the end"


def test_what_keeps_the_push_on_a_thread(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", after=1))
    crm = config.crms[0]
    on_disk = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    in_memory = sa.create_engine("sqlite://")
    partial = functools.partial(build_adapter, environ={})
    assert process_push_blocker(partial, frozen_clock, crm, on_disk) is None
    assert "cannot be sent" in (process_push_blocker(lambda c, g: None, frozen_clock, crm, on_disk) or "")
    assert "cannot be sent" in (process_push_blocker(partial, lambda: SYNC_NOW, crm, on_disk) or "")
    assert "in memory" in (process_push_blocker(partial, frozen_clock, crm, in_memory) or "")


def test_a_push_job_shows_no_database_password_or_credentials(tmp_path: pathlib.Path) -> None:
    from connector.sync.push_process import PushJob

    crm = load_config(write_config(tmp_path, "sqlite:///x.db", after=1)).crms[0]
    job = PushJob(
        crm=crm, database_url="postgresql+psycopg://sync:s3cret-pw@db/state", adapter_factory=functools.partial(build_adapter, environ={"TEST_HS_TOKEN": "pat-na1-secret"}),
        clock=frozen_clock, owner="host:1:abc", ttl_seconds=120, run_id=1, batch_size=100, max_attempts=5, after_id=0, parent_pid=1,
    )
    assert "s3cret-pw" not in repr(job) and "pat-na1-secret" not in repr(job)
