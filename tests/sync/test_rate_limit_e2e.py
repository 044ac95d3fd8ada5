"""Against the sandbox's real rate limits: the sync stays under them (no 429) at close to full speed."""

from __future__ import annotations

import pathlib
import time

import pytest

from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_models
from connector.sync.adapters_factory import build_adapter
from connector.sync.config import load_config
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("requests", [40, 4000], ids=["configured-limit", "learned-from-headers"])
def test_sync_under_a_tight_rolling_limit_gets_no_429(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, requests: int) -> None:
    """40 per 2 s configured, or 4000 configured and the account's 40 learned from X-HubSpot-RateLimit-*."""
    with HubSpotSandbox(seed="demo", seed_contacts=150, rate_limit="40/2s", search_rate="5/s") as sb:
        monkeypatch.setenv("RL_TOKEN", sb.token)
        monkeypatch.setenv("RL_URL", sb.base_url)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        (tmp_path / "connector.yaml").write_text(
            f"""database_url: sqlite:///{tmp_path / 'state.db'}
crms:
  - name: hs
    adapter: hubspot
    mapping: {REPO / 'mappings' / 'hubspot.yaml'}
    models: [{REPO / 'mappings' / 'models' / 'b2b-saas.yaml'}]
    credentials: {{access_token: RL_TOKEN}}
    base_url_env: RL_URL
    rate_limit: {{requests: {requests}, per_seconds: 2, searches_per_second: 5}}
"""
        )
        config = load_config(tmp_path / "connector.yaml")
        adapter = build_adapter(config.crms[0], RateLimiter(40, 2, 5), env_file=tmp_path / ".env")
        adapter.setup_models(load_models(config.crms[0].models))
        adapter.close()
        time.sleep(2.1)  # let the sandbox's window forget the setup calls
        sb.requests_clear()
        summary = run_sync(config, "hs")
        statuses = [r.status for r in sb.requests]
    assert summary.status == "ok", summary.error
    assert summary.written > 0 and len(statuses) > 40
    assert 429 not in statuses and summary.rate_limited == 0
