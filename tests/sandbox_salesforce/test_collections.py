"""sObject Collections: PATCH/POST/DELETE composite/sobjects, 200 records at most, allOrNone, results in order."""

from __future__ import annotations

import typing as t

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads


def patch(sf: t.Any, records: list[dict[str, t.Any]], all_or_none: bool = False) -> list[dict[str, t.Any]]:
    return t.cast(list[dict[str, t.Any]], sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": all_or_none, "records": records}))


def test_update_many_with_per_record_results_in_order(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    ids = add_leads(sandbox, *({} for _ in range(200)))
    results = patch(sf, [{"attributes": {"type": "Lead"}, "id": i, "Title": f"T{n}"} for n, i in enumerate(ids)])
    assert results == [{"id": i, "success": True, "errors": []} for i in ids]
    assert sf.query("SELECT COUNT() FROM Lead WHERE Title LIKE 'T%'")["totalSize"] == 200


def test_partial_failure_without_all_or_none(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    good, converted = add_leads(sandbox, {}, {})
    sandbox.app.writer.update(sandbox.org.obj("Lead"), sandbox.org.tables["lead"][converted], {"IsConverted": True}, None)  # type: ignore[arg-type]
    results = patch(sf, [
        {"attributes": {"type": "Lead"}, "id": good, "Title": "ok"},
        {"attributes": {"type": "Lead"}, "id": "00Q5g0000000zzzEAA", "Title": "x"},
        {"attributes": {"type": "Lead"}, "id": "garbage", "Title": "x"},
        {"attributes": {"type": "Lead"}, "Title": "no id"},
        {"attributes": {"type": "Lead"}, "id": good, "Email": "bad"},
        {"attributes": {"type": "Lead"}, "id": converted, "Title": "x"},
    ])
    assert results[0] == {"id": good, "success": True, "errors": []}
    codes = [r["errors"][0]["statusCode"] for r in results[1:]]
    assert codes == ["INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "MISSING_ARGUMENT", "INVALID_EMAIL_ADDRESS", "CANNOT_UPDATE_CONVERTED_LEAD"]
    assert all(r["success"] is False and "id" not in r for r in results[1:])
    assert results[4]["errors"][0]["fields"] == ["Email"] and set(results[4]["errors"][0]) == {"statusCode", "message", "fields"}
    assert sf.Lead.get(good)["Title"] == "ok"


def test_all_or_none_rolls_back(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    first, second = add_leads(sandbox, {"Title": "before"}, {"Title": "before"})
    results = patch(sf, [{"attributes": {"type": "Lead"}, "id": first, "Title": "after"}, {"attributes": {"type": "Lead"}, "id": second, "LastName": None}], True)
    assert results[0] == {"success": False, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                                        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.Lead.get(first)["Title"] == "before"


def test_more_than_200_records_is_refused(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        patch(sf, [{"attributes": {"type": "Lead"}, "id": "00Q5g0000000001EAA"}] * 201)
    assert err.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_unknown_field_fails_the_whole_call(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {})[0]
    with pytest.raises(SalesforceMalformedRequest) as err:
        patch(sf, [{"attributes": {"type": "Lead"}, "id": lead, "Title": "x"}, {"attributes": {"type": "Lead"}, "id": lead, "Score__c": 1}])
    assert err.value.content == [{"message": "No such column 'Score__c' on sobject of type Lead", "errorCode": "INVALID_FIELD", "fields": []}]
    assert sf.Lead.get(lead)["Title"] is None


def test_create_tasks_and_campaign_members(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {})[0]
    owner = sandbox.org.tables["lead"][lead]["OwnerId"]
    campaign = sf.Campaign.create({"Name": "Score band A", "Type": "Other"})["id"]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Task"}, "WhoId": lead, "OwnerId": owner, "Subject": "Follow up: new MQL", "ActivityDate": "2025-01-17", "Priority": "High"},
        {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead, "Status": "Responded"},
        {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead},
        {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead, "Status": "Attended"},
        {"attributes": {"type": "Task"}, "id": "00T5g0000000001EAA", "Subject": "x"},
        {"Subject": "no type"},
    ]})
    assert [r["success"] for r in results] == [True, True, False, False, False, False]
    assert results[2]["errors"][0] == {"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.", "fields": []}
    assert results[3]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results[4]["errors"][0]["statusCode"] == "INVALID_FIELD" and results[5]["errors"][0]["statusCode"] == "INVALID_TYPE"
    task = sf.Task.get(results[0]["id"])
    assert (task["Status"], task["Priority"], task["TaskSubtype"], task["IsClosed"]) == ("Not Started", "High", "Task", False)
    member = sf.CampaignMember.get(results[1]["id"])
    assert member["HasResponded"] is True and member["Type"] == "Lead" and member["FirstRespondedDate"]


def test_delete_collection(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    a, b = add_leads(sandbox, {}, {})
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{a},{b},00Q5g0000000zzzEAA", "allOrNone": "false"})
    assert [r["success"] for r in results] == [True, True, False]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_retrieve_collection(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    a = add_leads(sandbox, {"Email": "a@x.example"})[0]
    records = sf.restful("composite/sobjects/Lead", params={"ids": f"{a},00Q5g0000000zzzEAA", "fields": "Id,Email"})
    assert records[0]["Email"] == "a@x.example" and records[1] is None
