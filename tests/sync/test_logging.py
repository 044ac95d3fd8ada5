"""What the logs say: retries, 429s, back-off waits and limiter adaptations, at the configured level, never a token."""

from __future__ import annotations

import logging
import os
import pathlib
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from connector.adapters.base import RateLimitInfo
from connector.cli import app
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sync.config import crm_entry, write_config
from connector.sync.ratelimit import RateLimiter
from tests.adapters.test_hubspot_retry import FakeResponse, _pool
from tests.fakecrm import T0, FakeAdapter, FakeCRM
from tests.sync.conftest import write_config as write_fake_config

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_a_retried_429_is_logged_with_its_endpoint_and_wait_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    pool, _, _ = _pool([FakeResponse(429, {"Retry-After": "2"}), FakeResponse(503), FakeResponse(200)], [])
    pool.request("POST", "http://h/crm/v3/objects/contacts/search", headers={})
    lines = [r.getMessage() for r in caplog.records if r.name == "connector.adapters.hubspot.retry"]
    assert lines == [
        "HubSpot POST crm/objects/contacts/search answered 429 (Retry-After 2); retry 1 of 3 in 2.00 s",
        "HubSpot POST crm/objects/contacts/search answered 503; retry 2 of 3 in 0.02 s",
    ]
    assert "pat-secret-123" not in caplog.text


def test_the_limiter_logs_its_back_off_and_adaptations(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="connector.sync.ratelimit")
    now = [0.0]
    limiter = RateLimiter(190, 10.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    limiter.before_request("default")
    limiter.after_response(200, RateLimitInfo(limit=100, interval=10.0, remaining=50))
    limiter.before_request("default")
    limiter.after_response(429, RateLimitInfo(retry_after=3.0))
    limiter.before_request("default")
    text = caplog.text
    assert "the CRM announces 100 requests per 10 s; now 100 per 10 s (was 190 per 10 s)" in text
    assert "remain in its window" in text
    assert "429 from the CRM; no request of this kind for 3.00 s" in text
    assert "a default request waits 3.00 s for its budget" in text


@pytest.fixture
def fake_cli(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    crm = FakeCRM()
    crm.add_contact("c1", T0, email="a@x.com", job_title="Marketing")
    monkeypatch.setattr("connector.sync.pipeline.connect", lambda c, gate, **kw: FakeAdapter(crm, gate))
    path = write_fake_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return path


@pytest.mark.parametrize(("level", "shown", "hidden"), [("DEBUG", "DEBUG", None), ("INFO", "INFO", "DEBUG"), ("WARNING", None, "INFO")])
def test_sync_with_text_logs_honours_the_configured_level(fake_cli: pathlib.Path, level: str, shown: str | None, hidden: str | None) -> None:
    fake_cli.write_text(f"log_format: text\nlog_level: {level}\n" + fake_cli.read_text())
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    levels = {line.split()[2] for line in result.stderr.splitlines() if line[:4].isdigit()}
    if shown:
        assert shown in levels, result.stderr
    if hidden:
        assert hidden not in levels, result.stderr
    if level != "WARNING":
        assert "run 1 started" in result.stderr


def test_a_cli_sync_at_debug_logs_the_429s_it_met_and_no_token(tmp_path: pathlib.Path) -> None:
    """``connector sync`` as a process against the sandbox answering 429s: the log shows each retry and back-off."""
    with HubSpotSandbox(seed="demo", seed_contacts=20, rate_limit=None, search_rate=None) as sandbox:
        sandbox.set_faults(rate=0.3, seed=3, kinds=("429",))
        config = write_config(
            tmp_path / "connector.yaml",
            [crm_entry("portal", "hubspot", REPO / "mappings" / "hubspot.yaml", [REPO / "mappings" / "models" / "b2b-saas.yaml"], credentials={"access_token": "HS_TOK"}, base_url_env="HS_URL")],
            database_url=f"sqlite:///{tmp_path / 'state.db'}",
            log_format="text",
            log_level="DEBUG",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DATABASE_URL"))}
        env.update(HS_TOK=sandbox.token, HS_URL=sandbox.base_url, CONNECTOR_CONFIG=str(config))
        done = subprocess.run([sys.executable, "-c", "from connector.cli import main; main()", "sync"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    log = done.stderr
    assert "answered 429" in log and "; retry 1 of 5 in " in log, log[-3000:]
    assert "rate limiter: 429 from the CRM; no request of this kind for" in log
    assert sandbox.token not in log + done.stdout
