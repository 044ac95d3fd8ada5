"""Field-level security: a new custom field is invisible until a permission set grants it; read-only grants refuse writes."""

from __future__ import annotations

import typing as t

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads

SCORE = {"FullName": "Lead.Score__c", "Metadata": {"type": "Number", "label": "Score", "precision": 18, "scale": 0}}


def grant(sf: t.Any, field: str, edit: bool) -> dict[str, str]:
    """What `connector setup` will do: a permission set, its field permission, assigned to the integration user."""
    permission_set = sf.PermissionSet.create({"Name": "Connector_Scoring", "Label": "Connector scoring"})["id"]
    permission = sf.FieldPermissions.create({"ParentId": permission_set, "SobjectType": field.split(".")[0], "Field": field,
                                             "PermissionsRead": True, "PermissionsEdit": edit})["id"]
    me = sf.query("SELECT Id FROM User WHERE Username = 'integration@sandbox-org.example'")["records"][0]["Id"]
    assignment = sf.PermissionSetAssignment.create({"AssigneeId": me, "PermissionSetId": permission_set})["id"]
    return {"permissionSet": permission_set, "permission": permission, "assignment": assignment}


def test_new_field_is_invisible_everywhere(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {})[0]
    assert sf.toolingexecute("sobjects/CustomField", method="POST", data=SCORE)["success"] is True
    assert "Score__c" not in {f["name"] for f in sf.Lead.describe()["fields"]}
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id, Score__c FROM Lead")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.update(lead, {"Score__c": 42})
    assert err.value.content == [{"message": "No such column 'Score__c' on sobject of type Lead", "errorCode": "INVALID_FIELD", "fields": []}]
    assert "Score__c" not in sf.Lead.get(lead)


def test_grant_makes_it_readable_and_writable(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {})[0]
    sf.toolingexecute("sobjects/CustomField", method="POST", data=SCORE)
    grant(sf, "Lead.Score__c", edit=True)
    field = {f["name"]: f for f in sf.Lead.describe()["fields"]}["Score__c"]
    assert field["custom"] is True and field["type"] == "double" and field["updateable"] is True and field["precision"] == 18
    assert sf.Lead.update(lead, {"Score__c": 42}) == 204
    assert sf.query("SELECT Score__c FROM Lead")["records"][0]["Score__c"] == 42.0
    rows = sf.query("SELECT Field, PermissionsRead, PermissionsEdit, Parent.Name FROM FieldPermissions WHERE SobjectType = 'Lead'")["records"]
    assert [(r["Field"], r["PermissionsEdit"], r["Parent"]["Name"]) for r in rows] == [("Lead.Score__c", True, "Connector_Scoring")]


def test_read_only_grant_refuses_writes(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {})[0]
    sf.toolingexecute("sobjects/CustomField", method="POST", data=SCORE)
    ids = grant(sf, "Lead.Score__c", edit=False)
    field = {f["name"]: f for f in sf.Lead.describe()["fields"]}["Score__c"]
    assert field["updateable"] is False and field["createable"] is False
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.update(lead, {"Score__c": 1})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert err.value.content[0]["fields"] == ["Score__c"]
    sf.FieldPermissions.update(ids["permission"], {"PermissionsEdit": True})
    assert sf.Lead.update(lead, {"Score__c": 1}) == 204


def test_unassigning_hides_the_field_again(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    sf.toolingexecute("sobjects/CustomField", method="POST", data=SCORE)
    ids = grant(sf, "Lead.Score__c", edit=True)
    sf.PermissionSetAssignment.delete(ids["assignment"])
    assert "Score__c" not in {f["name"] for f in sf.Lead.describe()["fields"]}


def test_field_permission_rules(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    sf.toolingexecute("sobjects/CustomField", method="POST", data=SCORE)
    ps = sf.PermissionSet.create({"Name": "Scoring", "Label": "Scoring"})["id"]
    for body, code in (({"Field": "Lead.Nope__c", "SobjectType": "Lead", "PermissionsRead": True}, "FIELD_INTEGRITY_EXCEPTION"),
                       ({"Field": "Lead.Score__c", "SobjectType": "Lead", "PermissionsRead": False, "PermissionsEdit": True}, "FIELD_INTEGRITY_EXCEPTION")):
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf.FieldPermissions.create({"ParentId": ps, **body})
        assert err.value.content[0]["errorCode"] == code
    sf.FieldPermissions.create({"ParentId": ps, "Field": "Lead.Score__c", "SobjectType": "Lead", "PermissionsRead": True})
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.FieldPermissions.create({"ParentId": ps, "Field": "Lead.Score__c", "SobjectType": "Lead", "PermissionsRead": True})
    assert err.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    for name in ("bad name", "Double__Under", "_lead", "trailing_"):
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf.PermissionSet.create({"Name": name, "Label": "x"})
        assert err.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_standard_fields_are_always_visible(sf: t.Any) -> None:
    names = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert {"Email", "Title", "AccountId", "MailingCountry", "HasOptedOutOfEmail"} <= names
