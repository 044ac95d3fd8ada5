"""sobjects list and describe: field names, types, lengths, flags and picklist values."""

from __future__ import annotations

import typing as t

from connector.sandbox.salesforce import SalesforceSandbox

OBJECTS = {"Lead", "Contact", "Account", "User", "Task", "Event", "Campaign", "CampaignMember", "Opportunity", "OpportunityContactRole",
           "PermissionSet", "PermissionSetAssignment", "FieldPermissions"}


def test_global_describe_lists_the_objects(sf: t.Any) -> None:
    answer = sf.describe()
    assert answer["encoding"] == "UTF-8" and answer["maxBatchSize"] == 200
    listed = {o["name"]: o for o in answer["sobjects"]}
    assert set(listed) >= OBJECTS
    assert listed["Lead"]["keyPrefix"] == "00Q" and listed["Lead"]["urls"]["describe"] == "/services/data/v59.0/sobjects/Lead/describe"


def test_lead_describe(sf: t.Any) -> None:
    describe = sf.Lead.describe()
    assert describe["name"] == "Lead" and describe["keyPrefix"] == "00Q" and describe["createable"] is True
    fields = {f["name"]: f for f in describe["fields"]}
    assert {"Id", "Email", "Title", "Company", "Industry", "NumberOfEmployees", "Country", "OwnerId", "IsConverted", "ConvertedContactId",
            "SystemModstamp", "LastModifiedDate", "CreatedDate", "IsDeleted", "MasterRecordId"} <= set(fields)
    assert fields["Email"]["type"] == "email" and fields["Email"]["length"] == 80 and fields["Email"]["updateable"] is True
    assert fields["LastName"]["nillable"] is False and fields["Company"]["createable"] is True
    assert fields["SystemModstamp"]["type"] == "datetime" and fields["SystemModstamp"]["updateable"] is False
    assert fields["IsConverted"]["updateable"] is False and fields["Id"]["type"] == "id"
    status = fields["Status"]
    assert status["type"] == "picklist" and "Closed - Converted" in [p["value"] for p in status["picklistValues"]]
    assert next(p for p in status["picklistValues"] if p["defaultValue"])["value"] == "Open - Not Contacted"
    assert fields["OwnerId"]["referenceTo"] == ["User"] and fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["NumberOfEmployees"]["type"] == "int" and fields["AnnualRevenue"]["type"] == "currency"
    assert all(f["custom"] is False for f in describe["fields"])


def test_activity_and_campaign_describe(sf: t.Any) -> None:
    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert set(p["value"] for p in task["TaskSubtype"]["picklistValues"]) >= {"Email", "Call", "Task"}
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"] and task["WhoId"]["polymorphicForeignKey"] is True
    member = {f["name"]: f for f in sf.CampaignMember.describe()["fields"]}
    assert member["CampaignId"]["updateable"] is False and member["HasResponded"]["updateable"] is False
    campaign = {f["name"]: f for f in sf.Campaign.describe()["fields"]}
    assert {"Webinar", "Email", "Content", "Web Form"} <= {p["value"] for p in campaign["Type"]["picklistValues"]}


def test_user_has_no_recycle_bin(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    assert "IsDeleted" not in {f["name"] for f in sf.User.describe()["fields"]}
    assert sf.User.metadata()["objectDescribe"]["name"] == "User"
