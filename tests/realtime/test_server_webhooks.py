"""``POST /webhooks/hubspot``: v3 signatures checked, events stored once before 2xx, refusals counted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
import shutil
import time
import typing as t

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from connector.server.app import create_app
from connector.server.state import build_state
from connector.sync.config import ConnectorConfig, crm_entry, load_config, write_config
from connector.sync.db import open_database
from connector.sync.tables import quarantine, realtime_events
from tests.realtime.signing import contact_event, signed

DATA = pathlib.Path(__file__).resolve().parents[1] / "sync" / "data"
SECRET = "test-client-secret-4f1a"
URI = "http://testserver/webhooks/hubspot"


@pytest.fixture
def config(tmp_path: pathlib.Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> ConnectorConfig:
    shutil.copy(DATA / "model.yaml", tmp_path / "model.yaml")
    shutil.copy(DATA / "hubspot.yaml", tmp_path / "hubspot.yaml")
    entry = crm_entry("hubspot", "hubspot", "hubspot.yaml", ["model.yaml"], credentials={"access_token": "RT_TOKEN", "client_secret": "RT_SECRET"})
    write_config(tmp_path / "connector.yaml", [entry], database_url=database_url)
    monkeypatch.setenv("RT_SECRET", SECRET)
    monkeypatch.setenv("RT_TOKEN", "unused")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return load_config(tmp_path / "connector.yaml")


@pytest.fixture
def client(config: ConnectorConfig) -> t.Iterator[TestClient]:
    engine = open_database(config.effective_database_url())
    app = create_app(build_state(config, engine, run_workers=False))
    with TestClient(app) as c:
        c.engine = engine  # type: ignore[attr-defined]
        yield c
    engine.dispose()


def _rows(client: TestClient) -> list[t.Any]:
    with client.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(conn.execute(sa.select(realtime_events.c.event_key, realtime_events.c.kind, realtime_events.c.contact_id, realtime_events.c.detail).order_by(realtime_events.c.id)))


def test_signed_batch_is_stored_once(client: TestClient) -> None:
    events = [
        contact_event(1, 101, "contact.creation"),
        contact_event(2, 101, propertyName="jobtitle", propertyValue="CEO"),
        contact_event(3, 200, "contact.merge", primaryObjectId=200, mergedObjectIds=[201], newObjectId=200),
        contact_event(4, 102, "contact.privacyDeletion"),
        contact_event(5, 103, "contact.deletion"),
        {**contact_event(6, 9, "deal.creation")},
    ]
    body, headers = signed(SECRET, URI, events)
    answer = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 5, "duplicates": 0, "rejected": 0}
    rows = _rows(client)
    assert [(k, kind, cid) for k, kind, cid, _ in rows] == [
        ("1", "created", "101"), ("2", "changed", "101"), ("3", "merged", "200"), ("4", "privacy_deleted", "102"), ("5", "deleted", "103")
    ]
    assert rows[2][3] == {"merged_ids": ["201"]}
    # HubSpot retries the same batch (a timeout on its side): stored once.
    body, headers = signed(SECRET, URI, events)
    again = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert again.json() == {"accepted": 0, "duplicates": 5, "rejected": 0}
    assert len(_rows(client)) == 5
    metrics = client.get("/metrics").text
    assert 'connector_events_accepted_total{crm="hubspot",source="webhook"} 5.0' in metrics
    assert 'connector_events_duplicate_total{crm="hubspot",source="webhook"} 5.0' in metrics
    assert 'connector_event_queue_depth{crm="hubspot"} 5.0' in metrics


@pytest.mark.parametrize(
    ("case", "reason", "status"),
    [
        ("forged", "bad_signature", 401),
        ("wrong_secret", "bad_signature", 401),
        ("stale", "stale", 401),
        ("future", "stale", 401),
        ("unsigned", "unsigned", 401),
        ("other_uri", "bad_signature", 401),
        ("tampered_body", "bad_signature", 401),
        ("bad_timestamp", "bad_timestamp", 401),
    ],
)
def test_forged_or_replayed_requests_are_refused_and_counted(client: TestClient, case: str, reason: str, status: int) -> None:
    events = [contact_event(1, 101)]
    now = int(time.time() * 1000)
    secret, uri, at = SECRET, URI, now
    if case == "wrong_secret":
        secret = "not-the-secret"
    if case == "stale":
        at = now - 6 * 60_000
    if case == "future":
        at = now + 6 * 60_000
    if case == "other_uri":
        uri = "http://testserver/webhooks/other"
    body, headers = signed(secret, uri, events, at_ms=at)
    if case == "forged":
        headers["X-HubSpot-Signature-v3"] = "A" * 44
    if case == "unsigned":
        del headers["X-HubSpot-Signature-v3"]
    if case == "tampered_body":
        body = body.replace(b"101", b"102")
    if case == "bad_timestamp":
        headers["X-HubSpot-Request-Timestamp"] = "yesterday"
    answer = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"] == reason
    assert _rows(client) == []
    assert f'connector_requests_rejected_total{{endpoint="webhooks",reason="{reason}"}} 1.0' in client.get("/metrics").text


def test_public_base_url_is_the_signed_uri(config: ConnectorConfig) -> None:
    cfg = config.model_copy(update={"serve": config.serve.model_copy(update={"public_base_url": "https://hooks.example.com/connector"})})
    engine = open_database(cfg.effective_database_url())
    with TestClient(create_app(build_state(cfg, engine, run_workers=False))) as client:
        body, headers = signed(SECRET, "https://hooks.example.com/connector/webhooks/hubspot", [contact_event(1, 101)])
        assert client.post("/webhooks/hubspot", content=body, headers=headers).status_code == 200
        body, headers = signed(SECRET, URI, [contact_event(2, 101)])
        assert client.post("/webhooks/hubspot", content=body, headers=headers).status_code == 401
    engine.dispose()


def test_bad_bodies_get_clear_4xx(client: TestClient) -> None:
    cases = [
        (b"{not json", 400, "malformed_json"),
        (b'{"eventId": 1}', 400, "wrong_shape"),
        (json.dumps([contact_event(i, 1) for i in range(101)]).encode(), 413, "too_many_events"),
        (b"[" + b" " * 1_100_000 + b"]", 413, "body_too_large"),
    ]
    for raw, status, reason in cases:
        stamp = str(int(time.time() * 1000))
        mac = base64.b64encode(hmac.new(SECRET.encode(), b"POST" + URI.encode() + raw + stamp.encode(), hashlib.sha256).digest()).decode()
        answer = client.post("/webhooks/hubspot", content=raw, headers={"X-HubSpot-Signature-v3": mac, "X-HubSpot-Request-Timestamp": stamp})
        assert (answer.status_code, answer.json()["error"]) == (status, reason)


def test_unreadable_events_are_quarantined_the_rest_stored(client: TestClient) -> None:
    events = [contact_event(1, 101), {"eventId": 2, "subscriptionType": "contact.creation", "objectId": None, "occurredAt": 1}, "junk", contact_event(3, "x" * 5000)]
    body, headers = signed(SECRET, URI, events)
    answer = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert answer.json() == {"accepted": 1, "duplicates": 0, "rejected": 3}
    with client.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(sa.select(sa.func.count()).select_from(quarantine).where(quarantine.c.stream == "webhooks")).scalar_one() == 3


def test_unknown_crm_and_missing_secret(config: ConnectorConfig, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = signed(SECRET, "http://testserver/webhooks/nope", [contact_event(1, 1)])
    assert client.post("/webhooks/nope", content=body, headers=headers).status_code == 404
    monkeypatch.delenv("RT_SECRET")
    engine = open_database(config.effective_database_url())
    with TestClient(create_app(build_state(config, engine, run_workers=False, environ={"RT_TOKEN": "x"}))) as other:
        answer = other.post("/webhooks/hubspot", content=body, headers=headers)
        assert answer.status_code == 503
        assert "RT_SECRET" in answer.json()["message"]
    engine.dispose()


def test_health(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "queue": {"hubspot": 0}}
