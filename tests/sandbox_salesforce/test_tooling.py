"""Tooling API: CustomField create/read/update/delete, duplicate and metadata errors, tooling queries."""

from __future__ import annotations

import typing as t

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.salesforce import SalesforceSandbox

FIELDS: list[dict[str, t.Any]] = [
    {"FullName": "Lead.Score__c", "Metadata": {"type": "Number", "label": "Score", "precision": 18, "scale": 0}},
    {"FullName": "Lead.Grade__c", "Metadata": {"type": "Picklist", "label": "Grade", "valueSet": {"restricted": True, "valueSetDefinition": {
        "sorted": False, "value": [{"fullName": g, "label": g, "default": False} for g in "ABCD"]}}}},
    {"FullName": "Lead.Score_Reasons__c", "Metadata": {"type": "LongTextArea", "label": "Score reasons", "length": 32768, "visibleLines": 5}},
    {"FullName": "Contact.Hot__c", "Metadata": {"type": "Checkbox", "label": "Hot", "defaultValue": "false"}},
    {"FullName": "Contact.Scored_At__c", "Metadata": {"type": "DateTime", "label": "Scored at"}},
    {"FullName": "Activity.Connector_Key__c", "Metadata": {"type": "Text", "label": "Connector key", "length": 80, "externalId": True}},
]


def create(sf: t.Any, body: dict[str, t.Any]) -> t.Any:
    return sf.restful("tooling/sobjects/CustomField", method="POST", json=body)


def test_create_every_kind_then_grant_and_describe(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    for body in FIELDS:
        answer = create(sf, body)
        assert answer == {"id": answer["id"], "success": True, "errors": [], "warnings": [], "infos": []} and answer["id"].startswith("00N")
        sandbox.app.grant_field(body["FullName"])
    lead = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert lead["Grade__c"]["type"] == "picklist" and [p["value"] for p in lead["Grade__c"]["picklistValues"]] == list("ABCD")
    assert lead["Grade__c"]["restrictedPicklist"] is True and lead["Score_Reasons__c"]["length"] == 32768
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["Hot__c"]["type"] == "boolean" and contact["Hot__c"]["nillable"] is False and contact["Scored_At__c"]["type"] == "datetime"
    for activity in (sf.Task, sf.Event):
        assert {f["name"]: f for f in activity.describe()["fields"]}["Connector_Key__c"]["externalId"] is True
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.create({"LastName": "x", "Company": "y", "Grade__c": "Z"})
    assert err.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_duplicate_is_refused(sf: t.Any) -> None:
    create(sf, FIELDS[0])
    with pytest.raises(SalesforceMalformedRequest) as err:
        create(sf, FIELDS[0])
    assert err.value.content == [{"message": "duplicate value found: <unknown> duplicates value on record with id: <unknown>", "errorCode": "DUPLICATE_VALUE", "fields": []}]


@pytest.mark.parametrize(("body", "code", "fragment"), [
    ({"FullName": "Lead.Score__c", "Metadata": {"type": "Text", "label": "Score"}}, "FIELD_INTEGRITY_EXCEPTION", "Must specify 'length'"),
    ({"FullName": "Lead.Score__c", "Metadata": {"type": "Number", "label": "Score", "precision": 30, "scale": 0}}, "FIELD_INTEGRITY_EXCEPTION", "out of range"),
    ({"FullName": "Lead.Score__c", "Metadata": {"type": "Blob", "label": "Score"}}, "FIELD_INTEGRITY_EXCEPTION", "bad value for restricted picklist field: Blob"),
    ({"FullName": "Lead.Score__c", "Metadata": {"type": "Picklist", "label": "Score"}}, "FIELD_INTEGRITY_EXCEPTION", "valueSet"),
    ({"FullName": "Lead.Score", "Metadata": {"type": "Checkbox", "label": "S", "defaultValue": "false"}}, "FIELD_INTEGRITY_EXCEPTION", "ends with __c"),
    ({"FullName": "Task.Key__c", "Metadata": {"type": "Text", "label": "K", "length": 5}}, "FIELD_INTEGRITY_EXCEPTION", "bad value for restricted picklist field: Task"),
    ({"FullName": "Widget.Key__c", "Metadata": {"type": "Text", "label": "K", "length": 5}}, "FIELD_INTEGRITY_EXCEPTION", "Widget"),
    ({"Metadata": {"type": "Text", "label": "K", "length": 5}}, "REQUIRED_FIELD_MISSING", "FullName"),
    ({"FullName": "Lead.Score__c", "Metadata": "Number"}, "JSON_PARSER_ERROR", "Metadata"),
    ({"FullName": "Lead.Score__c", "Metadata": {"type": "Number", "label": "S", "precision": 3, "scale": 0}, "Bogus": 1}, "INVALID_FIELD", "Bogus"),
])
def test_metadata_errors(sf: t.Any, body: dict[str, t.Any], code: str, fragment: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        create(sf, body)
    assert err.value.content[0]["errorCode"] == code
    assert fragment in err.value.content[0]["message"]


def test_tooling_query_finds_existing_fields(sf: t.Any) -> None:
    ids = {body["FullName"]: create(sf, body)["id"] for body in FIELDS[:2]}
    found = sf.toolingexecute("query/?q=SELECT+Id,+DeveloperName,+TableEnumOrId+FROM+CustomField+WHERE+TableEnumOrId+=+'Lead'+ORDER+BY+DeveloperName")
    assert found["size"] == 2 and [(r["DeveloperName"], r["TableEnumOrId"]) for r in found["records"]] == [("Grade", "Lead"), ("Score", "Lead")]
    assert found["records"][0]["attributes"]["url"] == f"/services/data/v59.0/tooling/sobjects/CustomField/{ids['Lead.Grade__c']}"
    one = sf.restful("tooling/query", params={"q": "SELECT Id, FullName, Metadata FROM CustomField WHERE DeveloperName = 'Score'"})
    assert one["records"][0]["FullName"] == "Lead.Score__c" and one["records"][0]["Metadata"]["precision"] == 18
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("tooling/query", params={"q": "SELECT Id, Metadata FROM CustomField"})
    assert "no more than one row" in err.value.content[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("tooling/query", params={"q": "SELECT Id FROM ApexClass"})
    assert err.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_read_update_delete(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    field_id = create(sf, FIELDS[1])["id"]
    sandbox.app.grant_field("Lead.Grade__c")
    record = sf.restful(f"tooling/sobjects/CustomField/{field_id}")
    assert record["FullName"] == "Lead.Grade__c" and record["DeveloperName"] == "Grade" and record["Metadata"]["type"] == "Picklist"
    metadata = dict(FIELDS[1]["Metadata"])
    metadata["valueSet"] = {"restricted": True, "valueSetDefinition": {"value": [{"fullName": g} for g in "ABCDE"]}}
    assert sf.restful(f"tooling/sobjects/CustomField/{field_id}", method="PATCH", json={"Metadata": metadata}) is None
    assert [p["value"] for p in {f["name"]: f for f in sf.Lead.describe()["fields"]}["Grade__c"]["picklistValues"]] == list("ABCDE")
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(f"tooling/sobjects/CustomField/{field_id}", method="PATCH", json={"Metadata": {"type": "Text", "label": "G", "length": 3}})
    assert sf.restful(f"tooling/sobjects/CustomField/{field_id}", method="DELETE") is None
    assert "Grade__c" not in {f["name"] for f in sf.Lead.describe()["fields"]}
    assert sf.query("SELECT COUNT() FROM FieldPermissions WHERE Field = 'Lead.Grade__c'")["totalSize"] == 0
