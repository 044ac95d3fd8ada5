"""Benchmark: how long from a Lead change in Salesforce to the connector holding its change notice?

The sandbox runs in its own process (``connector sandbox salesforce --port 0``: HTTPS and the Pub/Sub
API over gRPC+TLS). The connector's feed (:class:`connector.adapters.salesforce.cdc.PubSubFeed`,
logged in with the client credentials flow) subscribes to ``/data/ChangeEvents``; then N leads are
changed one at a time through the REST API (PATCH ``sobjects/Lead/{id}``), ``--gap`` seconds
apart. Prints p50/p95/max of two latencies: from sending the PATCH to the notice (what a rep
waits, less the sync run) and from the PATCH's answer to the notice (the event path alone); plus
notices lost or repeated (must be 0) and the load average (parallel work distorts the figures).

    .venv/bin/python bench/salesforce_cdc_latency.py [--changes 200] [--gap 0.05]
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time

from connector.adapters.changes import ChangeNotice
from connector.adapters.salesforce.cdc_auth import feed_from_environment
from connector.sandbox.testing import trusting_session

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "connector")


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen([CONNECTOR, "sandbox", "salesforce", "--port", "0", "--seed", "empty", "--pubsub-keepalive", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    env: dict[str, str] = {}
    while "SALESFORCE_PUBSUB_URL" not in env:
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        name, _, value = line.strip().partition("=")
        env[name] = value
    return process, env


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.05)
    args = parser.parse_args()
    process, env = start_sandbox()
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
