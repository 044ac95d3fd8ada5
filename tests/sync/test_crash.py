"""Crash safety: SIGKILL the sync at random points, again and again; one clean run repairs everything.

Two identical sandboxes (same seed, same frozen clock). On the first, one undisturbed sync gives the
reference. On the second, the sync runs as a subprocess and is killed with SIGKILL at seeded random
points -- at a random request of the pull, of the push (batches of 10) or of the trigger actions, or
after a random delay (start-up, migrations, scoring chunks of 25) -- ten times in a row, then runs once
cleanly; the test insists that kills landed in every phase.
The CRM state (every property of every contact, every list's members, every task) must equal the
reference, and the state database must hold the same activities (none twice), scores and firings.

The sync clock is frozen too (scores depend on ``as_of``), so an expired lease would never be seen as
expired; every subprocess therefore uses the same lease owner name, as a restarted instance with a
stable identity does, and takes its own dead lease back at once.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import multiprocessing
import os
import pathlib
import random
import signal
import time
import typing as t

import sqlalchemy as sa

from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import SandboxClock
from connector.sync.config import crm_entry, load_config
from connector.sync.config import write_config as write_connector_yaml
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync

REPO = pathlib.Path(__file__).resolve().parents[2]
CRM = "crash"
#: The sandbox's frozen "now" (its demo data lies in the months before) and the sync's clock.
SANDBOX_NOW_MS = int(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC).timestamp() * 1000)
SYNC_NOW = dt.datetime(2026, 6, 1, 12, 5, tzinfo=dt.UTC)
OWNER = "crash-test-instance"

#: Modules the fork server imports once, so each sync process starts in milliseconds, not seconds.
PRELOAD = ["connector.sync.pipeline", "connector.adapters.hubspot", "connector.scoring.engine", "connector.scoring.batch"]


def make_sandbox(contacts: int, **options: t.Any) -> HubSpotSandbox:
    """A started demo-seeded sandbox on a frozen clock, without rate limits: identical for equal arguments."""
    options.setdefault("rate_limit", None)
    options.setdefault("search_rate", None)
    return HubSpotSandbox(seed="demo", seed_contacts=contacts, random_seed=7, token="crash-token", clock=SandboxClock(frozen_ms=SANDBOX_NOW_MS), **options).start()


def frozen_clock() -> dt.datetime:
    """The sync's clock (module level, so a sync subprocess can be handed it)."""
    return SYNC_NOW


def write_config(folder: pathlib.Path, crm: str = CRM, database_url: str | None = None, **keys: t.Any) -> pathlib.Path:
    """A connector.yaml for one HubSpot CRM with the shipped mapping and models, limits lifted for speed.

    Small batches and chunks: more places for a kill or a fault to land between two commits. The
    lease never expires on a frozen clock; the stable owner name (OWNER) takes it back instead.
    ``keys``: top-level keys to set or replace (``lease``, ``batch``...), or ``rate_limit``.
    """
    models = sorted((REPO / "mappings" / "models").glob("*.yaml"))
    rate_limit = keys.pop("rate_limit", {"requests": 100000, "per_seconds": 1, "searches_per_second": 100000})
    entry = crm_entry(crm, "hubspot", REPO / "mappings" / "hubspot.yaml", models, credentials={"access_token": "TEST_HS_TOKEN"}, base_url_env="TEST_HS_URL", rate_limit=rate_limit)
    top = {"batch": {"push_size": 10, "score_chunk": 25}, "database_url": database_url or f"sqlite:///{folder / 'state.db'}", "lease": {"ttl_seconds": 600, "wait_seconds": 0}, **keys}
    return write_connector_yaml(folder / "connector.yaml", [entry], **top)


def env_for(sandbox: HubSpotSandbox) -> dict[str, str]:
    """The credentials the config names, for this sandbox."""
    return {"TEST_HS_TOKEN": sandbox.token, "TEST_HS_URL": sandbox.base_url}


def setup_crm(config_path: pathlib.Path, sandbox: HubSpotSandbox) -> None:
    """Create the output properties and lists, as an admin does once before the first sync."""
    from connector.adapters.base import NoGate
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models

    config = load_config(config_path)
    crm = config.crms[0]
    adapter = connect(crm, NoGate(), environ=env_for(sandbox))
    adapter.setup(specs_from_models(load_models(crm.models)))
    adapter.close()


def sync_in_process(config_path: pathlib.Path, sandbox: HubSpotSandbox, *, full: bool = False) -> t.Any:
    """One run in this process, on the frozen sync clock."""
    env = env_for(sandbox)
    return run_sync(
        load_config(config_path),
        full=full,
        clock=lambda: SYNC_NOW,
        owner=OWNER,
        adapter_factory=lambda c, gate: connect(c, gate, environ=env),
    )


