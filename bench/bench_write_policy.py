"""What a write policy saves on the demo portal over 30 simulated days: writes, property changes, API calls.

Each simulated day: the sandbox's frozen clock and the sync's clock move one day together, about 2%
of the contacts get a new page view (the same ones in both variants), and one incremental sync runs.
The first run (day 0, everything written once) is counted apart. Printed per variant:

- contacts written: records of batch updates, i.e. contacts whose ``lastmodifieddate`` moved and
  whose property-change workflows may start;
- property changes: (contact, property) pairs written, what property-change triggers see;
- update calls and all API calls of the daily runs.

    .venv/bin/python bench/bench_write_policy.py [--contacts 1000] [--days 30] [--min-change 5]

The policy measured is the one documented in ``connector.example.yaml``: score and dimensions
written when they moved by ``--min-change`` points (the score also on crossing the shipped score
bands 60 and 120), the reasons summary only with the score, grade or stage; stage and grade on
every change; ``scored_at`` (as always) only with another change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import random
import sys
import tempfile
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from connector.adapters.specs import specs_from_models  # noqa: E402
from connector.sandbox.hubspot import HubSpotSandbox  # noqa: E402
from connector.sandbox.hubspot.clock import SandboxClock  # noqa: E402
from connector.scoring.loader import load_models  # noqa: E402
from connector.sync.config import crm_entry, load_config, write_config  # noqa: E402
from connector.sync.connect import connect  # noqa: E402
from connector.sync.pipeline import run_sync  # noqa: E402
from connector.sync.ratelimit import RateLimiter  # noqa: E402

T0 = 1_768_478_400_000  # 2026-01-15T12:00:00Z
DAY = 86_400_000


def policy(min_change: float) -> dict[str, t.Any]:
    """The documented example policy for the shipped b2b-saas model."""
    return {
        "b2b_saas_score": {"min_change": min_change, "bands": [60, 120]},
        "b2b_saas_fit": {"min_change": min_change},
        "b2b_saas_engagement": {"min_change": min_change},
        "b2b_saas_reasons": {"only_with": ["b2b_saas_score", "b2b_saas_grade", "b2b_saas_stage"]},
    }


def simulate(contacts: int, days: int, write_policy: dict[str, t.Any] | None) -> dict[str, float]:
    """One variant: a fresh demo portal and state database, ``days`` daily runs after the first."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench-policy-"))
    with HubSpotSandbox(seed="demo", seed_contacts=contacts, rate_limit=None, search_rate=None, clock=SandboxClock(frozen_ms=T0)) as sb:
        os.environ["BENCH_WP_TOKEN"], os.environ["BENCH_WP_URL"] = sb.token, sb.base_url
        entry = crm_entry(
            "demo", "hubspot", ROOT / "mappings" / "hubspot.yaml", [ROOT / "mappings" / "models" / "b2b-saas.yaml"],
            credentials={"access_token": "BENCH_WP_TOKEN"}, base_url_env="BENCH_WP_URL",
            rate_limit={"requests": 100_000, "per_seconds": 1, "searches_per_second": 100_000}, write_policy=write_policy,
        )
        config = load_config(write_config(folder / "connector.yaml", [entry], database_url=f"sqlite:///{folder / 'state.db'}", overlap_minutes=5))
        setup = connect(config.crms[0], RateLimiter.from_limits(config.crms[0].limits), env_file=folder / ".env")
        setup.setup(specs_from_models(load_models(config.crms[0].models)))
        setup.close()

        def clock() -> dt.datetime:
            return dt.datetime.fromtimestamp(sb.clock.now_ms() / 1000, tz=dt.UTC)

        ids = sorted(r.id for r in sb.store.objects("contacts").records.values())
        rng = random.Random(11)
        first = run_sync(config, "demo", clock=clock)
        assert first.status == "ok", first.error
        totals = {"contacts written": 0.0, "update calls": 0.0, "api calls": 0.0, "first run written": float(first.written), "seconds": 0.0}
        engine = sa.create_engine(config.effective_database_url())
        with engine.connect() as conn:
            changes_before = _property_changes(conn)
        started = time.perf_counter()
        for _ in range(days):
            sb.clock.advance(days=1)
            now = sb.clock.now_ms()
            visitors = rng.sample(ids, max(1, len(ids) // 50))
            sb.store.add_events([{"objectId": cid, "eventType": "e_visited_page", "occurredAt": now - rng.randrange(DAY // 2),
                                  "properties": {"hs_url": "https://www.sandbox.example/pricing"}} for cid in visitors])
            sb.clock.advance(seconds=1)
            sb.requests_clear()
            run = run_sync(config, "demo", clock=clock)
            assert run.status == "ok", run.error
            totals["contacts written"] += run.written
            totals["api calls"] += run.api_calls
            totals["update calls"] += sum(1 for r in sb.requests if r.method == "POST" and r.path.rstrip("/").endswith("/contacts/batch/update"))
        totals["seconds"] = time.perf_counter() - started
        with engine.connect() as conn:
            totals["property changes"] = float(_property_changes(conn) - changes_before)
        engine.dispose()
    return totals


def _property_changes(conn: sa.Connection) -> int:
    """(contact, property) pairs written so far: the values of every outbox row that landed."""
    rows = conn.execute(sa.text("SELECT \"values\" FROM outbox WHERE status = 'done'")).all()
    import json

    return sum(len(v if isinstance(v, dict) else json.loads(v)) for (v,) in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--min-change", type=float, default=5.0)
    args = parser.parse_args()
    without = simulate(args.contacts, args.days, None)
    with_policy = simulate(args.contacts, args.days, policy(args.min_change))
    print(f"demo portal, {args.contacts} contacts, {args.days} simulated days after the first run (load average {os.getloadavg()[0]:.2f})")
    print(f"{'':28}{'every change':>14}{'policy':>10}{'ratio':>8}")
    for key in ("contacts written", "property changes", "update calls", "api calls", "first run written", "seconds"):
        a, b = without[key], with_policy[key]
        ratio = f"{b / a:.2f}" if a else "-"
        print(f"{key:28}{a:>14,.0f}{b:>10,.0f}{ratio:>8}" if key != "seconds" else f"{key:28}{a:>14.1f}{b:>10.1f}{ratio:>8}")


if __name__ == "__main__":
    main()
