"""Salesforce API calls of a full pull and push of N leads next to the floor, and a full-sync throughput figure.

Calls are what the org counts against its daily allowance (the sandbox's ``DailyApiRequests``
usage; logins are not counted, as in Salesforce). Floors:

* pull: ceil(N / 2000) query pages (one ``queryAll`` ordered by ``SystemModstamp, Id``, walked
  along ``nextRecordsUrl``);
* push through Bulk API 2.0 (N >= ``push.bulk_threshold``): the job's own calls -- create, upload,
  close, the state polls until ``JobComplete`` and the final state read, ``successfulResults``,
  ``failedResults`` (simple-salesforce's ``update`` then our two result reads);
* push through sObject Collections (forced with a threshold above N): ceil(changed / 200).

The adapter's extras: none for outputs of the models (their kinds come with the adapter's
settings, as ``connect`` builds it); a ``describe`` of Lead only for fields the models do not
declare (a trigger's ``set_property`` on a field of the org's own).

``--sync N`` runs ``connector sync``'s pipeline (run_sync, the shipped b2b-saas model, the shipped
mapping without campaigns) over N generated leads, in a spawned process of its own, and prints wall
time, leads per second, calls, and the peak memory (RSS) of the run's process and of its scoring
worker. ``--database`` puts its state store in a new SQLite file or on PostgreSQL (a fresh schema,
dropped after), as in ``bench_sync.py``.

    .venv/bin/python bench/bench_salesforce_calls.py [--leads 20000] [--sync 100000] [--database postgresql+psycopg://user@host:port/db]

The sandbox runs in its own process (``connector sandbox salesforce``) so its CPU does not compete
with the connector's for one interpreter. Print ``uptime`` beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import pathlib
import sys
import tempfile
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from bench_sync import in_process, peak_rss_mb, state_database  # noqa: E402
from sandbox_salesforce import start_sandbox  # noqa: E402

from connector.adapters import adapter_spec  # noqa: E402
from connector.adapters.base import FieldUpdate, NoGate, OutputSpec  # noqa: E402
from connector.adapters.salesforce import SalesforceAdapter, load_mapping, salesforce_settings  # noqa: E402
from connector.adapters.settings import read_settings  # noqa: E402
from connector.sandbox.testing import trusting_session  # noqa: E402

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def bench_mapping(folder: pathlib.Path, *, threshold: int, max_push: int, contacts: bool = False, campaigns: bool = False) -> pathlib.Path:
    """The shipped mapping, without campaigns unless asked (their membership calls are not the write floor), Bulk polls every second."""
    text = (ROOT / "mappings" / "salesforce.yaml").read_text()
    if not campaigns:
        text = text.replace('  stage_campaigns:\n    b2b_saas_stage: "b2b-saas: {stage}"', "  stage_campaigns: {}")
        lines = [line for line in text.splitlines() if "b2b-saas: hot" not in line and "b2b-saas: warm" not in line]
        text = "\n".join(lines).replace("  score_bands:\n", "  score_bands: []\n")
    text = text.replace("bulk_threshold: 2000", f"bulk_threshold: {threshold}")
    text = text.replace("max_push: 10000", f"max_push: {max_push}").replace("bulk_poll_seconds: 2.0", "bulk_poll_seconds: 1.0")
    if not contacts:
        text = text.replace("  contact:\n    enabled: true", "  contact:\n    enabled: false")
    path = folder / f"salesforce-{threshold}-{max_push}.yaml"
    path.write_text(text + "\n")
    load_mapping(path)
    return path


def usage(admin: requests.Session, base: str) -> int:
    return int(admin.get(f"{base}/_sandbox/limits").json()["dailyUsage"])


#: What the bench's "model" writes: one number output.
OUTPUTS = [OutputSpec("bench_score", "number")]


def adapter_for(env: dict[str, str], mapping: pathlib.Path) -> SalesforceAdapter:
    """The adapter as ``connect`` builds it: settings from the variables, with the models' outputs."""
    settings = read_settings(adapter_spec("salesforce"), crm="bench", mapping=mapping, environ=env, outputs=OUTPUTS)
    return SalesforceAdapter(salesforce_settings(settings), load_mapping(mapping), gate=NoGate(), outputs=settings.outputs)


