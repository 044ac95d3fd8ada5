"""Property definitions: creation rules, option validation, read-only HubSpot properties."""

from __future__ import annotations

import requests

from connector.sandbox.hubspot import HubSpotSandbox

BASE = "/crm/v3/properties/contacts"


def _create(http: requests.Session, sb: HubSpotSandbox, **fields: object) -> requests.Response:
    body = {"name": "lead_score", "label": "Lead score", "type": "number", "fieldType": "number", "groupName": "contactinformation", **fields}
    return http.post(sb.base_url + BASE, json=body)


def test_create_conflict_and_bad_definitions(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    assert _create(http, sandbox).status_code == 201
    again = _create(http, sandbox)
    assert again.status_code == 409 and again.json()["category"] == "OBJECT_ALREADY_EXISTS"
    for fields, fragment in (({"name": "x1", "groupName": "nope"}, "nope"), ({"name": "x2", "type": "money"}, "money"),
                             ({"name": "x3", "type": "enumeration", "fieldType": "select"}, "options"), ({"name": "Bad Name"}, "lower case"),
                             ({"name": "x4", "label": 5}, "strings")):
        answer = _create(http, sandbox, **fields)
        assert answer.status_code == 400 and fragment in answer.json()["message"], fields


def test_new_options_become_writable_and_hubspot_properties_are_protected(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    _create(http, sandbox, name="lead_grade", type="enumeration", fieldType="select", options=[{"label": "A", "value": "A"}])
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    write = {"inputs": [{"id": ids[0], "properties": {"lead_grade": "B"}}]}
    assert http.post(sandbox.base_url + "/crm/v3/objects/contacts/batch/update", json=write).status_code == 400
    patched = http.patch(sandbox.base_url + BASE + "/lead_grade", json={"options": [{"label": "A", "value": "A"}, {"label": "B", "value": "B"}]})
    assert patched.status_code == 200
    assert http.post(sandbox.base_url + "/crm/v3/objects/contacts/batch/update", json=write).status_code == 200
    assert http.patch(sandbox.base_url + BASE + "/lifecyclestage", json={"options": []}).status_code == 400
    assert http.patch(sandbox.base_url + BASE + "/lead_grade", json={"label": 1}).status_code == 400
    assert http.get(sandbox.base_url + BASE + "/nope").status_code == 404
    read_only = {p["name"] for p in http.get(sandbox.base_url + BASE).json()["results"] if p["modificationMetadata"]["readOnlyValue"]}
    assert {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"} <= read_only
