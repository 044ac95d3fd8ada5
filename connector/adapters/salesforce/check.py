"""``connector check --crm <salesforce entry>``: the mapping file against ``describe``.

Every field the mapping reads must exist with a compatible type and be visible to the integration
user (describe shows only fields the user's field-level security lets it read); every output field
must exist on Lead and Contact and be updateable (edit access); the Task key field must be
writable; mapped picklist values (task subtypes and types, campaign types) must exist. Each problem
names the mapping file and line.
"""

from __future__ import annotations

import typing as t

from connector.adapters.base import MappingProblem
from connector.adapters.problems import MappingReport, hint
from connector.adapters.salesforce.mapping import SalesforceMapping

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["check_mapping", "compatible"]

#: mapping type -> describe types it can read.
_READS: dict[str, set[str]] = {
    "string": {"string", "picklist", "email", "phone", "url", "textarea", "combobox", "id", "reference"},
    "enumeration": {"picklist", "string", "combobox"},
    "number": {"double", "int", "currency", "percent", "long"},
    "integer": {"int", "double", "currency", "percent", "long"},
    "bool": {"boolean"},
    "datetime": {"datetime", "date"},
    "date": {"date", "datetime"},
    "multipicklist": {"multipicklist"},
}


def compatible(mapping_type: str, sf_type: str) -> bool:
    """Whether a field of describe type ``sf_type`` can be read as the mapping's type."""
    return sf_type in _READS.get(mapping_type, set())


def _not_visible(sobject: str, name: str, known: t.Iterable[str]) -> str:
    return (f"{sobject} has no field '{name}' visible to the integration user: it does not exist, or field-level security hides it "
            f"(run `connector setup` for output fields, or grant read access){hint(name, known)}")


def check_mapping(client: SalesforceClient, mapping: SalesforceMapping, *, output_names: t.Sequence[str] = ()) -> list[MappingProblem]:
    """All problems of ``mapping`` against the org; ``output_names`` adds the models' outputs."""
    report = MappingReport(mapping.source)

    for key, sobject in (("lead", "Lead"), ("contact", "Contact")):
        spec = getattr(mapping.people, key)
        if not spec.enabled:
            continue
        fields = client.fields(sobject)
        for attr in ("email_field", "owner_field"):
            name = getattr(spec, attr)
            if name not in fields:
                report(("people", key, attr), _not_visible(sobject, name, fields))
        for canonical, field in spec.fields.items():
            loc: tuple[str, ...] = ("people", key, "fields", canonical)
            found = _field(client, report, loc, sobject, fields, field.field)
            if found is not None and not compatible(field.type, str(found[1].get("type"))):
                report(loc, f"{found[0]} is a Salesforce {found[1].get('type')} field; cannot read it as {field.type}")
        for stage, name in spec.stage_dates.items():
            loc = ("people", key, "stage_dates", stage)
            found = _field(client, report, loc, sobject, fields, name)
            if found is not None and str(found[1].get("type")) not in ("date", "datetime"):
                report(loc, f"{found[0]} is a Salesforce {found[1].get('type')} field; the stage date of {stage} must be a date or date/time field")
    targets = {name: mapping.outputs.field_for(name) for name in output_names}
    targets.update({output: mapping.outputs.field_for(output) for output in mapping.outputs.fields})
    for output, name in targets.items():
        loc = ("outputs", "fields", output) if output in mapping.outputs.fields else ("outputs",)
        for sobject in ("Lead", "Contact"):
            output_field = client.fields(sobject).get(name)
            if output_field is None:
                report(loc, f"output '{output}' goes to {sobject}.{name}, which does not exist or is hidden by field-level security (run `connector setup`)")
            elif not output_field.get("updateable"):
                report(loc, f"output '{output}' goes to {sobject}.{name}, which the integration user cannot edit (field-level security: grant edit, or run `connector setup`)")
    task_fields = client.fields("Task")
    key_field = task_fields.get(mapping.tasks.key_field)
    if key_field is None or not key_field.get("createable"):
        report(("tasks", "key_field"), f"Task field {mapping.tasks.key_field} is missing or not writable: tasks cannot be protected against duplicates (run `connector setup`)")
    _picklist(report, task_fields, "TaskSubtype", mapping.activities.tasks.subtypes, ("activities", "tasks", "subtypes"))
    _picklist(report, task_fields, "Type", mapping.activities.tasks.types, ("activities", "tasks", "types"))
    if mapping.activities.campaign_members.enabled:
        _picklist(report, client.fields("Campaign"), "Type", mapping.activities.campaign_members.types, ("activities", "campaign_members", "types"))
    return report.problems


def _field(
    client: SalesforceClient, report: t.Callable[[tuple[t.Any, ...], str], None], loc: tuple[str, ...], sobject: str,
    fields: t.Mapping[str, t.Mapping[str, t.Any]], name: str,
) -> tuple[str, t.Mapping[str, t.Any]] | None:
    """``Object.Field`` and its describe of a mapped field (one relationship up allowed), or ``None`` after reporting why not."""
    target_object, target = sobject, fields
    if "." in name:
        relationship, name = name.split(".", 1)
        parent = next((f for f in fields.values() if f.get("relationshipName") == relationship), None)
        if parent is None or not parent.get("referenceTo"):
            report(loc, f"{sobject} has no relationship '{relationship}'{hint(relationship, [f.get('relationshipName') or '' for f in fields.values()])}")
            return None
        target_object = str(parent["referenceTo"][0])
        target = client.fields(target_object)
    found = target.get(name)
    if found is None:
        report(loc, _not_visible(target_object, name, target))
        return None
    return f"{target_object}.{name}", found


def _picklist(report: t.Callable[[tuple[t.Any, ...], str], None], fields: t.Mapping[str, t.Mapping[str, t.Any]], name: str, mapped: t.Mapping[str, t.Any], loc: tuple[str, ...]) -> None:
    values = {str(v.get("value")) for v in (fields.get(name) or {}).get("picklistValues") or []}
    if not values:
        return
    for value in mapped:
        if value not in values:
            report((*loc, value), f"'{value}' is not a value of picklist {name}{hint(value, values)}")
