"""Lists v3: DYNAMIC membership follows current properties; MANUAL memberships are idempotent."""

from __future__ import annotations

import typing as t

import requests

from connector.sandbox.hubspot import HubSpotSandbox


def _branch(*filters: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"filterBranchType": "OR", "filterBranchOperator": "OR", "filters": [], "filterBranches": [
        {"filterBranchType": "AND", "filterBranchOperator": "AND", "filterBranches": [], "filters": list(filters)}]}


def _prop(name: str, operation: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"filterType": "PROPERTY", "property": name, "operation": operation}


def _members(http: requests.Session, sb: HubSpotSandbox, list_id: str) -> list[str]:
    return [m["recordId"] for m in http.get(f"{sb.base_url}/crm/v3/lists/{list_id}/memberships").json()["results"]]


def test_dynamic_list_follows_written_scores(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": f"{i}@x.io", "annualrevenue": str(i * 10)} for i in range(4)])
    branch = _branch(_prop("annualrevenue", {"operationType": "NUMBER", "operator": "IS_GREATER_THAN_OR_EQUAL_TO", "value": 20}),
                     _prop("email", {"operationType": "STRING", "operator": "ENDS_WITH", "value": "@X.IO"}))
    created = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": "Band A", "objectTypeId": "0-1", "processingType": "DYNAMIC",
                                                                  "filterBranch": branch})
    assert created.status_code == 200 and created.json()["list"]["filterBranch"] == branch
    list_id = created.json()["list"]["listId"]
    assert _members(http, sandbox, list_id) == ids[2:]
    http.post(sandbox.base_url + "/crm/v3/objects/contacts/batch/update", json={"inputs": [{"id": ids[0], "properties": {"annualrevenue": "99"}}]})
    assert _members(http, sandbox, list_id) == [ids[0], *ids[2:]]
    assert http.put(f"{sandbox.base_url}/crm/v3/lists/{list_id}/memberships/add", json=[ids[1]]).status_code == 400


def test_enumeration_bool_known_and_no_value_options(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io", "lifecyclestage": "lead"}, {"email": "b@x.io", "lifecyclestage": "customer"}, {"email": "c@x.io"}])
    cases = [
        (_prop("lifecyclestage", {"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": ["LEAD"]}), [ids[0]]),
        (_prop("lifecyclestage", {"operationType": "ENUMERATION", "operator": "IS_NONE_OF", "values": ["lead"]}), [ids[1]]),
        (_prop("lifecyclestage", {"operationType": "ENUMERATION", "operator": "IS_NONE_OF", "values": ["lead"], "includeObjectsWithNoValueSet": True}), ids[1:]),
        (_prop("lifecyclestage", {"operationType": "ALL_PROPERTY", "operator": "IS_UNKNOWN"}), [ids[2]]),
    ]
    for n, (flt, expected) in enumerate(cases):
        made = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": f"L{n}", "objectTypeId": "0-1", "processingType": "DYNAMIC",
                                                                   "filterBranch": _branch(flt)}).json()
        assert _members(http, sandbox, made["list"]["listId"]) == expected, flt


def test_manual_list_memberships_and_errors(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}, {"email": "b@x.io"}])
    made = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": "Manual", "objectTypeId": "0-1", "processingType": "MANUAL"}).json()
    list_id = made["list"]["listId"]
    first = http.put(f"{sandbox.base_url}/crm/v3/lists/{list_id}/memberships/add", json=ids).json()
    second = http.put(f"{sandbox.base_url}/crm/v3/lists/{list_id}/memberships/add", json=ids).json()
    assert first["recordsIdsAdded"] == ids and second["recordsIdsAdded"] == []
    assert http.put(f"{sandbox.base_url}/crm/v3/lists/{list_id}/memberships/remove", json=[ids[0], ids[0]]).json()["recordIdsRemoved"] == [ids[0]]
    assert _members(http, sandbox, list_id) == [ids[1]]
    dup = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": "manual", "objectTypeId": "0-1", "processingType": "MANUAL"})
    assert dup.status_code == 409
    by_name = http.get(f"{sandbox.base_url}/crm/v3/lists/object-type-id/0-1/name/Manual")
    assert by_name.json()["list"]["listId"] == list_id and "filterBranch" not in by_name.json()["list"]
    assert http.get(f"{sandbox.base_url}/crm/v3/lists/object-type-id/0-1/name/Nope").status_code == 404
    assert http.delete(f"{sandbox.base_url}/crm/v3/lists/{list_id}").status_code == 204
    assert http.get(f"{sandbox.base_url}/crm/v3/lists/{list_id}").status_code == 404


def test_unsupported_filters_are_rejected_with_the_path(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    branch = _branch(_prop("annualrevenue", {"operationType": "NUMBER", "operator": "IS_ANY_OF", "value": 1}))
    answer = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": "x", "objectTypeId": "0-1", "processingType": "DYNAMIC", "filterBranch": branch})
    assert answer.status_code == 400
    assert "filterBranch.filterBranches[0].filters[0].operation.operator" in answer.json()["message"]
    no_branch = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": "y", "objectTypeId": "0-1", "processingType": "DYNAMIC"})
    assert no_branch.status_code == 400



def test_dynamic_members_join_when_they_start_matching(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    sandbox.clock.set_ms(1_700_000_000_000)
    ids = sandbox.store.add_contacts([{"email": "a@x.io", "annualrevenue": "50"}, {"email": "b@x.io", "annualrevenue": "1"}])
    branch = _branch(_prop("annualrevenue", {"operationType": "NUMBER", "operator": "IS_GREATER_THAN", "value": 10}))
    list_id = http.post(sandbox.base_url + "/crm/v3/lists", json={"name": "Rich", "objectTypeId": "0-1", "processingType": "DYNAMIC",
                                                                  "filterBranch": branch}).json()["list"]["listId"]
    sandbox.clock.advance(days=1)
    sandbox.store.update_contact(ids[1], {"annualrevenue": "99"})
    rows = http.get(f"{sandbox.base_url}/crm/v3/lists/{list_id}/memberships").json()["results"]
    assert [(r["recordId"], r["membershipTimestamp"]) for r in rows] == [(ids[0], "2023-11-14T22:13:20.000Z"), (ids[1], "2023-11-15T22:13:20.000Z")]
