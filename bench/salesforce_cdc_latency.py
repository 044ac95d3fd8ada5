"""Benchmark: how long from a Lead change in Salesforce to the connector holding its change notice?

The sandbox runs in its own process (``connector sandbox salesforce --port 0``: HTTPS and the Pub/Sub
API over gRPC+TLS). The connector's feed (:class:`connector.adapters.salesforce.cdc.PubSubFeed`,
logged in with the client credentials flow) subscribes to ``/data/ChangeEvents``; then N leads are
changed one at a time through the REST API (PATCH ``sobjects/Lead/{id}``), ``--gap`` seconds
apart. Prints p50/p95/max of two latencies: from sending the PATCH to the notice (what a rep
waits, less the sync run) and from the PATCH's answer to the notice (the event path alone); plus
notices lost or repeated (must be 0) and the load average (parallel work distorts the figures).

    .venv/bin/python bench/salesforce_cdc_latency.py [--changes 200] [--gap 0.05]

``--through-sync N`` measures the whole path instead, N times: a lead's Title is changed through
REST, ``connector listen``'s listener (debounce ``--debounce``) runs the incremental sync through
the real Salesforce adapter (shipped mapping, b2b-saas model, ``--leads`` leads in the org), and
the clock stops when the lead's ``b2b_saas_score__c`` has changed in the org (polled every 20 ms).

    .venv/bin/python bench/salesforce_cdc_latency.py --through-sync 20 --debounce 1.0 --leads 2000
"""

from __future__ import annotations

import argparse
import os
import pathlib
import queue
import signal
import statistics
import tempfile
import threading
import time

from sandbox_salesforce import start_sandbox  # bench/, beside this script

