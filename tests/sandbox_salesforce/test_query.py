"""query: filters of every kind, relationship fields, ORDER BY, LIMIT/OFFSET, COUNT(), and Salesforce's query errors."""

from __future__ import annotations

import typing as t

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import salesforce_client


@pytest.fixture()
def leads(sandbox: SalesforceSandbox) -> list[str]:
    account = sandbox.insert("Account", [{"Name": "Globex", "Industry": "Software", "NumberOfEmployees": 300}])[0]
    contact = sandbox.insert("Contact", [{"LastName": "Cole", "AccountId": account, "Email": "cole@globex.example"}])[0]
    rows = [
        {"FirstName": "Ann", "LastName": "Able", "Company": "Acme", "Email": "ann@acme.example", "NumberOfEmployees": 10, "Industry": "Software", "Title": "CTO"},
        {"FirstName": "bob", "LastName": "Baker", "Company": "acme", "Email": "bob@acme.example", "NumberOfEmployees": 500, "Industry": "Retail", "AnnualRevenue": 2e6},
        {"FirstName": None, "LastName": "Cole", "Company": "Globex", "Email": None, "NumberOfEmployees": None, "Industry": None, "HasOptedOutOfEmail": True},
        {"FirstName": "Dee", "LastName": "Dunn", "Company": "Initech", "Email": "dee@initech.example", "NumberOfEmployees": 50, "Industry": "Software",
         "IsConverted": True, "ConvertedContactId": contact, "ConvertedAccountId": account, "ConvertedDate": "2025-01-01"},
    ]
    return sandbox.insert("Lead", rows)


def names(result: dict[str, t.Any]) -> list[str]:
    return [r["LastName"] for r in result["records"]]


def test_record_shape_and_attributes(sf: t.Any, leads: list[str]) -> None:
    result = sf.query("SELECT Id, LastName, NumberOfEmployees, HasOptedOutOfEmail, CreatedDate FROM Lead WHERE LastName = 'Able'")
    assert result["totalSize"] == 1 and result["done"] is True and "nextRecordsUrl" not in result
    record = result["records"][0]
    assert record["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{leads[0]}"}
    assert list(record) == ["attributes", "Id", "LastName", "NumberOfEmployees", "HasOptedOutOfEmail", "CreatedDate"]
    assert record["NumberOfEmployees"] == 10 and record["HasOptedOutOfEmail"] is False
    assert record["CreatedDate"].endswith(".000+0000") and len(record["CreatedDate"]) == 28


@pytest.mark.parametrize(("where", "expected"), [
    ("Company = 'ACME'", ["Able", "Baker"]),  # text comparison ignores case
    ("Company != 'acme'", ["Cole", "Dunn"]),
    ("Email = null", ["Cole"]),
    ("Email != null", ["Able", "Baker", "Dunn"]),
    ("Industry != 'Software'", ["Baker", "Cole"]),  # != matches null values in SOQL
    ("NumberOfEmployees > 10", ["Baker", "Dunn"]),
    ("NumberOfEmployees >= 10 AND NumberOfEmployees <= 50", ["Able", "Dunn"]),
    ("NumberOfEmployees < 100", ["Able", "Dunn"]),
    ("AnnualRevenue > 1000000.5", ["Baker"]),
    ("HasOptedOutOfEmail = true", ["Cole"]),
    ("IsConverted = false", ["Able", "Baker", "Cole"]),
    ("Industry IN ('Software', 'Retail')", ["Able", "Baker", "Dunn"]),
    ("Industry NOT IN ('Software')", ["Baker", "Cole"]),
    ("Email LIKE '%@acme.example'", ["Able", "Baker"]),
    ("NOT Email LIKE '%@acme.example'", ["Cole", "Dunn"]),
    ("(Industry = 'Software' OR Industry = 'Retail') AND NumberOfEmployees > 20", ["Baker", "Dunn"]),
    ("NOT (Industry = 'Software')", ["Baker", "Cole"]),
    ("FirstName < 'c'", ["Able", "Baker"]),
    ("ConvertedDate = 2025-01-01", ["Dunn"]),
    ("ConvertedDate > 2024-12-31", ["Dunn"]),
    ("CreatedDate = LAST_N_DAYS:2", ["Able", "Baker", "Cole", "Dunn"]),
    ("CreatedDate < LAST_N_DAYS:2", []),
    ("CreatedDate > 2020-01-01T00:00:00Z", ["Able", "Baker", "Cole", "Dunn"]),
    ("CreatedDate > 2020-01-01T00:00:00.000+02:00", ["Able", "Baker", "Cole", "Dunn"]),
])
def test_where(sf: t.Any, leads: list[str], where: str, expected: list[str]) -> None:
    assert sorted(names(sf.query(f"SELECT LastName FROM Lead WHERE {where}"))) == expected


