"""Benchmark: can the HubSpot sandbox serve a 100,000-contact sync without being the bottleneck?

Prints: time to generate N contacts; then, with rate limits off, the server-side cost of a full
incremental pull (search pages of 200 on lastmodifieddate windows, as a connector does) and of a
full push (batch updates of 100), and the request rate the sandbox sustains, next to what the
default HubSpot limits allow (19 requests/s general, 5 searches/s).

    .venv/bin/python bench/sandbox_hubspot.py [--contacts 100000]
"""

from __future__ import annotations

import argparse
import time

import requests

from connector.sandbox.hubspot import HubSpotSandbox, parse_time_ms
from connector.sandbox.hubspot.seed import contact_rows

SEARCH = "/crm/v3/objects/contacts/search"


def pull_all(session: requests.Session, base: str) -> tuple[list[str], int]:
    """Page through every contact by lastmodifieddate windows (cursor never jumps past 10,000)."""
    ids: list[str] = []
    calls = 0
    cursor = 0
    while True:
        after = 0
        last_ms = None
        while True:
            body = {"limit": 200, "after": str(after), "properties": ["email", "jobtitle", "lifecyclestage"],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(cursor)}]}]}
            page = session.post(base + SEARCH, json=body)
            calls += 1
            page.raise_for_status()
            data = page.json()
            for row in data["results"]:
                ids.append(row["id"])
            if data["results"]:
                last_ms = data["results"][-1]["properties"]["lastmodifieddate"]
            nxt = data.get("paging", {}).get("next", {}).get("after")
            if not nxt or int(nxt) + 200 > 10_000:
                break
            after = int(nxt)
        if not nxt:
            return ids, calls
        cursor = parse_time_ms(last_ms)  # next window starts at the last ms seen (duplicates are dropped)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    n = args.contacts

    t0 = time.perf_counter()
    rows = contact_rows(n, seed=1)
    t_rows = time.perf_counter() - t0
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None) as sb:
        t0 = time.perf_counter()
        sb.store.add_contacts(rows)
        t_load = time.perf_counter() - t0
        print(f"generate {n:,} contacts: rows {t_rows:.2f}s + load into store {t_load:.2f}s = {t_rows + t_load:.2f}s")

        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {sb.token}"
        t0 = time.perf_counter()
        ids, calls = pull_all(session, sb.base_url)
        t_pull = time.perf_counter() - t0
        unique = len(set(ids))
        search_ms = [r.duration_ms for r in sb.requests]
        print(f"pull: {calls} search calls, {unique:,} unique contacts, wall {t_pull:.1f}s "
              f"({calls / t_pull:.0f} searches/s; HubSpot allows 5/s), server time per page "
              f"avg {sum(search_ms) / len(search_ms):.1f} ms, max {max(search_ms):.1f} ms")
        assert unique == n, f"pull missed contacts: {unique} != {n}"

        sb.requests_clear()
        t0 = time.perf_counter()
        batch_calls = 0
        pulled = sorted(set(ids), key=int)
        for start in range(0, len(pulled), 100):
            chunk = [{"id": i, "properties": {"jobtitle": "Scored"}} for i in pulled[start:start + 100]]
            answer = session.post(sb.base_url + "/crm/v3/objects/contacts/batch/update", json={"inputs": chunk})
            answer.raise_for_status()
            batch_calls += 1
        t_push = time.perf_counter() - t0
        upd_ms = [r.duration_ms for r in sb.requests]
        print(f"push: {batch_calls} batch updates of 100, wall {t_push:.1f}s ({batch_calls / t_push:.0f} req/s; HubSpot allows 19/s), "
              f"server time per batch avg {sum(upd_ms) / len(upd_ms):.1f} ms, max {max(upd_ms):.1f} ms")
        floor = (n + 199) // 200 / 5 + (n + 99) // 100 / 19
        print(f"at the default limits the same sync needs >= {floor:.0f}s of API time; the sandbox spent "
              f"{(sum(search_ms) + sum(upd_ms)) / 1000:.1f}s serving it")


if __name__ == "__main__":
    main()
