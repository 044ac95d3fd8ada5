"""``POST /events``: API keys (hashed, revocable, rate-limited), strict payloads, activity that counts in scores."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from connector.server.app import create_app
from connector.server.state import build_state
from connector.sync.apikeys import create_key, list_keys, revoke_key
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.tables import activities, api_keys, identities
from tests.fakecrm import T0


@pytest.fixture
def served(sync_config, fake_crm, factory, clock) -> t.Iterator[tuple[TestClient, str, t.Any]]:
    fake_crm.add_contact("c1", T0, email="ann@example.com", job_title="Marketing Manager")  # 25 points: 40 more make an mql
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    _, key = create_key(engine, "main", "website", 600, clock.now)
    state = build_state(sync_config, engine, factory=factory, clock=clock)
    with TestClient(create_app(state, start_workers=False)) as client:
        yield client, key, state
    engine.dispose()


def _at(clock, minutes: float = 0) -> str:
    return (clock.now - dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def test_activity_counts_in_the_score_within_one_worker_run(served, fake_crm, clock) -> None:
    client, key, state = served
    assert fake_crm.fields["c1"]["test_model_stage"] == "subscriber"
    pushes = len(fake_crm.pushes)
    answer = client.post("/events", json={"id": "e-1", "type": "demo_request", "occurred_at": _at(clock, 1), "contact_id": "c1"}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0}
    again = client.post("/events", json={"events": [{"id": "e-1", "type": "demo_request", "occurred_at": _at(clock, 1), "contact_id": "c1"}]}, headers={"X-API-Key": key})
    assert again.json() == {"accepted": 0, "duplicates": 1}
    batch = state.workers_by_crm["main"].run_once()
    assert batch is not None and batch.summary.status == "ok", batch.summary.error
    assert fake_crm.written_contacts(pushes) == {"c1"}
    assert fake_crm.fields["c1"]["test_model_stage"] == "mql"


def test_anonymous_history_counts_once_identified(served, fake_crm, clock) -> None:
    client, key, state = served
    auth = {"Authorization": f"Bearer {key}"}
    visits = [{"id": f"v{i}", "type": "demo_request", "occurred_at": _at(clock, 10 + i), "anonymous_id": "cookie-77"} for i in range(2)]
    assert client.post("/events", json={"events": visits}, headers=auth).status_code == 202
    state.workers_by_crm["main"].run_once()
    assert fake_crm.fields["c1"]["test_model_stage"] == "subscriber"  # nobody known yet
    answer = client.post("/events", json={"id": "i1", "type": "identify", "occurred_at": _at(clock), "anonymous_id": "cookie-77", "email": "Ann@Example.com"}, headers=auth)
    assert answer.status_code == 202
    state.workers_by_crm["main"].run_once()
    with state.engine.connect() as conn:
        assert conn.execute(sa.select(identities.c.contact_id).where(identities.c.anonymous_id == "cookie-77")).scalar_one() == "c1"
    assert fake_crm.fields["c1"]["test_model_stage"] == "mql"


def test_keys_are_hashed_rate_limited_and_revocable(served, clock) -> None:
    client, key, state = served
    with state.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.select(api_keys))]
    assert key not in repr(stored) and key.split("_", 2)[2] not in repr(stored)
    event = {"id": "x", "type": "page_view", "occurred_at": _at(clock), "contact_id": "c1"}
    assert client.post("/events", json=event, headers={"Authorization": "Bearer ck_aaaaaaaaaaaa_" + "b" * 43}).json()["error"] == "unknown_key"
    assert client.post("/events", json=event).json()["error"] == "missing_key"
    assert client.post("/events", json=event, headers={"X-API-Key": key[:-1] + ("A" if key[-1] != "A" else "B")}).status_code == 401
    _, slow = create_key(state.engine, "main", "slow", 2, clock.now)
    codes = [client.post("/events", json={**event, "id": f"r{i}"}, headers={"X-API-Key": slow}).status_code for i in range(4)]
    assert codes == [202, 202, 429, 429]
    assert {k.name for k in list_keys(state.engine)} == {"website", "slow"}
    assert revoke_key(state.engine, key.split("_")[1], clock.now)
    assert client.post("/events", json=event, headers={"X-API-Key": key}).status_code == 401
    metrics = client.get("/metrics").text
    assert 'connector_requests_rejected_total{endpoint="events",reason="unknown_key"} 3.0' in metrics
    assert 'connector_requests_rejected_total{endpoint="events",reason="rate_limited"} 2.0' in metrics


@pytest.mark.parametrize(
    ("body", "status", "reason", "names"),
    [
        (b"{", 400, "malformed_json", ""),
        (b"[1, 2]", 422, "wrong_shape", ""),
        (b'{"events": {}}', 422, "wrong_shape", ""),
        (b'{"events": []}', 422, "wrong_shape", ""),
        (b'{"id": "a", "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z"}', 422, "invalid_event", "someone"),
        (b'{"id": 5, "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": "c1"}', 422, "invalid_event", "id"),
        (b'{"id": "a", "type": "Page View", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": "c1"}', 422, "invalid_event", "type"),
        (b'{"id": "a", "type": "page_view", "occurred_at": "2026-01-01", "contact_id": "c1"}', 422, "invalid_event", "occurred_at"),
        (b'{"id": "a", "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": "c1", "extra": 1}', 422, "invalid_event", "extra"),
        (b'{"events": [{"id": "a", "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": "c1", "attributes": {"k": [1]}}]}', 422, "invalid_event", "events[0].attributes"),
        (b'{"id": "a", "type": "identify", "occurred_at": "2026-01-01T00:00:00Z", "contact_id": "c1"}', 422, "invalid_event", "identify"),
    ],
)
def test_bad_payloads_are_refused_with_the_field_named(served, body: bytes, status: int, reason: str, names: str) -> None:
    client, key, state = served
    answer = client.post("/events", content=body, headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["error"]) == (status, reason)
    assert names in answer.json()["message"]
    with state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(activities).where(activities.c.id.like("api:%"))).scalar_one() == 0


def test_limits_on_batch_and_body(served, clock) -> None:
    client, key, _ = served
    many = {"events": [{"id": str(i), "type": "page_view", "occurred_at": _at(clock), "contact_id": "c1"} for i in range(101)]}
    assert client.post("/events", json=many, headers={"X-API-Key": key}).json()["error"] == "too_many_events"
    huge = {"id": "h", "type": "page_view", "occurred_at": _at(clock), "contact_id": "c1", "attributes": {"k": "x" * 2_000_000}}
    assert client.post("/events", json=huge, headers={"X-API-Key": key}).status_code == 413
