"""Face to face over real sockets: the HubSpot sandbox sends signed webhooks, ``connector serve`` verifies,
stores, reads back, rescores and writes the new score into the sandbox within seconds.

The sandbox signs (its own reading of HubSpot's docs), the adapter verifies (its own reading): a
misunderstanding on either side fails here.
"""

from __future__ import annotations

import http.server
import json
import pathlib
import shutil
import threading
import typing as t

import pytest

from connector.adapters.hubspot.webhooks import HubSpotWebhooks
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.webhooks import WebhookSender
from connector.server.app import create_app
from connector.server.state import build_state
from connector.sync.config import ConnectorConfig, crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.db import open_database
from connector.sync.ratelimit import RateLimiter
from tests.realtime.live import serving, wait_for

DATA = pathlib.Path(__file__).resolve().parents[1] / "sync" / "data"


@pytest.fixture
def sandbox() -> t.Iterator[HubSpotSandbox]:
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, faults=0.0) as sb:
        yield sb


@pytest.fixture
def config(tmp_path: pathlib.Path, database_url: str, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> ConnectorConfig:
    shutil.copy(DATA / "model.yaml", tmp_path / "model.yaml")
    shutil.copy(DATA / "hubspot.yaml", tmp_path / "hubspot.yaml")
    entry = crm_entry("hubspot", "hubspot", "hubspot.yaml", ["model.yaml"], credentials={"access_token": "LIVE_TOKEN", "client_secret": "LIVE_SECRET"}, base_url_env="LIVE_URL")
    write_config(tmp_path / "connector.yaml", [entry], database_url=database_url)
    monkeypatch.setenv("LIVE_TOKEN", sandbox.token)
    monkeypatch.setenv("LIVE_SECRET", sandbox.oauth.client_secret)
    monkeypatch.setenv("LIVE_URL", sandbox.base_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = load_config(tmp_path / "connector.yaml")
    from connector.scoring.loader import load_models

    adapter = connect(cfg.crms[0], RateLimiter.from_limits(cfg.crms[0].limits), env_file=tmp_path / ".env")
    adapter.setup(specs_from_models(load_models(cfg.crms[0].models)))
    adapter.close()
    return cfg


def _prop(sb: HubSpotSandbox, cid: str, name: str) -> t.Any:
    record = sb.store.get("contacts", cid)
    return record.properties.get(name) if record else None


def test_contact_changes_reach_the_score_within_seconds(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    engine = open_database(config.effective_database_url())
    app = create_app(build_state(config, engine, poll_seconds=0.2))
    with serving(app) as url:
        sender = sandbox.send_webhooks(f"{url}/webhooks/hubspot", properties={"jobtitle", "hs_analytics_last_timestamp"})
        [cid] = sandbox.store.add_contacts([{"email": "ann@example.com", "jobtitle": "Engineer"}])
        assert wait_for(lambda: _prop(sandbox, cid, "test_model_grade") == "B"), "the new contact was not scored"
        sandbox.store.update_contact(cid, {"jobtitle": "Head of Marketing"})
        assert wait_for(lambda: _prop(sandbox, cid, "test_model_grade") == "A"), "the change did not reach the score"
        # Activity arrives in the portal: the trace property changes, the worker pulls the activity.
        now = sandbox.clock.now_ms()
        sandbox.store.add_events([{"objectId": cid, "eventType": "e_submitted_form", "occurredAt": now - 1000, "properties": {}}])
        assert wait_for(lambda: _prop(sandbox, cid, "test_model_stage") == "mql"), "the activity did not reach the score"
        sandbox.store.archive("contacts", cid)
        assert wait_for(lambda: sender.pending() == 0)
        assert all(d.status == 200 for d in sender.deliveries), sender.deliveries
        metrics = __import__("requests").get(f"{url}/metrics", timeout=5).text
    engine.dispose()
    assert 'connector_events_accepted_total{crm="hubspot",source="webhook"}' in metrics
    assert "connector_event_to_crm_seconds_bucket" in metrics
    assert 'connector_runs_24h{crm="hubspot",status="ok"}' in metrics
    assert 'connector_realtime_api_calls_total{crm="hubspot"}' in metrics


class _Flaky(http.server.BaseHTTPRequestHandler):
    """A target that fails the first three requests, then verifies with the adapter's reader."""

    seen: t.ClassVar[list[tuple[int, list[int], bool]]] = []
    secret = ""
    url = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        import datetime as dt

        try:
            HubSpotWebhooks().verify(self.secret, "POST", self.url, body, dict(self.headers), dt.datetime.now(dt.UTC))
            ok = True
        except ValueError:
            ok = False
        attempts = [e["attemptNumber"] for e in json.loads(body)]
        _Flaky.seen.append((len(_Flaky.seen), attempts, ok))
        self.send_response(500 if len(_Flaky.seen) <= 3 else 200)
        self.end_headers()

    def log_message(self, *args: t.Any) -> None:
        pass


def test_sandbox_retries_like_hubspot_and_signs_each_attempt(sandbox: HubSpotSandbox) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Flaky)
    _Flaky.seen = []
    _Flaky.secret = sandbox.oauth.client_secret
    _Flaky.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sender = WebhookSender(sandbox.store, _Flaky.url, sandbox.oauth.client_secret, concurrency=1, retry_delays=(0.05, 0.05, 0.05)).start()
    try:
        ids = sandbox.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(150)])
        assert wait_for(lambda: sender.pending() == 0, timeout=10)
    finally:
        sender.stop()
        server.shutdown()
    assert len(ids) == 150
    assert all(ok for _, _, ok in _Flaky.seen), "the adapter refused a signature the sandbox made"
    assert max(len(a) for _, a, _ in _Flaky.seen) == 100  # batched up to 100
    attempts = sorted(n for _, a, _ in _Flaky.seen for n in set(a))
    assert 1 in attempts and 2 in attempts  # retried, with attemptNumber counted up
    delivered = sum(d.events for d in sender.deliveries if d.status == 200)
    assert delivered == 150 and sender.dropped == 0