def test_ids_in_filters_accept_15_and_18_characters(sf: t.Any, leads: list[str]) -> None:
    assert names(sf.query(f"SELECT LastName FROM Lead WHERE Id = '{leads[1][:15]}'")) == ["Baker"]
    assert names(sf.query(f"SELECT LastName FROM Lead WHERE Id IN ('{leads[0]}', '{leads[1]}') ORDER BY Id")) == ["Able", "Baker"]
    assert names(sf.query(f"SELECT LastName FROM Lead WHERE Id > '{leads[1]}' ORDER BY Id")) == ["Cole", "Dunn"]


def test_relationship_fields_one_level_up(sf: t.Any, sandbox: SalesforceSandbox, leads: list[str]) -> None:
    result = sf.query("SELECT LastName, Owner.Email, Owner.Name, ConvertedContact.Email, ConvertedAccount.Industry FROM Lead WHERE LastName IN ('Dunn', 'Able') ORDER BY LastName")
    able, dunn = result["records"]
    assert able["Owner"]["Email"] == "integration@sandbox-org.example" and able["Owner"]["attributes"]["type"] == "User"
    assert able["ConvertedContact"] is None and able["ConvertedAccount"] is None
    assert dunn["ConvertedContact"]["Email"] == "cole@globex.example" and dunn["ConvertedAccount"]["Industry"] == "Software"
    contacts = sf.query("SELECT LastName, Account.Name, Account.NumberOfEmployees FROM Contact WHERE Account.Industry = 'Software'")
    assert contacts["records"][0]["Account"]["NumberOfEmployees"] == 300


def test_polymorphic_who(sf: t.Any, sandbox: SalesforceSandbox, leads: list[str]) -> None:
    sandbox.insert("Task", [{"WhoId": leads[0], "Subject": "Email: hi", "TaskSubtype": "Email", "Type": "Email", "Status": "Completed"}])
    record = sf.query("SELECT Who.Type, Who.Name, Who.Email, TaskSubtype, IsClosed FROM Task WHERE Who.Type = 'Lead'")["records"][0]
    assert record["Who"]["Type"] == "Lead" and record["Who"]["Name"] == "Ann Able" and record["Who"]["Email"] == "ann@acme.example"
    assert record["TaskSubtype"] == "Email" and record["IsClosed"] is True


def test_order_by_several_fields_and_nulls(sf: t.Any, leads: list[str]) -> None:
    assert names(sf.query("SELECT LastName FROM Lead ORDER BY NumberOfEmployees")) == ["Cole", "Able", "Dunn", "Baker"]  # nulls first by default
    assert names(sf.query("SELECT LastName FROM Lead ORDER BY NumberOfEmployees DESC")) == ["Cole", "Baker", "Dunn", "Able"]
    assert names(sf.query("SELECT LastName FROM Lead ORDER BY NumberOfEmployees DESC NULLS LAST")) == ["Baker", "Dunn", "Able", "Cole"]
    assert names(sf.query("SELECT LastName FROM Lead ORDER BY Company ASC, LastName DESC")) == ["Baker", "Able", "Cole", "Dunn"]
    assert names(sf.query("SELECT LastName FROM Lead ORDER BY FirstName NULLS LAST")) == ["Able", "Baker", "Dunn", "Cole"]  # case-insensitive


