"""A first sync of the demo portal on a HubSpot plan's real limits: calls, 429s and notices.

The sandbox plays the plan (``--tier``: Starter 100 requests / 10 s and no web analytics events,
Professional 190 / 10 s and no web analytics events, Enterprise 190 / 10 s with them; 5 searches / s
on every plan); the connector runs with HubSpot's declared defaults (190 / 10 s, 100 until the
first answer announces the plan's limit). Target: 0 x 429.

    .venv/bin/python bench/bench_hubspot_tier.py [--tier starter] [--contacts 5000]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.adapters.specs import specs_from_models  # noqa: E402
from connector.sandbox.hubspot import HubSpotSandbox  # noqa: E402
from connector.scoring.loader import load_models  # noqa: E402
from connector.sync.config import crm_entry, load_config, write_config  # noqa: E402
from connector.sync.connect import connect  # noqa: E402
from connector.sync.pipeline import run_sync  # noqa: E402
from connector.sync.ratelimit import RateLimiter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tier", default="starter", choices=["free", "starter", "professional", "enterprise"])
    parser.add_argument("--contacts", type=int, default=5000)
    args = parser.parse_args()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench-tier-"))
    with HubSpotSandbox(seed="demo", seed_contacts=args.contacts, tier=args.tier, search_rate="5/s") as sb:
        os.environ["BENCH_TIER_TOKEN"], os.environ["BENCH_TIER_URL"] = sb.token, sb.base_url
        entry = crm_entry("demo", "hubspot", ROOT / "mappings" / "hubspot.yaml", [ROOT / "mappings" / "models" / "b2b-saas.yaml"],
                          credentials={"access_token": "BENCH_TIER_TOKEN"}, base_url_env="BENCH_TIER_URL")
        config = load_config(write_config(folder / "connector.yaml", [entry], database_url=f"sqlite:///{folder / 'state.db'}"))
        setup = connect(config.crms[0], RateLimiter.from_limits(config.crms[0].limits), env_file=folder / ".env")
        setup.setup(specs_from_models(load_models(config.crms[0].models)))
        setup.close()
        time.sleep(10.5)  # the plan's window forgets the setup calls
        sb.requests_clear()
        started = time.perf_counter()
        run = run_sync(config, "demo")
        seconds = time.perf_counter() - started
        statuses = [r.status for r in sb.requests]
    print(f"tier {args.tier}, {args.contacts} demo contacts, first sync (load average {os.getloadavg()[0]:.2f})")
    print(f"status {run.status}; calls {len(statuses)}; 429s {statuses.count(429)}; written {run.written}; {seconds:.1f} s")
    for notice in run.notices:
        print(f"notice: {notice[:160]}...")


if __name__ == "__main__":
    main()
