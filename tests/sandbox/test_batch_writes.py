"""Batch read/update limits, 207 multi-status, and HubSpot's validation of written values."""

from __future__ import annotations

import json
import typing as t

import pytest
import requests
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectInput
from hubspot.crm.objects.exceptions import ApiException

from connector.sandbox.hubspot import HubSpotSandbox

UPDATE = "/crm/v3/objects/contacts/batch/update"
READ = "/crm/v3/objects/contacts/batch/read"


def test_more_than_100_inputs_is_400(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": f"{i}@x.io"} for i in range(101)])
    for path, inputs in ((UPDATE, [{"id": i, "properties": {"jobtitle": "x"}} for i in ids]), (READ, [{"id": i} for i in ids])):
        answer = http.post(sandbox.base_url + path, json={"inputs": inputs, "properties": []})
        assert answer.status_code == 400, path
        assert answer.json()["category"] == "VALIDATION_ERROR" and "100" in answer.json()["message"]
    assert sandbox.store.get("contacts", ids[0]).properties.get("jobtitle") is None


def test_update_stamps_lastmodifieddate_in_ms_and_missing_ids_give_207(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    sandbox.clock.set_ms(1_700_000_000_000)
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    sandbox.clock.advance(ms=1234)
    answer = http.post(sandbox.base_url + UPDATE, json={"inputs": [{"id": ids[0], "properties": {"jobtitle": "CEO"}},
                                                                   {"id": "777", "properties": {"jobtitle": "x"}}]})
    assert answer.status_code == 207
    body = answer.json()
    assert body["results"][0]["properties"]["lastmodifieddate"] == "2023-11-14T22:13:21.234Z"
    assert body["results"][0]["updatedAt"] == "2023-11-14T22:13:21.234Z"
    assert body["errors"][0]["context"] == {"ids": ["777"]} and body["errors"][0]["status"] == "error"
    assert sandbox.store.get("contacts", ids[0]).properties["jobtitle"] == "CEO"


def test_unknown_or_read_only_or_invalid_values_reject_the_whole_batch(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}, {"email": "b@x.io"}])
    answer = http.post(sandbox.base_url + UPDATE, json={"inputs": [
        {"id": ids[0], "properties": {"jobtitle": "fine"}},
        {"id": ids[1], "properties": {"no_such_prop": "1", "lastmodifieddate": "0", "annualrevenue": "lots", "lifecyclestage": "alien"}},
    ]})
    assert answer.status_code == 400
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR" and body["message"].startswith("Property values were not valid: ")
    problems = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert {p["name"]: p["error"] for p in problems} == {"no_such_prop": "PROPERTY_DOESNT_EXIST", "lastmodifieddate": "READ_ONLY_VALUE",
                                                         "annualrevenue": "INVALID_DECIMAL", "lifecyclestage": "INVALID_OPTION"}
    assert sandbox.store.get("contacts", ids[0]).properties.get("jobtitle") is None  # nothing written


def test_duplicate_ids_and_malformed_bodies(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    dup = http.post(sandbox.base_url + UPDATE, json={"inputs": [{"id": ids[0], "properties": {}}] * 2})
    assert dup.status_code == 400 and "Duplicate" in dup.json()["message"]
    garbage = http.post(sandbox.base_url + UPDATE, data=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and "JSON" in garbage.json()["message"]
    no_id = http.post(sandbox.base_url + UPDATE, json={"inputs": [{"properties": {}}]})
    assert no_id.status_code == 400 and "inputs[0].id" in no_id.json()["message"]


def test_empty_string_clears_and_batch_read_returns_requested_properties(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io", "jobtitle": "CTO"}])
    http.post(sandbox.base_url + UPDATE, json={"inputs": [{"id": ids[0], "properties": {"jobtitle": ""}}]})
    read = http.post(sandbox.base_url + READ, json={"inputs": [{"id": ids[0]}], "properties": ["jobtitle", "email", "unknown_x"],
                                                    "propertiesWithHistory": []})
    assert read.status_code == 200
    props = read.json()["results"][0]["properties"]
    assert props["jobtitle"] is None and props["email"] == "a@x.io" and "unknown_x" not in props


def test_create_contact_conflict_and_get_404(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    sandbox.store.add_contacts([{"email": "a@x.io"}])
    conflict = http.post(sandbox.base_url + "/crm/v3/objects/contacts", json={"properties": {"email": "A@x.io"}})
    assert conflict.status_code == 409 and conflict.json()["category"] == "CONFLICT"
    missing = http.get(sandbox.base_url + "/crm/v3/objects/contacts/999999")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    bad_assoc = http.post(sandbox.base_url + "/crm/v3/objects/tasks", json={"properties": {"hs_task_subject": "x"}, "associations": [
        {"to": {"id": "1"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]}]})
    assert bad_assoc.status_code == 400 and "204" in bad_assoc.json()["message"]


def test_non_scalar_values_are_rejected(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    answer = http.post(sandbox.base_url + UPDATE, json={"inputs": [{"id": ids[0], "properties": {"jobtitle": {"nested": 1}}}]})
    assert answer.status_code == 400 and "INVALID_PROPERTY_VALUE" in answer.json()["message"]


def test_a_property_that_does_not_exist_is_refused_as_hubspot_words_it(sandbox: HubSpotSandbox, sdk: t.Any) -> None:
    # What a trigger's set_property meets on a portal where its property was never created.
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    attempts = {
        "batch update": lambda: sdk.crm.objects.batch_api.update("contacts", BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": ids[0], "properties": {"hot_lead": "true"}}])),
        "single update": lambda: sdk.crm.objects.basic_api.update("contacts", ids[0], SimplePublicObjectInput(properties={"hot_lead": "true"})),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ApiException) as refused:
            attempt()
        assert refused.value.status == 400, what
        body = json.loads(refused.value.body)
        assert set(body) == {"status", "message", "correlationId", "category"} and body["category"] == "VALIDATION_ERROR", what
        assert json.loads(body["message"].removeprefix("Property values were not valid: ")) == [{
            "isValid": False, "message": 'Property "hot_lead" does not exist', "error": "PROPERTY_DOESNT_EXIST", "name": "hot_lead",
            "localizedErrorMessage": 'Property "hot_lead" does not exist', "portalId": sandbox.store.portal_id}], what
    assert "hot_lead" not in sandbox.store.get("contacts", ids[0]).properties