def crm_state(sandbox: HubSpotSandbox) -> dict[str, t.Any]:
    """Everything the sync may have changed in the CRM: contact properties, list members, tasks."""
    store = sandbox.store
    with store.lock:
        contacts = {rid: dict(rec.properties) for rid, rec in store.objects("contacts").records.items()}
        tasks = sorted(
            json.dumps(
                {
                    "props": {k: v for k, v in rec.properties.items() if k not in ("hs_object_id",)},
                    "contacts": sorted(store.associated("tasks", rid, "contacts")),
                },
                sort_keys=True,
            )
            for rid, rec in store.objects("tasks").records.items()
        )
    lists = {lst.name: [i for i, _ in sandbox.lists.member_ids(lst)] for lst in sandbox.lists.all()}
    return {"contacts": contacts, "lists": lists, "tasks": tasks}


def db_state(url: str) -> dict[str, t.Any]:
    """What the state database says: activities, scores, trigger firings and actions, outbox leftovers."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = lambda sql: conn.execute(sa.text(sql)).all()  # noqa: E731
            return {
                "activities": sorted(r[0] for r in q("SELECT id FROM activities")),
                "activity_rows": q("SELECT COUNT(*) FROM activities")[0][0],
                "scores": sorted(tuple(map(str, r)) for r in q("SELECT contact_id, model, score, grade, stage, dimensions FROM scores")),
                "firings": sorted(r[0] for r in q("SELECT key FROM trigger_firings")),
                "actions": sorted(tuple(map(str, r)) for r in q("SELECT key, status FROM trigger_actions")),
                "pending_outbox": q("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0],
            }
    finally:
        engine.dispose()


def diff_summary(expected: dict[str, t.Any], actual: dict[str, t.Any]) -> str:
    """A short, readable account of how two CRM states differ."""
    out = []
    for cid in sorted(set(expected["contacts"]) | set(actual["contacts"]), key=int):
        a, b = expected["contacts"].get(cid, {}), actual["contacts"].get(cid, {})
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if keys:
            out.append(f"contact {cid}: " + ", ".join(f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in keys[:4]))
    for name in sorted(set(expected["lists"]) | set(actual["lists"])):
        if expected["lists"].get(name) != actual["lists"].get(name):
            out.append(f"list {name!r}: {len(expected['lists'].get(name) or [])} vs {len(actual['lists'].get(name) or [])} members")
    if expected["tasks"] != actual["tasks"]:
        out.append(f"tasks: {len(expected['tasks'])} expected, {len(actual['tasks'])} found")
    return "\n".join(out[:20])


PHASES = ("pull", "push", "actions")


def phase_of(path: str) -> str:
    """Which part of a run a request belongs to: ``pull``, ``push`` or ``actions`` (tasks, lists, owners)."""
    if path.endswith("/batch/update"):
        return "push"
    if "/objects/tasks" in path or "associations/contacts/tasks" in path or "/lists/" in path or path.rstrip("/").endswith("/crm/v3/lists") or path.endswith("/contacts/batch/read"):
        return "actions"
    return "pull"


def sync_process_main(config_path: str, env: dict[str, str], result_path: str) -> None:
    """Body of a sync subprocess: one run on the frozen clock, its outcome written as JSON."""
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)
    summary = run_sync(load_config(config_path), clock=frozen_clock, owner=OWNER)
    outcome = {"status": summary.status, "written": summary.written, "actions": summary.actions, "error": summary.error}
    pathlib.Path(result_path).write_text(json.dumps(outcome))


def process_factory() -> t.Any:
    """Start sync subprocesses from a fork server that has the connector imported already.

    Each run is still its own process (own memory, own database connections), and SIGKILL ends it
    as abruptly as it would end ``connector sync``; only the seconds of importing are saved.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def spawn_sync(ctx: t.Any, config_path: pathlib.Path, sandbox: HubSpotSandbox, result: pathlib.Path) -> t.Any:
    """A started sync subprocess against ``sandbox``."""
    result.unlink(missing_ok=True)
    proc = ctx.Process(target=sync_process_main, args=(str(config_path), env_for(sandbox), str(result)))
    proc.start()
    return proc


