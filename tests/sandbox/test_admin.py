"""Admin endpoints under /_sandbox/ and the request log, for tests running in another process."""

from __future__ import annotations

import requests

from connector.sandbox.hubspot import HubSpotSandbox


def test_request_log_records_api_calls_only(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    http.post(sandbox.base_url + "/crm/v3/objects/contacts/search", json={"limit": 1})
    http.get(sandbox.base_url + "/crm/v3/owners", params={"limit": 2})
    requests.get(sandbox.base_url + "/_sandbox/state")
    log = requests.get(sandbox.base_url + "/_sandbox/requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in log] == [("POST", "/crm/v3/objects/contacts/search", 200), ("GET", "/crm/v3/owners", 200)]
    assert log[0]["requestBytes"] > 0 and log[1]["responseBytes"] > 0 and log[1]["query"] == "limit=2" and log[0]["durationMs"] >= 0
    assert len(sandbox.requests) == 2
    assert requests.delete(sandbox.base_url + "/_sandbox/requests").status_code == 204
    assert sandbox.requests == []


def test_add_and_patch_contacts_events_engagements_and_clock(sandbox: HubSpotSandbox) -> None:
    base = sandbox.base_url + "/_sandbox"
    ids = requests.post(base + "/contacts", json={"contacts": [{"email": "a@x.io", "hs_email_optout": "true"}], "modifiedAtMs": 1_700_000_000_000}).json()["ids"]
    record = requests.get(f"{base}/objects/contacts/{ids[0]}").json()
    assert record["properties"]["lastmodifieddate"] == "2023-11-14T22:13:20.000Z" and record["properties"]["hs_email_optout"] == "true"
    before = requests.get(base + "/clock").json()["nowMs"]
    after = requests.post(base + "/clock/advance", json={"days": 1}).json()["nowMs"]
    assert after - before >= 86_400_000
    patched = requests.patch(f"{base}/contacts/{ids[0]}", json={"properties": {"jobtitle": "CEO"}}).json()
    assert patched["properties"]["jobtitle"] == "CEO" and patched["updatedAt"] > record["updatedAt"]
    bulk = requests.post(base + "/contacts/bulk", json={"count": 300, "modifiedAtMs": 1_700_000_000_500}).json()
    assert bulk["count"] == 300
    assert requests.post(base + "/events", json={"events": [{"objectId": ids[0], "eventType": "e_visited_page", "occurredAt": after}]}).status_code == 201
    assert requests.post(base + "/email-events", json={"events": [{"recipient": "a@x.io", "type": "OPEN", "created": after}]}).status_code == 201
    made = requests.post(base + "/engagements/meetings", json={"properties": {"hs_timestamp": after}, "contactIds": ids}).json()
    assert sandbox.store.associated("meetings", made["id"], "contacts") == ids
    state = requests.get(base + "/state").json()
    assert state["objects"]["contacts"] == 301 and state["webEvents"] == 1 and state["emailEvents"] == 1
    bad = requests.post(base + "/email-events", json={"events": [{"recipient": "a@x.io", "type": "TELEPATHY", "created": 1}]})
    assert bad.status_code == 400 and "TELEPATHY" in bad.json()["message"]
