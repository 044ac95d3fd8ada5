"""How many HubSpot API calls a full pull and push of N contacts costs, and the tasks of a trigger, next to the floors.

Floor = ceil(N / 200) search pages + ceil(changed / 100) batch updates. The adapter's extras are
the keyset walk's held-back records (a page's last millisecond is re-read by the next page), one
closing request, and one read of the property catalogue for value formatting.

Tasks: ``--task-share`` of the contacts (default 10%) fire a ``create_task`` trigger; the tasks go
to ``create_tasks`` in batches of 100, as the sync's action stage hands them in, with the owner
pulled with each contact. Target: at most 3 calls per 100 tasks (floor: one batch create per 100).
A second case hands the same tasks in again as ``attempted`` (a run after a crash cut the first
off): they are found by their key, none is created twice.

    .venv/bin/python bench/bench_hubspot_calls.py [--contacts 20000] [--import-share 0.1] [--task-share 0.1] [--with-limits [--gate]]

Runs the in-process sandbox over real sockets, through hubspot-api-client. ``--with-limits``
turns on the sandbox's default rate limits (190/10 s, 5 searches/s); without a RequestGate the
adapter then meets 429s, retries them (honouring Retry-After) and the figures show it; ``--gate``
hands in the sync engine's ``RateLimiter`` (as a sync run does), which keeps it under the limits.
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import datetime as dt
import math
import pathlib
import random
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.adapters.base import FieldUpdate, OutputSpec, TaskRequest  # noqa: E402
from connector.adapters.hubspot import ADAPTER, HubSpotAdapter, HubSpotSettings, load_mapping  # noqa: E402
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
    parser.add_argument("--task-share", type=float, default=0.1, help="share of contacts whose trigger creates a task")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    n = args.contacts
    imported = int(n * args.import_share)
    limits = {"rate_limit": "190/10s", "search_rate": "5/s"} if args.with_limits else {"rate_limit": None, "search_rate": None}
    with HubSpotSandbox(seed="empty", clock=SandboxClock(frozen_ms=T0), **limits) as sb:
        owners = list(sb.store.owners)
        sb.store.add_contacts([{"email": f"imp{i}@example.com", "jobtitle": "Analyst", "hubspot_owner_id": owners[i % len(owners)]} for i in range(imported)], modified_at_ms=T0 - 30 * DAY)
        for i in range(n - imported):
            row = {"email": f"c{i}@example.com", "jobtitle": rng.choice(["CTO", "VP Marketing", "Student", "Engineer"]), "hubspot_owner_id": rng.choice(owners)}
            sb.store.add_contacts([row], modified_at_ms=T0 - rng.randrange(30 * DAY))
        gate = None
        if args.gate:
            from connector.sync.ratelimit import RateLimiter

            gate = RateLimiter.from_limits(ADAPTER.rate_limits)
        adapter = HubSpotAdapter(HubSpotSettings(access_token=sb.token, base_url=sb.base_url), load_mapping(ROOT / "mappings" / "hubspot.yaml"), gate=gate)  # type: ignore[arg-type]
        adapter.setup([OutputSpec("bench_score", "number")])  # also the tasks' key property
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

        firing = rng.sample(contacts, int(n * args.task_share))
        due = dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC) + dt.timedelta(days=1)
        tasks = [TaskRequest(f"bench:b2b-saas:{c.id}:hot:1#1", c.id, "Call this lead", None, due, owner_id=c.owner_id) for c in firing]
        base_calls = stats.calls
        started = time.perf_counter()
        created = {key: tid for start in range(0, len(tasks), 100) for key, tid in adapter.create_tasks(tasks[start : start + 100]).created.items()}
        task_s = time.perf_counter() - started
        task_calls = stats.calls - base_calls
        assert len(created) == len(tasks), f"created {len(created)} of {len(tasks)} tasks"
        base_calls = stats.calls
        again = {key: tid for start in range(0, len(tasks), 100) for key, tid in adapter.create_tasks([dc.replace(t, attempted=True) for t in tasks[start : start + 100]]).created.items()}
        rerun_calls = stats.calls - base_calls
        assert again == created and len(sb.store.objects("tasks").records) == len(tasks), "a task was created twice"

        floor_pull = math.ceil(n / 200)
        floor_push = math.ceil(len(updates) / 100)
        floor_tasks = math.ceil(len(tasks) / 100)
        total = pull_calls + push_calls
        floor = floor_pull + floor_push
        served = len(sb.requests)
        print(f"contacts: {n} ({imported} imported in one millisecond), changed: {len(updates)}, rate limits: {'on' if args.with_limits else 'off'}, gate: {'RateLimiter' if args.gate else 'none'}")
        print(f"{'':14}{'calls':>8}{'floor':>8}{'ratio':>8}{'seconds':>10}")
        print(f"{'pull (search)':14}{pull_calls:>8}{floor_pull:>8}{pull_calls / floor_pull:>8.3f}{pull_s:>10.1f}")
        print(f"{'push (update)':14}{push_calls:>8}{floor_push:>8}{push_calls / floor_push:>8.3f}{push_s:>10.1f}")
        print(f"{'total':14}{total:>8}{floor:>8}{total / floor:>8.3f}{pull_s + push_s:>10.1f}")
        print(f"within 5% of the floor: {'yes' if total <= floor * 1.05 else 'NO'}")
        per_100 = task_calls / (len(tasks) / 100)
        print(f"{'tasks':14}{task_calls:>8}{floor_tasks:>8}{task_calls / floor_tasks:>8.3f}{task_s:>10.1f}   {len(tasks)} tasks ({args.task_share:.0%} of the contacts): {per_100:.2f} calls per 100 (target <= 3: {'yes' if per_100 <= 3 else 'NO'})")
        print(f"{'tasks again':14}{rerun_calls:>8}{'':>8}{'':>8}{'':>10}   the same {len(tasks)} handed in as sent before (after a crash): found by key, none created twice")
        print(f"sandbox served {served} requests; retries {stats.retries}, 429s {stats.rate_limited}; by endpoint: {stats.by_endpoint}")


if __name__ == "__main__":
    main()