def test_sigkill_at_random_points_then_one_clean_run_equals_an_undisturbed_run(tmp_path: pathlib.Path) -> None:
    contacts = 150
    ref_dir, crash_dir = tmp_path / "reference", tmp_path / "crash"
    ref_dir.mkdir()
    crash_dir.mkdir()

    with make_sandbox(contacts) as reference:
        ref_config = write_config(ref_dir)
        setup_crm(ref_config, reference)
        reference.requests_clear()
        started = time.monotonic()
        summary = sync_in_process(ref_config, reference)
        reference_seconds = time.monotonic() - started
        assert summary.status == "ok", summary.error
        reference_log = reference.requests
        requests_per_run = len(reference_log)
        expected = crm_state(reference)
        expected_db = db_state(load_config(ref_config).effective_database_url())
    assert requests_per_run > 20 and summary.written > 0 and summary.actions > 0, "the reference run did too little to test"

    rng = random.Random(20261123)
    per_phase = collections.Counter(phase_of(r.path) for r in reference_log)
    assert all(per_phase[p] > 0 for p in ("pull", "push", "actions")), per_phase
    kills: collections.Counter[str] = collections.Counter()
    with make_sandbox(contacts) as crm:
        config = write_config(crash_dir)
        setup_crm(config, crm)
        ctx = process_factory()
        outcome = crash_dir / "outcome.json"
        # Each attempt aims at one phase: the k-th request of the pull, the push or the trigger
        # actions, or a moment in time (start-up, database and scoring work between requests).
        for phase in ("pull", "push", "time", "actions", "pull", "push", "actions", "time", "push", "actions"):
            # early in the actions, so that some are left for the next attempts to be killed in
            span = per_phase[phase] // 4 if phase == "actions" else per_phase[phase]
            at_request = rng.randint(1, max(1, span)) if phase != "time" else 0
            at_seconds = rng.uniform(0.05, reference_seconds)
            base = len(crm.requests)
            started = time.monotonic()
            proc = spawn_sync(ctx, config, crm, outcome)
            while proc.is_alive():
                if phase == "time":
                    # at a moment in time, at the latest when the actions begin
                    due = time.monotonic() - started >= at_seconds or any(phase_of(r.path) == "actions" for r in crm.requests[base:])
                else:
                    # the k-th request of the phase, or the phase is over (a resumed run has less to do)
                    seen = [phase_of(r.path) for r in crm.requests[base:]]
                    due = seen.count(phase) >= at_request or any(PHASES.index(p) > PHASES.index(phase) for p in seen)
                if due:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills[phase] += 1
                    break
                time.sleep(0.001)
            proc.join(60)
            assert proc.exitcode in (0, -signal.SIGKILL), f"sync process ended with {proc.exitcode}"
        assert sum(kills.values()) >= 6 and all(kills[p] for p in ("pull", "push", "actions")), f"kills per phase: {dict(kills)}; the test proves too little"

        final = spawn_sync(ctx, config, crm, outcome)
        final.join(120)
        assert final.exitcode == 0
        result = json.loads(outcome.read_text())
        assert result["status"] == "ok", result
        actual = crm_state(crm)
        actual_db = db_state(load_config(config).effective_database_url())

    same_but_tasks = {k: v for k, v in actual.items() if k != "tasks"} == {k: v for k, v in expected.items() if k != "tasks"}
    assert same_but_tasks, diff_summary(expected, actual)
    assert actual_db["activity_rows"] == len(set(actual_db["activities"])), "an activity is stored twice"
    assert actual_db["activities"] == expected_db["activities"]
    assert actual_db["scores"] == expected_db["scores"]
    assert actual_db["firings"] == expected_db["firings"], "a trigger fired twice or not at all"
    assert actual_db["actions"] == expected_db["actions"]
    assert actual_db["pending_outbox"] == 0
    check_tasks(expected["tasks"], actual["tasks"])


def check_tasks(expected: list[str], actual: list[str]) -> None:
    """Tasks must match exactly: none missing, none wrong, and none created twice.

    A ``create_task`` action whose task HubSpot created but whose success never reached the
    database (killed in between, or the answer lost to a fault after the write) must not create a
    second task: the task carries the action's key (``connector_action_key``), and the sync engine
    hands an action sent before (left ``running``, or pending after a failed attempt) to the adapter
    as ``attempted``, so it looks the key up before creating.
    """
    missing = collections.Counter(expected) - collections.Counter(actual)
    extra = collections.Counter(actual) - collections.Counter(expected)
    assert not missing, f"tasks missing after the crashes: {list(missing)[:3]}"
    duplicates = [task for task in extra if task in expected]
    assert not duplicates, f"{sum(extra[task] for task in duplicates)} task(s) created twice, e.g. {duplicates[0]}"
    assert not extra, f"unexpected tasks: {list(extra)[:3]}"
    assert actual == expected
