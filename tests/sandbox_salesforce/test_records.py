"""Single-record CRUD through simple-salesforce: stamps on every write, Salesforce's save errors, converted leads."""

from __future__ import annotations

import typing as t

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import salesforce_client

FROZEN = 1_736_942_400_000  # 2025-01-15T12:00:00Z


@pytest.fixture()
def frozen() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(clock=SandboxClock(frozen_ms=FROZEN + 456)) as sandbox:
        yield sandbox


def test_create_get_update_delete_with_stamps(frozen: SalesforceSandbox) -> None:
    sf = salesforce_client(frozen)
    created = sf.Lead.create({"LastName": "Ng", "Company": "Acme", "Email": "ng@acme.example", "Title": "VP Marketing"})
    assert created == {"id": created["id"], "success": True, "errors": []} and created["id"].startswith("00Q")
    lead = sf.Lead.get(created["id"])
    assert lead["CreatedDate"] == lead["SystemModstamp"] == lead["LastModifiedDate"] == "2025-01-15T12:00:00.000+0000"  # whole seconds
    assert lead["Status"] == "Open - Not Contacted" and lead["IsDeleted"] is False and lead["OwnerId"] == frozen.integration_user_id
    assert lead["CreatedById"] == frozen.integration_user_id and lead["Name"] == "Ng"
    frozen.clock.advance(seconds=90)
    assert sf.Lead.update(created["id"], {"Title": "CMO", "FirstName": "Kim"}) == 204
    lead = sf.Lead.get(created["id"])
    assert lead["SystemModstamp"] == lead["LastModifiedDate"] == "2025-01-15T12:01:30.000+0000" and lead["CreatedDate"] == "2025-01-15T12:00:00.000+0000"
    assert lead["Name"] == "Kim Ng"
    assert set(sf.Lead.get(created["id"], headers=None)) > {"Title"}
    frozen.clock.advance(seconds=1)
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Lead.get(created["id"])
    assert err.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    deleted = sf.query_all(f"SELECT SystemModstamp, IsDeleted FROM Lead WHERE Id = '{created['id']}'", include_deleted=True)["records"][0]
    assert deleted == {"attributes": deleted["attributes"], "SystemModstamp": "2025-01-15T12:01:31.000+0000", "IsDeleted": True}


def test_get_with_fields_parameter(sf: t.Any, sandbox: SalesforceSandbox, http: requests.Session) -> None:
    lead = sandbox.insert("Lead", [{"LastName": "Ng", "Company": "Acme", "Email": "ng@acme.example"}])[0]
    answer = http.get(f"{sandbox.instance_url}/services/data/v59.0/sobjects/Lead/{lead}", params={"fields": "Email,Company"}).json()
    assert list(answer) == ["attributes", "Email", "Company"]
    bad = http.get(f"{sandbox.instance_url}/services/data/v59.0/sobjects/Lead/{lead}", params={"fields": "Email,Nope"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize(("body", "code", "fields"), [
    ({"Company": "Acme"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ({"LastName": "x" * 81, "Company": "Acme"}, "STRING_TOO_LONG", ["LastName"]),
    ({"LastName": "Ng", "Company": "Acme", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
    ({"LastName": "Ng", "Company": "Acme", "OwnerId": "nope"}, "MALFORMED_ID", ["OwnerId"]),
    ({"LastName": "Ng", "Company": "Acme", "OwnerId": "00Q5g0000000001EAA"}, "FIELD_INTEGRITY_EXCEPTION", ["OwnerId"]),
    ({"LastName": "Ng", "Company": "Acme", "OwnerId": "0055g00000zzzzzAAA"}, "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
    ({"LastName": "Ng", "Company": "Acme", "IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsConverted"]),
    ({"LastName": "Ng", "Company": "Acme", "SystemModstamp": "2020-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["SystemModstamp"]),
    ({"LastName": "Ng", "Company": "Acme", "NumberOfEmployees": 1e12}, "NUMBER_OUTSIDE_VALID_RANGE", ["NumberOfEmployees"]),
])
def test_save_errors(sf: t.Any, body: dict[str, t.Any], code: str, fields: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.create(body)
    assert err.value.content[0]["errorCode"] == code
    assert err.value.content[0]["fields"] == fields
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_unknown_record_and_type(sf: t.Any, http: requests.Session, sandbox: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Lead.update("00Q5g0000000zzzEAA", {"Title": "x"})
    assert err.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    assert http.get(f"{sandbox.instance_url}/services/data/v59.0/sobjects/Widget__c/describe").status_code == 404


def test_converted_lead_cannot_be_updated(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = sandbox.insert("Lead", [{"LastName": "Ng", "Company": "Acme", "Email": "ng@acme.example", "Title": "CTO"}])[0]
    converted = requests.post(f"{sandbox.instance_url}/_sandbox/convert", json={"leadId": lead, "createOpportunity": True}, verify=sandbox.ca_path).json()
    row = sf.query(f"SELECT IsConverted, ConvertedDate, ConvertedContactId, ConvertedAccountId, ConvertedOpportunityId, Status FROM Lead WHERE Id = '{lead}'")["records"][0]
    assert row["IsConverted"] is True and row["ConvertedContactId"] == converted["contactId"] and row["Status"] == "Closed - Converted"
    assert row["ConvertedOpportunityId"] == converted["opportunityId"] and row["ConvertedAccountId"] == converted["accountId"]
    contact = sf.Contact.get(converted["contactId"])
    assert (contact["Email"], contact["Title"], contact["AccountId"]) == ("ng@acme.example", "CTO", converted["accountId"])
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.update(lead, {"Title": "CEO"})
    assert err.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