def calls(n: int, env: dict[str, str], admin: requests.Session, folder: pathlib.Path) -> None:
    base = env["SALESFORCE_INSTANCE_URL"]
    admin.post(f"{base}/_sandbox/leads/bulk", json={"count": n, "seed": 1}).raise_for_status()
    bulk = bench_mapping(folder, threshold=2000, max_push=max(n, 200))
    adapter = adapter_for(env, bulk)
    adapter.setup(OUTPUTS)
    adapter.close()
    rows = []

    adapter = adapter_for(env, bulk)
    before, started = usage(admin, base), time.perf_counter()
    leads = [c for page in adapter.pull_contacts(None, dt.datetime.now(dt.UTC)) for c in page.records]
    rows.append(("pull (queryAll)", usage(admin, base) - before, math.ceil(n / 2000), time.perf_counter() - started))
    assert len({c.id for c in leads}) == n, f"pulled {len(leads)} of {n}"

    before, started = usage(admin, base), time.perf_counter()
    result = adapter.push([FieldUpdate(c.id, {"bench_score": i % 200}) for i, c in enumerate(leads)])
    spent = usage(admin, base) - before
    assert len(result.written) == n and not result.failed, result.failed
    job = {k: v for k, v in adapter.stats.by_endpoint.items() if k.split(" ")[1].startswith("jobs/")}
    rows.append(("push (Bulk 2.0)", spent, sum(job.values()), time.perf_counter() - started))
    adapter.close()

    collections = adapter_for(env, bench_mapping(folder, threshold=n + 1, max_push=max(n, 200)))
    before, started = usage(admin, base), time.perf_counter()
    result = collections.push([FieldUpdate(c.id, {"bench_score": (i + 1) % 200}) for i, c in enumerate(leads)])
    rows.append(("push (Collections)", usage(admin, base) - before, math.ceil(n / 200), time.perf_counter() - started))
    assert len(result.written) == n and not result.failed
    collections.close()

    print(f"leads: {n:,}, changed: {n:,}; calls = the org's DailyApiRequests usage (logins not counted); Bulk job calls: {job}")
    print(f"{'':20}{'calls':>8}{'floor':>8}{'ratio':>8}{'seconds':>10}")
    for name, spent, floor, seconds in rows:
        print(f"{name:20}{spent:>8}{floor:>8}{spent / floor:>8.3f}{seconds:>10.1f}")
    for label, push in (("Bulk", rows[1]), ("Collections", rows[2])):
        total, floor = rows[0][1] + push[1], rows[0][2] + push[2]
        print(f"pull + push ({label}): {total} calls vs floor {floor}: ratio {total / floor:.3f} ({'within' if total <= floor * 1.05 else 'NOT within'} 5%)")


