"""The bad-input corpus (tests/corpus/): every file gets a clear 4xx or a quarantine entry, never a 500 or a crash."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import pathlib
import threading
import time
import typing as t

import pytest
from fastapi.testclient import TestClient

from connector.adapters.base import CRMError
from connector.adapters.hubspot import HubSpotAdapter, load_mapping
from connector.adapters.hubspot.retry import RetryPolicy
from connector.adapters.hubspot.settings import HubSpotSettings
from connector.server.app import create_app
from connector.server.state import build_state
from connector.sync.apikeys import create_key
from connector.sync.db import open_database
from tests.realtime.test_server_webhooks import SECRET, URI

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "corpus"
DATA = pathlib.Path(__file__).resolve().parents[1] / "sync" / "data"


def _files(kind: str) -> list[pathlib.Path]:
    return sorted((CORPUS / kind).glob("*.json"))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[TestClient]:
    """One server for the whole corpus (parsing does not depend on the database; SQLite)."""
    import shutil

    from connector.sync.config import crm_entry, load_config, write_config

    folder = tmp_path_factory.mktemp("corpus")
    shutil.copy(DATA / "model.yaml", folder / "model.yaml")
    shutil.copy(DATA / "hubspot.yaml", folder / "hubspot.yaml")
    entry = crm_entry("hubspot", "hubspot", "hubspot.yaml", ["model.yaml"], credentials={"access_token": "RT_TOKEN", "client_secret": "RT_SECRET"})
    write_config(folder / "connector.yaml", [entry], database_url=f"sqlite:///{folder / 'state.db'}")
    config = load_config(folder / "connector.yaml")
    engine = open_database(config.effective_database_url())
    state = build_state(config, engine, run_workers=False, environ={"RT_SECRET": SECRET, "RT_TOKEN": "unused"})
    with TestClient(create_app(state), raise_server_exceptions=False) as c:
        c.engine = engine  # type: ignore[attr-defined]
        c.key = create_key(engine, "hubspot", "corpus", 100_000, dt.datetime.now(dt.UTC))[1]  # type: ignore[attr-defined]
        yield c
    engine.dispose()


def _sign(raw: bytes) -> dict[str, str]:
    stamp = str(int(time.time() * 1000))
    mac = hmac.new(SECRET.encode(), b"POST" + URI.encode() + raw + stamp.encode(), hashlib.sha256).digest()
    return {"X-HubSpot-Signature-v3": base64.b64encode(mac).decode(), "X-HubSpot-Request-Timestamp": stamp, "Content-Type": "application/json"}


def test_corpus_is_there() -> None:
    assert len(_files("webhooks")) >= 25 and len(_files("events")) >= 30 and len(_files("hubspot_contacts")) >= 12


@pytest.mark.parametrize("path", _files("webhooks"), ids=lambda p: p.stem)
def test_bad_webhook_bodies(client: TestClient, path: pathlib.Path) -> None:
    raw = path.read_bytes()
    answer = client.post("/webhooks/hubspot", content=raw, headers=_sign(raw))
    assert answer.status_code < 500, answer.text
    body = answer.json()
    if answer.status_code == 200:
        # the body was readable; each event is stored or quarantined, none vanishes
        events = json.loads(raw)
        contact_events = [e for e in events if not (isinstance(e, dict) and isinstance(e.get("subscriptionType"), str) and not e["subscriptionType"].startswith("contact."))]
        assert body["accepted"] + body["duplicates"] + body["rejected"] == len(contact_events)
    else:
        assert 400 <= answer.status_code < 500 and body["error"] and body["message"]


@pytest.mark.parametrize("path", _files("events"), ids=lambda p: p.stem)
def test_bad_event_bodies(client: TestClient, path: pathlib.Path) -> None:
    answer = client.post("/events", content=path.read_bytes(), headers={"X-API-Key": client.key, "Content-Type": "application/json"})  # type: ignore[attr-defined]
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"] and answer.json()["message"]


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: t.Any) -> None:
        pass


@pytest.mark.parametrize("path", _files("hubspot_contacts"), ids=lambda p: p.stem)
def test_bad_crm_answers_are_rejects_or_a_crm_error(path: pathlib.Path) -> None:
    _Answer.body = path.read_bytes()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = HubSpotSettings(access_token="t0ken", base_url=f"http://127.0.0.1:{server.server_port}")  # type: ignore[arg-type]
    adapter = HubSpotAdapter(settings, load_mapping(DATA / "hubspot.yaml"), policy=RetryPolicy(attempts=1))
    try:
        page = next(adapter.read_contacts(["101"]))
    except CRMError as exc:
        assert "unreadable" in str(exc) or "HubSpot" in str(exc)
        return
    finally:
        adapter.close()
        server.shutdown()
    for reject in page.rejects:
        assert reject.reason and reject.record_id
    for contact in page.records:
        assert contact.id == "101"
