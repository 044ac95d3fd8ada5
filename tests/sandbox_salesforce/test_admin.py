"""Admin endpoints under /_sandbox/: records, reset, convert, custom fields, request log, clock, state."""

from __future__ import annotations

import typing as t

import requests

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import api


def admin(sandbox: SalesforceSandbox, method: str, path: str, **kwargs: t.Any) -> requests.Response:
    return requests.request(method, f"{sandbox.instance_url}/_sandbox/{path}", verify=sandbox.ca_path, **kwargs)


def test_seed_records_with_read_only_fields_and_change_them_as_a_user(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    ids = admin(sandbox, "POST", "records/Lead", json={"records": [
        {"LastName": "Ng", "Company": "Acme", "CreatedDate": "2024-06-01T10:00:00Z", "Email": "ng@acme.example"},
        {"LastName": "Oh", "Company": "Acme", "IsConverted": True}]}).json()["ids"]
    row = sf.query(f"SELECT CreatedDate, SystemModstamp FROM Lead WHERE Id = '{ids[0]}'")["records"][0]
    assert row["CreatedDate"] == row["SystemModstamp"] == "2024-06-01T10:00:00.000+0000"
    changed = admin(sandbox, "PATCH", f"records/Lead/{ids[0]}", json={"fields": {"Title": "CMO"}}).json()
    assert changed["SystemModstamp"] > "2024-06-01"
    assert admin(sandbox, "GET", f"records/Lead/{ids[0]}").json()["Title"] == "CMO"
    bad = admin(sandbox, "POST", "records/Lead", json={"records": [{"Company": "no last name"}]})
    assert bad.status_code == 400 and "REQUIRED_FIELD_MISSING" in bad.json()[0]["message"]
    assert admin(sandbox, "DELETE", f"records/Lead/{ids[1]}").status_code == 204


def test_bulk_leads_sharing_one_second(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    made = admin(sandbox, "POST", "leads/bulk", json={"count": 2500, "modstampMs": 1_736_942_400_000}).json()
    assert made["count"] == 2500
    same = sf.query("SELECT COUNT() FROM Lead WHERE SystemModstamp = 2025-01-15T12:00:00Z")
    assert same["totalSize"] == 2500


def test_custom_field_granted_and_convert(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    assert admin(sandbox, "POST", "custom-fields", json={"fullName": "Lead.Score__c", "metadata": {"type": "Number", "label": "Score", "precision": 5, "scale": 0},
                                                         "grant": True}).status_code == 201
    lead = sf.Lead.create({"LastName": "Ng", "Company": "Acme", "Score__c": 7})["id"]
    ids = admin(sandbox, "POST", "convert", json={"leadId": lead}).json()
    assert ids["opportunityId"] is None and ids["contactId"].startswith("003")
    again = admin(sandbox, "POST", "convert", json={"leadId": lead})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_request_log_clock_state_and_reset(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    sf.query("SELECT Id FROM Lead")
    log = admin(sandbox, "GET", "requests").json()["requests"]
    assert [(r["method"], r["route"], r["status"]) for r in log] == [("GET", "GET /services/data/v{version}/query", 200)]
    assert admin(sandbox, "DELETE", "requests").status_code == 204 and sandbox.requests == []
    state = admin(sandbox, "GET", "state").json()
    assert state["objects"]["User"] == 8 and state["dailyUsage"] == 1
    before = admin(sandbox, "GET", "clock").json()["nowMs"]
    assert admin(sandbox, "POST", "clock/advance", json={"days": 1}).json()["nowMs"] >= before + 86_400_000
    assert admin(sandbox, "POST", "clock/advance", json={"days": -1}).status_code == 400
    assert admin(sandbox, "GET", "limits").json()["dailyUsage"] == 0  # the 24-hour window moved past that request
    counts = admin(sandbox, "POST", "reset", json={"seed": "demo", "leads": 60, "contacts": 30, "randomSeed": 1}).json()["objects"]
    assert counts["Lead"] > 50 and counts["Task"] > 0
    assert admin(sandbox, "POST", "reset", json={"seed": "huge"}).status_code == 400


def test_expire_one_session(sandbox: SalesforceSandbox, http: requests.Session) -> None:
    token = http.headers["Authorization"].split()[1]
    other = sandbox.new_session()
    assert admin(sandbox, "POST", "sessions/expire", json={"token": token}).json() == {"expired": 1}
    assert http.get(api(sandbox, "limits")).status_code == 401
    assert requests.get(api(sandbox, "limits"), headers={"Authorization": f"Bearer {other}"}, verify=sandbox.ca_path).status_code == 200


def test_clock_started_at_an_instant_runs_from_there() -> None:
    from connector.sandbox.clock import SandboxClock

    ticks = iter([1000.0, 1000.0, 1002.5])
    clock = SandboxClock(start_ms=1_736_942_400_000, wall=lambda: next(ticks))
    assert clock.now_ms() == 1_736_942_400_000 and clock.now_ms() == 1_736_942_402_500
