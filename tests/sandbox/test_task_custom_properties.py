"""Tasks take custom properties and are searchable by them, as in HubSpot (what task idempotency relies on).

Wire level, no adapter: a property group and a text property created on the tasks object through the
properties API, a task created with that property, then CRM search on tasks with an ``EQ`` filter.
"""

from __future__ import annotations

import requests

from connector.sandbox.hubspot import HubSpotSandbox

KEY = "hubspot:b2b-saas:42:hot_lead:1#0"


def _setup_property(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    base = sandbox.base_url
    assert http.post(f"{base}/crm/v3/properties/tasks/groups", json={"name": "lead_scoring", "label": "Lead scoring"}).status_code == 201
    created = http.post(
        f"{base}/crm/v3/properties/tasks",
        json={"name": "connector_action_key", "label": "Connector action key", "type": "string", "fieldType": "text", "groupName": "lead_scoring"},
    )
    assert created.status_code == 201, created.text
    assert http.get(f"{base}/crm/v3/properties/tasks/connector_action_key").json()["type"] == "string"


def _create_task(sandbox: HubSpotSandbox, http: requests.Session, contact_id: str, **extra: str) -> requests.Response:
    owner = next(iter(sandbox.store.owners))
    props = {"hs_task_subject": "Call", "hs_timestamp": "1768478400000", "hubspot_owner_id": owner, **extra}
    body = {"properties": props, "associations": [{"to": {"id": contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}]}
    return http.post(f"{sandbox.base_url}/crm/v3/objects/tasks", json=body)


def _search(sandbox: HubSpotSandbox, http: requests.Session, value: str) -> dict:
    body = {"filterGroups": [{"filters": [{"propertyName": "connector_action_key", "operator": "EQ", "value": value}]}], "properties": ["connector_action_key"]}
    answer = http.post(f"{sandbox.base_url}/crm/v3/objects/tasks/search", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_custom_task_property_is_stored_and_found_by_search(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    _setup_property(sandbox, http)
    created = _create_task(sandbox, http, cid, connector_action_key=KEY)
    assert created.status_code == 201, created.text
    _create_task(sandbox, http, cid, connector_action_key=KEY + "-other")
    found = _search(sandbox, http, KEY)
    assert found["total"] == 1
    assert found["results"][0]["id"] == created.json()["id"]
    assert found["results"][0]["properties"]["connector_action_key"] == KEY
    assert _search(sandbox, http, "no-such-key")["total"] == 0


def test_an_unknown_task_property_is_refused(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    """Before ``connector setup`` created it, HubSpot rejects a task naming the property (400) and creates nothing."""
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    answer = _create_task(sandbox, http, cid, connector_action_key=KEY)
    assert answer.status_code == 400
    assert "connector_action_key" in answer.text
    assert not sandbox.store.objects("tasks").records
