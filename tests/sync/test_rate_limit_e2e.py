"""Against the sandbox's real rate limits: the sync stays under them (no 429) at close to full speed."""

from __future__ import annotations

import pathlib
import time

import pytest

from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_models
from connector.sync.config import crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("requests", [20, 4000], ids=["configured-limit", "learned-from-headers"])
def test_sync_under_a_tight_rolling_limit_gets_no_429(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, requests: int) -> None:
    """20 per 2 s configured, or 4000 configured and the account's 20 learned from X-HubSpot-RateLimit-*."""
    with HubSpotSandbox(seed="demo", seed_contacts=150, rate_limit="20/2s", search_rate="5/s") as sb:
        monkeypatch.setenv("RL_TOKEN", sb.token)
        monkeypatch.setenv("RL_URL", sb.base_url)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        entry = crm_entry(
            "hs", "hubspot", REPO / "mappings" / "hubspot.yaml", [REPO / "mappings" / "models" / "b2b-saas.yaml"],
            credentials={"access_token": "RL_TOKEN"}, base_url_env="RL_URL", rate_limit={"requests": requests, "per_seconds": 2, "searches_per_second": 5},
        )
        write_config(tmp_path / "connector.yaml", [entry], database_url=f"sqlite:///{tmp_path / 'state.db'}")
        config = load_config(tmp_path / "connector.yaml")
        adapter = connect(config.crms[0], RateLimiter(20, 2, 5), env_file=tmp_path / ".env")
        adapter.setup(specs_from_models(load_models(config.crms[0].models)))
        adapter.close()
        time.sleep(2.1)  # let the sandbox's window forget the setup calls
        sb.requests_clear()
        summary = run_sync(config, "hs")
        statuses = [r.status for r in sb.requests]
    assert summary.status == "ok", summary.error
    assert summary.written > 0 and len(statuses) > 30
    assert 429 not in statuses and summary.rate_limited == 0