from connector.adapters.changes import ChangeNotice
from connector.adapters.salesforce.cdc_auth import feed_from_environment
from connector.sandbox.testing import trusting_session

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def through_sync(env: dict[str, str], changes: int, leads: int, debounce: float) -> None:
    from connector.adapters.base import NoGate
    from connector.adapters.salesforce.cdc import own_writes
    from connector.adapters.salesforce.cdc_auth import written_fields
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models
    from connector.sync.changes import ChangeListener, FeedPositions
    from connector.sync.config import crm_entry, load_config, write_config
    from connector.sync.connect import connect
    from connector.sync.db import open_database
    from connector.sync.pipeline import run_sync

    base = env["SALESFORCE_INSTANCE_URL"]
    admin = trusting_session(env["SALESFORCE_CA_BUNDLE"])
    first = admin.post(f"{base}/_sandbox/leads/bulk", json={"count": leads, "seed": 3}).json()["firstId"]
    with tempfile.TemporaryDirectory(prefix="bench-cdc-") as tmp:
        mapping = ROOT / "mappings" / "salesforce.yaml"
        config = load_config(write_config(pathlib.Path(tmp) / "connector.yaml", [crm_entry("sf", "salesforce", mapping, [ROOT / "mappings" / "models" / "b2b-saas.yaml"])],
                                          database_url=f"sqlite:///{tmp}/state.db"))
        entry = config.crms[0]
        specs = specs_from_models(load_models(entry.models))
        setup = connect(entry, NoGate(), environ=env)
        setup.setup(specs)
        setup.close()
        engine = open_database(config.effective_database_url())
        run_sync(config, "sf", engine=engine, adapter_factory=lambda c, gate: connect(c, gate, environ=env))  # the first full pull, as before listening
        listener = ChangeListener(feed_from_environment(environ=env), lambda: run_sync(config, "sf", engine=engine, adapter_factory=lambda c, gate: connect(c, gate, environ=env)),
                                  FeedPositions(engine, "sf", "/data/ChangeEvents"), debounce_s=debounce, is_echo=own_writes(written_fields(mapping, [s.name for s in specs])))
        thread = threading.Thread(target=listener.listen, daemon=True)
        thread.start()
        time.sleep(2.0)  # listening (the start-up pull is done)
        token = admin.post(f"{env['SALESFORCE_LOGIN_URL']}/services/oauth2/token",
                           data={"grant_type": "client_credentials", "client_id": env["SALESFORCE_CLIENT_ID"], "client_secret": env["SALESFORCE_CLIENT_SECRET"]}).json()
        api = trusting_session(env["SALESFORCE_CA_BUNDLE"])
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        lead_url = f"{base}/services/data/v59.0/sobjects/Lead/{first}"
        waits: list[float] = []
        for i in range(changes):
            score = api.get(lead_url, params={"fields": "b2b_saas_score__c"}).json()["b2b_saas_score__c"]
            t0 = time.perf_counter()
            assert api.patch(lead_url, json={"Title": "VP Marketing" if i % 2 == 0 else "Student intern"}).status_code == 204
            while api.get(lead_url, params={"fields": "b2b_saas_score__c"}).json()["b2b_saas_score__c"] == score:
                if time.perf_counter() - t0 > 60:
                    raise SystemExit(f"change {i}: the score did not move within 60 s")
                time.sleep(0.02)
            waits.append(time.perf_counter() - t0)
        listener.stop.set()
        thread.join(30)
        engine.dispose()
    print(f"change -> score written ({changes} changes, {leads:,} leads, debounce {debounce} s): p50 {pct(waits, 50):.2f} s  p95 {pct(waits, 95):.2f} s  "
          f"max {max(waits):.2f} s; runs {listener.stats.runs}, echoes skipped {listener.stats.echoes}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument("--through-sync", type=int, default=0, help="measure change -> score written through the listener and a real sync, this many times")
    parser.add_argument("--debounce", type=float, default=1.0)
    parser.add_argument("--leads", type=int, default=2000)
    args = parser.parse_args()
    process, env = start_sandbox("--pubsub-keepalive", "5", until="SALESFORCE_PUBSUB_URL")
    if args.through_sync:
        try:
            through_sync(env, args.through_sync, args.leads, args.debounce)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
        return
    try:
        api = trusting_session(env["SALESFORCE_CA_BUNDLE"])
        token = api.post(f"{env['SALESFORCE_LOGIN_URL']}/services/oauth2/token",
                         data={"grant_type": "client_credentials", "client_id": env["SALESFORCE_CLIENT_ID"], "client_secret": env["SALESFORCE_CLIENT_SECRET"]}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        base = f"{env['SALESFORCE_INSTANCE_URL']}/services/data/v59.0"
        lead = api.post(f"{base}/sobjects/Lead", json={"LastName": "Bench", "Company": "Acme"}).json()["id"]

        feed = feed_from_environment(environ=env)
        stop = threading.Event()
        arrivals: queue.Queue[float] = queue.Queue()

        def pump() -> None:
            for item in feed.changes(None, stop):
                if isinstance(item, ChangeNotice) and item.change_type == "UPDATE":
                    arrivals.put(time.perf_counter())

        threading.Thread(target=pump, daemon=True).start()
        time.sleep(1.0)  # subscribed from LATEST (the lead's CREATE came before)
        sent: list[tuple[float, float]] = []
        for i in range(args.changes):
            t0 = time.perf_counter()
            assert api.patch(f"{base}/sobjects/Lead/{lead}", json={"Title": f"T{i}"}).status_code == 204
            sent.append((t0, time.perf_counter()))
            time.sleep(args.gap)
        received: list[float] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(received) <= args.changes:
            try:
                received.append(arrivals.get(timeout=1.5 if len(received) >= args.changes else 5))
            except queue.Empty:
                break  # nothing more came within 1.5 s of the last expected notice
        stop.set()
        feed.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    # sequential PATCHes of one lead: the k-th UPDATE notice is the k-th PATCH's (one event per save, in commit order)
    from_send = [(got - t0) * 1000 for (t0, _), got in zip(sent, received, strict=False)]
    from_answer = [max(0.0, got - t1) * 1000 for (_, t1), got in zip(sent, received, strict=False)]
    print(f"changes {args.changes}, notices {len(received)}, lost {max(0, args.changes - len(received))}, extra {max(0, len(received) - args.changes)}")
    for label, values in (("PATCH sent -> notice", from_send), ("PATCH answered -> notice", from_answer)):
        print(f"{label:>26}: p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms  max {max(values):6.1f} ms  mean {statistics.fmean(values):6.1f} ms")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
