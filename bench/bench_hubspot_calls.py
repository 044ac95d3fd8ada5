"""How many HubSpot API calls a full pull and push of N contacts costs, next to the floor.

Floor = ceil(N / 200) search pages + ceil(changed / 100) batch updates. The adapter's extras are
the keyset walk's held-back records (a page's last millisecond is re-read by the next page), one
closing request, and one read of the property catalogue for value formatting.

    .venv/bin/python bench/bench_hubspot_calls.py [--contacts 20000] [--import-share 0.1] [--with-limits [--gate]]

Runs the in-process sandbox over real sockets, through hubspot-api-client. ``--with-limits``
turns on the sandbox's default rate limits (190/10 s, 5 searches/s); without a RequestGate the
adapter then meets 429s, retries them (honouring Retry-After) and the figures show it; ``--gate``
hands in the sync engine's ``RateLimiter`` (as a sync run does), which keeps it under the limits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import pathlib
import random
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.adapters.base import FieldUpdate  # noqa: E402
from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings, load_mapping  # noqa: E402
from connector.sandbox.hubspot import HubSpotSandbox  # noqa: E402
from connector.sandbox.hubspot.clock import SandboxClock  # noqa: E402

T0 = 1_768_478_400_000
DAY = 86_400_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--import-share", type=float, default=0.1, help="share of contacts created by one import (same millisecond)")
    parser.add_argument("--with-limits", action="store_true")
    parser.add_argument("--gate", action="store_true", help="use the sync engine's RateLimiter as the RequestGate")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    n = args.contacts
    imported = int(n * args.import_share)
    limits = {"rate_limit": "190/10s", "search_rate": "5/s"} if args.with_limits else {"rate_limit": None, "search_rate": None}
    with HubSpotSandbox(seed="empty", clock=SandboxClock(frozen_ms=T0), **limits) as sb:
        sb.store.add_contacts([{"email": f"imp{i}@example.com", "jobtitle": "Analyst"} for i in range(imported)], modified_at_ms=T0 - 30 * DAY)
        for i in range(n - imported):
            sb.store.add_contacts([{"email": f"c{i}@example.com", "jobtitle": rng.choice(["CTO", "VP Marketing", "Student", "Engineer"])}],
                                  modified_at_ms=T0 - rng.randrange(30 * DAY))
        gate = None
        if args.gate:
            from connector.sync.ratelimit import RateLimiter

            gate = RateLimiter()
        adapter = HubSpotAdapter(HubSpotSettings(access_token=sb.token, base_url=sb.base_url), load_mapping(ROOT / "mappings" / "hubspot.yaml"), gate=gate)  # type: ignore[arg-type]
        adapter.setup(["bench_score"], {})
        stats = adapter.stats
        sb.requests_clear()
        base_calls = stats.calls

        started = time.perf_counter()
        contacts = [c for page in adapter.pull_contacts(None, dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)) for c in page.records]
        pull_s = time.perf_counter() - started
        pull_calls = stats.calls - base_calls
        assert len({c.id for c in contacts}) == n, f"pulled {len(contacts)} of {n}"

        updates = [FieldUpdate(c.id, {"bench_score": rng.randrange(0, 200)}) for c in contacts]
        started = time.perf_counter()
        result = adapter.push(updates)
        push_s = time.perf_counter() - started
        push_calls = stats.calls - base_calls - pull_calls
        assert len(result.written) == n and not result.failed

        floor_pull = math.ceil(n / 200)
        floor_push = math.ceil(len(updates) / 100)
        total = pull_calls + push_calls
        floor = floor_pull + floor_push
        served = len(sb.requests)
        print(f"contacts: {n} ({imported} imported in one millisecond), changed: {len(updates)}, rate limits: {'on' if args.with_limits else 'off'}, gate: {'RateLimiter' if args.gate else 'none'}")
        print(f"{'':14}{'calls':>8}{'floor':>8}{'ratio':>8}{'seconds':>10}")
        print(f"{'pull (search)':14}{pull_calls:>8}{floor_pull:>8}{pull_calls / floor_pull:>8.3f}{pull_s:>10.1f}")
        print(f"{'push (update)':14}{push_calls:>8}{floor_push:>8}{push_calls / floor_push:>8.3f}{push_s:>10.1f}")
        print(f"{'total':14}{total:>8}{floor:>8}{total / floor:>8.3f}{pull_s + push_s:>10.1f}")
        print(f"sandbox served {served} requests; retries {stats.retries}, 429s {stats.rate_limited}; by endpoint: {stats.by_endpoint}")
        print(f"within 5% of the floor: {'yes' if total <= floor * 1.05 else 'NO'}")


if __name__ == "__main__":
    main()