def sync(n: int, env: dict[str, str], folder: str, database_url: str, campaigns: bool) -> dict[str, t.Any]:
    """One full sync of ``n`` generated leads, in this (spawned) process: its figures and peak memory."""
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models
    from connector.sync.config import crm_entry, load_config, write_config
    from connector.sync.connect import connect
    from connector.sync.pipeline import run_sync

    base, here = env["SALESFORCE_INSTANCE_URL"], pathlib.Path(folder)
    admin = trusting_session(env["SALESFORCE_CA_BUNDLE"])
    admin.post(f"{base}/_sandbox/reset", json={"seed": "empty"}).raise_for_status()
    started = time.perf_counter()
    admin.post(f"{base}/_sandbox/leads/bulk", json={"count": n, "seed": 2}).raise_for_status()
    generated = time.perf_counter() - started
    mapping = bench_mapping(here, threshold=2000, max_push=10000, contacts=True, campaigns=campaigns)
    config_path = write_config(here / "connector.yaml", [crm_entry("sf", "salesforce", mapping, [ROOT / "mappings" / "models" / "b2b-saas.yaml"])], database_url=database_url)
    config = load_config(config_path)
    setup = connect(config.crms[0], NoGate(), environ=env)
    setup.setup(specs_from_models(load_models(config.crms[0].models)))
    setup.close()
    rss0 = peak_rss_mb()[0]
    load0, before, started, cpu = os.getloadavg()[0], usage(admin, base), time.perf_counter(), time.process_time()
    summary = run_sync(config, "sf", full=True, adapter_factory=lambda c, gate: connect(c, gate, environ=env))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    run_peak, worker_peak = peak_rss_mb()
    spent = usage(admin, base) - before
    return {"status": summary.status, "error": summary.error, "wall": wall, "cpu": cpu, "spent": spent, "generated": generated, "pulled": summary.pulled_contacts,
            "scored": summary.scored, "written": summary.written, "rss0": rss0, "run_peak": run_peak, "worker_peak": worker_peak, "load": (load0, os.getloadavg()[0])}


def print_sync(n: int, out: dict[str, t.Any], store: str, campaigns: bool) -> None:
    """The figures of :func:`sync`."""
    # Floor: the lead pages, one Contact query, one query per activity source (Task, Event,
    # CampaignMember), and 7 calls per Bulk job of 10,000 (create, upload, close, one poll, the final
    # state read, two result reads).
    floor = math.ceil(n / 2000) + 1 + 3 + math.ceil(n / 10000) * 7
    wall, spent = out["wall"], out["spent"]
    print(f"org: {n:,} leads generated in {out['generated']:.1f} s (sandbox in its own process); state store {store}")
    print(f"sync of {n:,} leads{' with stage and band campaigns' if campaigns else ''}: {out['status']}{' (' + str(out['error']) + ')' if out['error'] else ''}, "
          f"{wall:.1f} s wall ({n / wall:,.0f} leads/s), {out['cpu']:.1f} s CPU in the run's process; "
          f"pulled {out['pulled']:,}, scored {out['scored']:,}, written {out['written']:,}; {spent} calls counted by the org "
          f"vs floor {floor} (ratio {spent / floor:.3f}); load {out['load'][0]:.2f} -> {out['load'][1]:.2f}")
    print(f"peak memory: run {out['run_peak']:,.0f} MB, scoring worker {out['worker_peak']:,.0f} MB (peak RSS, target < 1 GB each; "
          f"the run's own process, {out['rss0']:,.0f} MB before the run; the sandbox not counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--sync", type=int, default=0, help="also run a full sync of this many leads (e.g. 100000)")
    parser.add_argument("--campaigns", action="store_true", help="the sync keeps the shipped mapping's stage and band campaigns")
    parser.add_argument("--database", metavar="SQLITE_FILE|POSTGRES_URL", help="the sync's state store: a new SQLite file, or a PostgreSQL URL (a fresh schema, dropped after); default: SQLite in a temporary folder")
    args = parser.parse_args()
    # No Pub/Sub API: its change-event bus keeps every write's event for 72 hours (a 1,000,000-lead
    # sync publishes 2,000,000), which neither bench reads.
    process, env = start_sandbox("--daily-limit", "5000000", "--pubsub-port", "-1")
    try:
        admin = trusting_session(env["SALESFORCE_CA_BUNDLE"])
        with tempfile.TemporaryDirectory(prefix="bench-sf-") as tmp, state_database(args.database, pathlib.Path(tmp)) as database_url:
            print(f"load average at start: {os.getloadavg()[0]:.2f}")
            if args.leads:
                calls(args.leads, env, admin, pathlib.Path(tmp))
            if args.sync:
                # In a spawned process of its own, so its peak memory is the run's, not the calls bench's.
                out = in_process(sync, args.sync, env, tmp, database_url, args.campaigns)
                print_sync(args.sync, out, "PostgreSQL" if database_url.startswith("postgresql") else "SQLite", args.campaigns)
            print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
