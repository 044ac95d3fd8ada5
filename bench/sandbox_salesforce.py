"""Benchmark: can the Salesforce sandbox serve a 20,000-lead sync without being the bottleneck?

The sandbox runs in its own process (``connector sandbox salesforce``), so its CPU does not compete
with the client's for one interpreter. Prints: time to generate N leads (admin bulk endpoint); a full
pull through simple-salesforce (one SOQL query ordered by SystemModstamp, Id, walked through
``nextRecordsUrl`` pages of 2,000); a push of one changed field to every lead through sObject
Collections (200 per PATCH) and through one Bulk API 2.0 ingest job; API calls used next to the floor
(ceil(N/2000) query pages, ceil(N/200) collection calls, the bulk job's calls) and the server time per
call from the sandbox's request log.

    .venv/bin/python bench/sandbox_salesforce.py [--leads 20000]
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import time
import typing as t

import requests
from simple_salesforce import Salesforce

from connector.sandbox.testing import trusting_session

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "connector")


def start_sandbox(*options: str, until: str = "SALESFORCE_CA_BUNDLE") -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``connector sandbox salesforce`` (an empty org, ``options`` added) in its own process, and the variables it prints.

    ``until``: the last variable to wait for (``SALESFORCE_PUBSUB_URL`` follows the CA bundle).
    """
    process = subprocess.Popen([CONNECTOR, "sandbox", "salesforce", "--port", "0", "--seed", "empty", "--bulk-delay", "0.2", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    env: dict[str, str] = {}
    while until not in env:
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        name, _, value = line.strip().partition("=")
        env[name] = value
    return process, env


def served(admin: requests.Session, base: str) -> list[dict[str, t.Any]]:
    return t.cast(list[dict[str, t.Any]], admin.get(f"{base}/_sandbox/requests").json()["requests"])


def summary(records: list[dict[str, t.Any]]) -> str:
    times = [r["durationMs"] for r in records]
    return f"{len(records)} calls, server time avg {sum(times) / len(times):.1f} ms, max {max(times):.1f} ms, total {sum(times) / 1000:.2f}s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=20_000)
    n = parser.parse_args().leads
    process, env = start_sandbox()
    try:
        base = env["SALESFORCE_INSTANCE_URL"]
        admin = trusting_session(env["SALESFORCE_CA_BUNDLE"])
        t0 = time.perf_counter()
        admin.post(f"{base}/_sandbox/leads/bulk", json={"count": n, "seed": 1}).raise_for_status()
        print(f"generate {n:,} leads in the sandbox process: {time.perf_counter() - t0:.2f}s")

        sf = Salesforce(consumer_key=env["SALESFORCE_CLIENT_ID"], consumer_secret=env["SALESFORCE_CLIENT_SECRET"], domain=env["SALESFORCE_DOMAIN"],
                        session=trusting_session(env["SALESFORCE_CA_BUNDLE"]))
        admin.delete(f"{base}/_sandbox/requests")
        t0 = time.perf_counter()
        ids = [r["Id"] for r in sf.query_all_iter("SELECT Id, Email, Title, Company, Industry, NumberOfEmployees, Country, Owner.Email, SystemModstamp "
                                                  "FROM Lead ORDER BY SystemModstamp, Id")]
        wall = time.perf_counter() - t0
        assert len(set(ids)) == n, f"pull missed leads: {len(set(ids))} != {n}"
        pages = served(admin, base)
        print(f"pull: {n:,} leads in {wall:.1f}s wall ({n / wall:,.0f} leads/s); {summary(pages)}; floor ceil(N/2000) = {math.ceil(n / 2000)}")

        admin.delete(f"{base}/_sandbox/requests")
        t0 = time.perf_counter()
        for start in range(0, n, 200):
            chunk = [{"attributes": {"type": "Lead"}, "id": i, "Title": "Scored"} for i in ids[start:start + 200]]
            results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": chunk})
            assert results is not None and all(r["success"] for r in results)
        wall = time.perf_counter() - t0
        print(f"push, sObject Collections: {wall:.1f}s wall ({n / wall:,.0f} records/s); {summary(served(admin, base))}; floor ceil(N/200) = {math.ceil(n / 200)}")

        admin.delete(f"{base}/_sandbox/requests")
        t0 = time.perf_counter()
        result = sf.bulk2.Lead.update(records=[{"Id": i, "Title": "Bulk"} for i in ids], wait=0.2)
        wall = time.perf_counter() - t0
        assert result[0]["numberRecordsFailed"] == 0 and result[0]["numberRecordsProcessed"] == n
        calls = served(admin, base)
        print(f"push, Bulk API 2.0 (one job, 0.2 s per job step): {wall:.1f}s wall; {summary(calls)} "
              f"(create, upload, close, {len(calls) - 3} status polls)")
        usage = sf.limits()["DailyApiRequests"]
        print(f"DailyApiRequests used: {usage['Max'] - usage['Remaining']:,} of {usage['Max']:,}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
