"""Secrets never leak: a sync, ``connector serve`` (webhooks, events, refusals, metrics) and the status
report run with recognisable canary secrets at DEBUG level; none of them appears in a log line, an
answer, an error, the state database, the metrics or any file written.
"""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
import shutil

import pytest
import requests
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.adapters.specs import specs_from_models
from connector.cli import app as cli
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.portal import OAuthCredentials
from connector.scoring.loader import load_models
from connector.server.app import create_app
from connector.server.state import build_state
from connector.sync.apikeys import create_key
from connector.sync.config import crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter
from tests.realtime.live import serving, wait_for
from tests.realtime.signing import contact_event, signed

DATA = pathlib.Path(__file__).resolve().parents[1] / "sync" / "data"
TOKEN = "pat-canary-TOKEN-5e1f0c"
CLIENT_SECRET = "canary-CLIENT-SECRET-77ab"
REFRESH = "canary-REFRESH-0d9e"


def _dump(engine: sa.Engine) -> str:
    out = []
    with engine.connect() as conn:
        for name in sa.inspect(engine).get_table_names():
            out.extend(repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
    return "\n".join(out)


def test_no_secret_anywhere(tmp_path: pathlib.Path, database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    log_file = tmp_path / "connector.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    api_key = ""
    try:
        oauth = OAuthCredentials("canary-client-id", CLIENT_SECRET, REFRESH)
        with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, token=TOKEN, oauth=oauth) as sandbox:
            shutil.copy(DATA / "model.yaml", tmp_path / "model.yaml")
            shutil.copy(DATA / "hubspot.yaml", tmp_path / "hubspot.yaml")
            write_config(tmp_path / "connector.yaml", [crm_entry("hubspot", "hubspot", "hubspot.yaml", ["model.yaml"])], database_url=database_url, log_level="DEBUG")
            for name, value in sandbox.env().items():
                monkeypatch.setenv(name, value)
            monkeypatch.setenv("CONNECTOR_CONFIG", str(tmp_path / "connector.yaml"))
            monkeypatch.delenv("DATABASE_URL", raising=False)
            config = load_config(tmp_path / "connector.yaml")
            adapter = connect(config.crms[0], RateLimiter.from_limits(config.crms[0].limits))
            adapter.setup(specs_from_models(load_models(config.crms[0].models)))
            adapter.close()
            [cid] = sandbox.store.add_contacts([{"email": "ann@example.com", "jobtitle": "Engineer"}])
            engine = open_database(config.effective_database_url())
            assert run_sync(config, "hubspot", engine=engine).status == "ok"
            api_key = create_key(engine, "hubspot", "site", 600, dt.datetime.now(dt.UTC))[1]
            with serving(create_app(build_state(config, engine, poll_seconds=0.2))) as url:
                sandbox.send_webhooks(f"{url}/webhooks/hubspot", properties={"jobtitle"})
                sandbox.store.update_contact(cid, {"jobtitle": "Head of Marketing"})
                assert wait_for(lambda: sandbox.store.get("contacts", cid).properties.get("test_model_grade") == "A")
                answers = [
                    requests.post(f"{url}/events", json={"id": "1", "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": cid}, headers={"X-API-Key": api_key}, timeout=5),
                    requests.post(f"{url}/events", json={"id": "2"}, headers={"X-API-Key": api_key}, timeout=5),
                    requests.post(f"{url}/events", json={"id": "3"}, headers={"X-API-Key": api_key[:-2] + "xx"}, timeout=5),
                    requests.post(f"{url}/webhooks/hubspot", data=b"[", headers={"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": "1"}, timeout=5),
                ]
                body, headers = signed("not-the-secret", f"{url}/webhooks/hubspot", [contact_event(1, cid)])
                answers.append(requests.post(f"{url}/webhooks/hubspot", data=body, headers=headers, timeout=5))
                body, headers = signed(CLIENT_SECRET, f"{url}/webhooks/hubspot", [contact_event(2, cid)])
                answers.append(requests.post(f"{url}/webhooks/hubspot", data=body, headers=headers, timeout=5))
                assert [a.status_code for a in answers] == [202, 422, 401, 401, 401, 200]
                seen.extend(a.text for a in answers)
                seen.append(requests.get(f"{url}/metrics", timeout=5).text)
                seen.append(requests.get(f"{url}/health", timeout=5).text)
            for command in (["status"], ["explain", cid], ["keys", "list"], ["quarantine", "list"]):
                result = CliRunner().invoke(cli, command)
                seen.append(result.output + repr(result.exception))
            seen.append(_dump(engine))
            engine.dispose()
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
    seen.append(caplog.text)
    seen.extend(p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file())
    assert log_file.stat().st_size > 0 and any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was on
    secrets = [TOKEN, CLIENT_SECRET, REFRESH, api_key, api_key.split("_", 2)[2]]
    for text in seen:
        for secret in secrets:
            assert secret not in text, f"a secret leaked: {text[:300]!r}"
