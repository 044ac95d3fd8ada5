"""``connector setup --crm <salesforce entry>``: output fields, their field-level security, campaigns.

1. **Fields.** Every output field the models write is created on Lead and Contact through the
   Tooling API (``POST tooling/sobjects/CustomField`` with ``FullName: Lead.X__c`` and ``Metadata``;
   https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_customfield.htm),
   as is the Task key field (``Activity.<key field>``, shared by Task and Event). What exists is
   found first with a Tooling query on ``CustomField``, so re-running creates nothing.
2. **Field-level security.** A new custom field is invisible to the API until a profile or
   permission set grants it -- the most reported failure of tools that write to Salesforce. Setup
   creates the permission set ``Lead_Scoring_Connector`` (once), a ``FieldPermissions`` row with
   read and edit per field (or adds edit to a read-only one), and assigns the set to the
   integration user (the user the connector logs in as).
3. **Confirmation.** ``describe`` of Lead, Contact and Task (fresh) must now show every field as
   updateable; otherwise setup fails naming the fields.
4. **Campaigns** for the stage and score-band lists of the mapping.

A field that exists with another type is never changed: it is reported for an admin to resolve.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from simple_salesforce.format import format_soql

from connector.adapters.base import CRMError, OutputSpec
from connector.adapters.salesforce.campaigns import Campaigns
from connector.adapters.salesforce.mapping import SalesforceMapping

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["PERMISSION_SET", "PERSON_OBJECTS", "field_metadata", "run_setup"]

#: The permission set setup creates and assigns (developer name).
PERMISSION_SET = "Lead_Scoring_Connector"
PERSON_OBJECTS = ("Lead", "Contact")
#: Longest reasons summary: a Long Text Area of this length.
TEXT_LENGTH = 1000
#: Describe types each output kind may already have.
_COMPATIBLE = {"number": {"double", "int", "currency", "percent"}, "enumeration": {"picklist", "string"}, "text": {"textarea", "string"}, "datetime": {"datetime"}}


def field_metadata(spec: OutputSpec) -> dict[str, t.Any]:
    """Tooling ``CustomField.Metadata`` for an output of this kind."""
    label = (spec.label or spec.name.replace("_", " "))[:40]
    if spec.kind == "number":
        return {"type": "Number", "label": label, "precision": 18, "scale": 2, "description": "Written by the lead-scoring connector."}
    if spec.kind == "enumeration":
        values = [{"fullName": v, "label": v, "default": False} for v in spec.options]
        return {"type": "Picklist", "label": label, "valueSet": {"restricted": False, "valueSetDefinition": {"value": values}}, "description": "Written by the lead-scoring connector."}
    if spec.kind == "text" and spec.role == "action":
        return {"type": "Text", "label": label, "length": 255, "description": "Set by the lead-scoring connector's trigger actions."}
    if spec.kind == "text":
        return {"type": "LongTextArea", "label": label, "length": TEXT_LENGTH, "visibleLines": 3, "description": "Written by the lead-scoring connector."}
    return {"type": "DateTime", "label": label, "description": "Written by the lead-scoring connector."}


def _tooling_query(client: SalesforceClient, soql: str) -> list[dict[str, t.Any]]:
    answer = client.call("GET tooling/query", client.sf.toolingexecute, f"query/?q={quote(soql)}")
    return list(answer.get("records") or []) if isinstance(answer, dict) else []


def _existing_fields(client: SalesforceClient) -> set[str]:
    """``Object.Field__c`` of every custom field on Lead, Contact and Activity (visible or not)."""
    soql = format_soql("SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId IN {}", [*PERSON_OBJECTS, "Activity"])
    return {f"{r['TableEnumOrId']}.{r['DeveloperName']}__c" for r in _tooling_query(client, soql)}


def _create_field(client: SalesforceClient, full_name: str, metadata: dict[str, t.Any]) -> None:
    body = {"FullName": full_name, "Metadata": metadata}
    answer = client.call(f"POST tooling/sobjects/CustomField ({full_name})", client.sf.toolingexecute, "sobjects/CustomField", method="POST", data=body)
    if isinstance(answer, dict) and answer.get("success") is False:
        raise CRMError(f"Salesforce refused to create field {full_name}: {answer.get('errors')}")


def _permission_set(client: SalesforceClient) -> tuple[str, bool]:
    found = client.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET))
    if found:
        return str(found[0]["Id"]), False
    answer = client.rest("POST", "sobjects/PermissionSet", json={"Name": PERMISSION_SET, "Label": "Lead scoring connector",
                                                               "Description": "Read and edit on the fields the lead-scoring connector writes."})
    return str(answer["id"]), True


def _grant(client: SalesforceClient, permission_set: str, fields: t.Sequence[str]) -> list[str]:
    """FieldPermissions with read and edit on each ``Object.Field__c``; returns what changed."""
    existing = {
        str(r["Field"]): r
        for r in client.query(format_soql("SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = {}", permission_set))
    }
    changed = []
    for full in fields:
        row = existing.get(full)
        if row is None:
            client.rest("POST", "sobjects/FieldPermissions", json={"ParentId": permission_set, "SobjectType": full.split(".", 1)[0], "Field": full,
                                                                  "PermissionsRead": True, "PermissionsEdit": True})
            changed.append(f"read/edit on {full}")
        elif not (row.get("PermissionsRead") and row.get("PermissionsEdit")):
            client.rest("PATCH", f"sobjects/FieldPermissions/{row['Id']}", json={"PermissionsRead": True, "PermissionsEdit": True})
            changed.append(f"edit on {full}")
    return changed


def _assign(client: SalesforceClient, permission_set: str) -> bool:
    user = client.user_id()
    soql = format_soql("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetId = {}", user, permission_set)
    if client.query(soql):
        return False
    client.rest("POST", "sobjects/PermissionSetAssignment", json={"AssigneeId": user, "PermissionSetId": permission_set})
    return True


def run_setup(client: SalesforceClient, mapping: SalesforceMapping, specs: t.Sequence[OutputSpec], campaigns: Campaigns) -> list[str]:
    """Make the org hold, grant and show every output field and list; return what was created or changed.

    Raises:
        CRMError: a field exists with an incompatible type, or is still not writable after the grant.
    """
    changed: list[str] = []
    existing = _existing_fields(client)
    visible = {sobject: client.fields(sobject) for sobject in PERSON_OBJECTS}
    wanted: dict[str, OutputSpec] = {
        mapping.outputs.field_for(spec.name): spec
        for spec in specs
        # A field a trigger sets that Lead and Contact already have (Rating, a field of yours) is used as it is.
        if not (spec.role == "action" and all(spec.name in visible[s] for s in PERSON_OBJECTS))
    }
    grants: list[str] = []
    for name, spec in wanted.items():
        for sobject in PERSON_OBJECTS:
            full = f"{sobject}.{name}"
            grants.append(full)
            if full not in existing:
                _create_field(client, full, field_metadata(spec))
                changed.append(f"field {full}")
    key = mapping.tasks.key_field
    if f"Activity.{key}" not in existing:
        _create_field(client, f"Activity.{key}", {"type": "Text", "label": "Connector action key", "length": 255,
                                                  "description": "The trigger action that created this task (never create it twice)."})
        changed.append(f"field Activity.{key}")
    grants.append(f"Task.{key}")
    permission_set, created = _permission_set(client)
    if created:
        changed.append(f"permission set {PERMISSION_SET}")
    changed += _grant(client, permission_set, grants)
    if _assign(client, permission_set):
        changed.append(f"permission set {PERMISSION_SET} assigned to the integration user")
    problems = []
    visible = {sobject: client.fields(sobject, refresh=True) for sobject in dict.fromkeys(full.split(".", 1)[0] for full in grants)}
    for full in grants:
        sobject, name = full.split(".", 1)
        field = visible[sobject].get(name)
        output = wanted.get(name)
        if field is None or not field.get("updateable"):
            problems.append(f"{full} is {'not visible' if field is None else 'not writable'} to the integration user after the grant")
        elif output is not None and field.get("type") not in _COMPATIBLE[output.kind]:
            problems.append(f"{full} exists with type {field.get('type')}; output '{output.name}' needs {output.kind} (rename the output in outputs.fields)")
    if problems:
        raise CRMError("Salesforce setup cannot continue: " + "; ".join(problems))
    for spec in specs:
        pattern = mapping.lists.stage_campaigns.get(spec.name)
        if pattern is not None and spec.role == "stage":
            for stage in spec.options:
                name = pattern.format(stage=stage)
                if campaigns.ensure(name)[1]:
                    changed.append(f"campaign '{name}'")
    outputs = {spec.name for spec in specs}
    for band in mapping.lists.score_bands:
        if band.output in outputs and campaigns.ensure(band.name)[1]:
            changed.append(f"campaign '{band.name}'")
    return changed