def test_limit_offset_and_count(sf: t.Any, leads: list[str]) -> None:
    assert names(sf.query("SELECT LastName FROM Lead ORDER BY LastName LIMIT 2 OFFSET 1")) == ["Baker", "Cole"]
    assert sf.query("SELECT COUNT() FROM Lead WHERE Company = 'acme'") == {"totalSize": 2, "done": True, "records": []}


def test_semi_join(sf: t.Any, sandbox: SalesforceSandbox, leads: list[str]) -> None:
    campaign = sandbox.insert("Campaign", [{"Name": "Webinar"}])[0]
    sandbox.insert("CampaignMember", [{"CampaignId": campaign, "LeadId": leads[1], "Status": "Responded"}])
    assert names(sf.query("SELECT LastName FROM Lead WHERE Id IN (SELECT LeadId FROM CampaignMember WHERE HasResponded = true)")) == ["Baker"]


def query_error(sf: t.Any, soql: str) -> dict[str, t.Any]:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    assert err.value.status == 400
    return t.cast(dict[str, t.Any], err.value.content[0])


def test_unknown_field_is_invalid_field_with_the_caret(sf: t.Any, leads: list[str]) -> None:
    error = query_error(sf, "SELECT Id, Score__c FROM Lead")
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"] == ("\nSELECT Id, Score__c FROM Lead\n           ^\nERROR at Row:1:Column:12\nNo such column 'Score__c' on entity 'Lead'. If you are attempting to use a "
                                "custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.")
    assert "Didn't understand relationship 'Boss'" in query_error(sf, "SELECT Boss.Name FROM Lead")["message"]


@pytest.mark.parametrize(("soql", "code", "fragment"), [
    ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported."),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ("SELECT Id FROM Lead WHERE IsConverted = 'true'", "INVALID_FIELD", "value of filter criterion for field 'IsConverted' must be of type boolean and should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "INVALID_FIELD", "must be of type integer and should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Lead WHERE ConvertedDate > 2024-01-01T00:00:00Z", "INVALID_FIELD", "must be of type date"),
    ("SELECT Id FROM Lead WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
    ("SELECT Id FROM Lead WHERE Email > null", "MALFORMED_QUERY", "invalid operator on null"),
    ("SELECT Id, Id FROM Lead", "MALFORMED_QUERY", "duplicate field selected: Id"),
    ("SELECT Id FROM Lead ORDER BY Description", "INVALID_FIELD", "can not be sorted"),
    ("SELECT Id FROM Lead OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"),
    ("SELECT COUNT(), Id FROM Lead", "MALFORMED_QUERY", "COUNT()"),
])
def test_query_errors(sf: t.Any, leads: list[str], soql: str, code: str, fragment: str) -> None:
    error = query_error(sf, soql)
    assert error["errorCode"] == code
    assert fragment in error["message"]


def test_empty_query_string(sf: t.Any, leads: list[str]) -> None:
    error = query_error(sf, "   ")
    assert error["errorCode"] == "MALFORMED_QUERY"


def test_date_literals_follow_the_org_clock() -> None:
    with SalesforceSandbox(clock=SandboxClock(frozen_ms=1_736_942_400_000)) as sandbox:  # 2025-01-15T12:00:00Z
        sandbox.insert("Lead", [{"LastName": "Old", "Company": "x", "CreatedDate": "2025-01-10T12:00:00Z"},
                                {"LastName": "New", "Company": "x", "CreatedDate": "2025-01-15T08:00:00Z"}])
        sf = salesforce_client(sandbox)
        assert names(sf.query("SELECT LastName FROM Lead WHERE CreatedDate = TODAY")) == ["New"]
        assert sorted(names(sf.query("SELECT LastName FROM Lead WHERE CreatedDate = LAST_N_DAYS:7"))) == ["New", "Old"]
        assert names(sf.query("SELECT LastName FROM Lead WHERE CreatedDate < LAST_N_DAYS:2")) == ["Old"]
        sandbox.clock.advance(days=10)
        sf = salesforce_client(sandbox)  # the old session idled out over those 10 days
        assert names(sf.query("SELECT LastName FROM Lead WHERE CreatedDate = LAST_N_DAYS:7")) == []
