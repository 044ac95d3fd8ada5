"""Custom fields through the Tooling API: ``CustomField`` records and what they add to the schema.

``POST tooling/sobjects/CustomField`` with ``{"FullName": "Lead.Score__c", "Metadata": {"type":
"Number", "label": "Score", "precision": 18, "scale": 0}}`` (Tooling API Developer Guide,
"CustomField"; the Metadata API ``CustomField`` type for the ``Metadata`` keys) creates the field on
the object, answering 201 ``{"id": "00N...", "success": true, "errors": [], "warnings": [], "infos":
[]}``. The new field is invisible to every user until a permission set grants it (field-level
security), as in Salesforce. Activity fields are created on ``Activity`` and appear on Task and Event;
``Task.X__c`` is refused. A second field with the same name answers 400 ``DUPLICATE_VALUE``. Types:
Text (length 1..255), TextArea, LongTextArea (length, visibleLines), Number/Currency/Percent
(precision 1..18, scale), Checkbox (defaultValue), Date, DateTime, Email, Phone, Url, Picklist and
MultiselectPicklist (``valueSet.valueSetDefinition.value``).
"""

from __future__ import annotations

import copy
import dataclasses
import typing as t

from connector.sandbox.salesforce.errors import ApiError
from connector.sandbox.salesforce.org import Org, Record
from connector.sandbox.salesforce.schema import FieldDef, ObjectDef
from connector.sandbox.salesforce.writes import DEVELOPER_NAME

__all__ = ["CUSTOM_FIELD", "CustomFields", "ToolingSource"]

_TYPES = {"Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "Number": "double", "Currency": "currency", "Percent": "percent",
          "Checkbox": "boolean", "Date": "date", "DateTime": "datetime", "Email": "email", "Phone": "phone", "Url": "url",
          "Picklist": "picklist", "MultiselectPicklist": "multipicklist"}
_ACTIVITY = ("Task", "Event")

CUSTOM_FIELD = ObjectDef("CustomField", "00N", "Custom Field", "Custom Fields")
for _field in (FieldDef("Id", "id", length=18, createable=False, updateable=False), FieldDef("DeveloperName", "string", length=40),
               FieldDef("TableEnumOrId", "string", length=40), FieldDef("NamespacePrefix", "string", length=15), FieldDef("ManageableState", "picklist", length=40),
               FieldDef("Description", "textarea", length=1000), FieldDef("InlineHelpText", "textarea", length=510), FieldDef("FullName", "string", length=255),
               FieldDef("Metadata", "complexvalue"), FieldDef("CreatedDate", "datetime"), FieldDef("LastModifiedDate", "datetime")):
    CUSTOM_FIELD.add(_field)


def _integrity(message: str, fields: t.Sequence[str] = ()) -> ApiError:
    return ApiError(400, "FIELD_INTEGRITY_EXCEPTION", message, list(fields))


def _int(metadata: dict[str, t.Any], key: str, kind: str, low: int, high: int) -> int:
    value = metadata.get(key)
    if value is None or isinstance(value, bool):
        raise _integrity(f"Must specify '{key}' for a CustomField of type {kind}", [key])
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _integrity(f"{key.capitalize()}: invalid value for {key}: {value}", [key]) from exc
    if not low <= number <= high:
        raise _integrity(f"{key.capitalize()}: the value {number} is out of range ({low}..{high}) for a CustomField of type {kind}", [key])
    return number


def field_from_metadata(name: str, metadata: t.Any) -> FieldDef:
    """The schema field a ``Metadata`` body describes; 400 ``FIELD_INTEGRITY_EXCEPTION`` naming what is wrong."""
    if not isinstance(metadata, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of CustomField Metadata: an object is expected")
    kind = metadata.get("type")
    if kind not in _TYPES:
        raise _integrity(f"Type: bad value for restricted picklist field: {kind}" if kind else "Must specify 'type' for a CustomField", ["type"])
    label = metadata.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _integrity(f"Must specify 'label' for a CustomField of type {kind}", ["label"])
    field = FieldDef(name, _TYPES[kind], label=label.strip()[:40], custom=True, metadata=copy.deepcopy(metadata),
                     description=metadata.get("description"), external_id=bool(metadata.get("externalId")), unique=bool(metadata.get("unique")))
    if kind == "Text":
        field.length = _int(metadata, "length", kind, 1, 255)
    elif kind == "TextArea":
        field.length = 255
    elif kind == "LongTextArea":
        field.length = _int(metadata, "length", kind, 256, 131072)
        _int(metadata, "visibleLines", kind, 2, 50)
    elif kind in ("Number", "Currency", "Percent"):
        field.precision = _int(metadata, "precision", kind, 1, 18)
        field.scale = _int(metadata, "scale", kind, 0, field.precision)
    elif kind == "Checkbox":
        default = str(metadata.get("defaultValue", "")).lower()
        if default not in ("true", "false"):
            raise _integrity("Must specify 'defaultValue' (true or false) for a CustomField of type Checkbox", ["defaultValue"])
        field.default, field.nillable, field.default_on_create = default == "true", False, True
    elif kind == "Email":
        field.length = 80
    elif kind == "Phone":
        field.length = 40
    elif kind == "Url":
        field.length = 255
    elif kind in ("Picklist", "MultiselectPicklist"):
        definition = (metadata.get("valueSet") or {}).get("valueSetDefinition") if isinstance(metadata.get("valueSet"), dict) else None
        values = definition.get("value") if isinstance(definition, dict) else None
        if not isinstance(values, list) or not values or not all(isinstance(v, dict) and isinstance(v.get("fullName"), str) for v in values):
            raise _integrity(f"Must specify 'valueSet.valueSetDefinition.value' (a list of {{fullName, label}}) for a CustomField of type {kind}", ["valueSet"])
        names = [str(v["fullName"]) for v in values]
        if len(set(names)) != len(names):
            raise ApiError(400, "DUPLICATE_VALUE", f"Picklist value set contains duplicate values: {names}", ["valueSet"])
        field.picklist = tuple(names)
        field.restricted = bool(metadata["valueSet"].get("restricted"))
        field.default = next((str(v["fullName"]) for v in values if v.get("default")), None)
        field.length = 255 if kind == "Picklist" else 4099
        if kind == "MultiselectPicklist":
            _int(metadata, "visibleLines", kind, 3, 10)
    if field.external_id and kind not in ("Text", "Number", "Email"):
        raise _integrity(f"External ID: only Text, Number and Email fields can be external ids, not {kind}", ["externalId"])
    return field


@dataclasses.dataclass
class _Definition:
    id: str
    table: str
    developer_name: str
    field: FieldDef
    created_ms: int
    modified_ms: int


class CustomFields:
    """The org's custom field definitions (Tooling ``CustomField`` records) and their schema effects."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.definitions: dict[str, _Definition] = {}

    def _targets(self, table: str) -> list[ObjectDef]:
        if table.lower() == "activity":
            return [t.cast(ObjectDef, self.org.obj(n)) for n in _ACTIVITY]
        obj = self.org.obj(table)
        if obj is None or obj.name in _ACTIVITY or obj.custom_setup:
            raise _integrity(f"Entity Enumeration Or ID: bad value for restricted picklist field: {table}", ["TableEnumOrId"])
        return [obj]

    def create(self, full_name: t.Any, metadata: t.Any) -> str:
        """Add a field from ``FullName`` + ``Metadata``; returns the new ``00N`` id."""
        if not isinstance(full_name, str) or not full_name:
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName]", ["FullName"])
        table, _, name = full_name.partition(".")
        targets = self._targets(table)
        developer = name.removesuffix("__c")
        if not name.endswith("__c") or not DEVELOPER_NAME.fullmatch(developer) or len(developer) > 40:
            raise _integrity(f"Invalid field name {name!r}: a custom field name ends with __c and its API name can only contain underscores and alphanumeric "
                             "characters, begin with a letter, not end with an underscore, and not contain two consecutive underscores.", ["FullName"])
        field = field_from_metadata(name, metadata)
        if any(obj.field(name) is not None for obj in targets):
            raise ApiError(400, "DUPLICATE_VALUE", "duplicate value found: <unknown> duplicates value on record with id: <unknown>", [])
        record_id = self.org.ids.allocate("00N")
        field.record_id = record_id
        for obj in targets:
            obj.add(dataclasses.replace(field))
            for row in self.org.table(obj).values():
                row.setdefault(field.name, field.default if field.type == "boolean" else None)
        now = self.org.clock.now_ms()
        self.definitions[record_id] = _Definition(record_id, "Activity" if len(targets) > 1 else targets[0].name, developer, field, now, now)
        self.org.fls_changed()
        return record_id

    def get(self, record_id: str) -> _Definition:
        """A definition by id; 404 ``NOT_FOUND`` when there is none."""
        key = record_id[:15] if len(record_id) in (15, 18) else None
        definition = next((d for k, d in self.definitions.items() if k[:15] == key), None)
        if definition is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return definition

    def update(self, record_id: str, metadata: t.Any) -> None:
        """Replace a field's ``Metadata`` (label, length, picklist values...; its type cannot change)."""
        definition = self.get(record_id)
        field = field_from_metadata(definition.field.name, metadata)
        if field.type != definition.field.type:
            raise _integrity(f"Cannot change the type of {definition.table}.{definition.field.name} from {definition.field.metadata.get('type')} to {metadata.get('type')}", ["type"])
        field.record_id = definition.id
        definition.field, definition.modified_ms = field, self.org.clock.now_ms()
        for obj in self._targets(definition.table):
            obj.add(dataclasses.replace(field))
        self.org.fls_changed()

    def delete(self, record_id: str) -> None:
        """Remove a field, its values and its field permissions."""
        definition = self.get(record_id)
        for obj in self._targets(definition.table):
            obj.remove(definition.field.name)
            for row in self.org.table(obj).values():
                row.pop(definition.field.name, None)
            full = f"{obj.name}.{definition.field.name}".lower()
            for perm_id in [k for k, p in self.org.tables["fieldpermissions"].items() if str(p.get("Field", "")).lower() == full]:
                del self.org.tables["fieldpermissions"][perm_id]
        del self.definitions[definition.id]
        self.org.fls_changed()

    def record(self, definition: _Definition) -> Record:
        """The Tooling ``CustomField`` row of a definition."""
        metadata = copy.deepcopy(definition.field.metadata)
        return {"Id": definition.id, "DeveloperName": definition.developer_name, "TableEnumOrId": definition.table, "NamespacePrefix": None,
                "ManageableState": "unmanaged", "Description": metadata.get("description"), "InlineHelpText": metadata.get("inlineHelpText"),
                "FullName": f"{definition.table}.{definition.field.name}", "Metadata": metadata,
                "CreatedDate": definition.created_ms, "LastModifiedDate": definition.modified_ms}


class ToolingSource:
    """What a Tooling API query reads: ``CustomField`` rows (other Tooling objects are not served)."""

    def __init__(self, fields: CustomFields, version: str) -> None:
        self.fields, self.version, self.user_id = fields, version, ""

    def sobject(self, name: str) -> ObjectDef | None:
        """Only ``CustomField``."""
        return CUSTOM_FIELD if name.lower() == "customfield" else None

    def rows(self, obj: ObjectDef, include_deleted: bool) -> t.Iterable[Record]:
        """One row per custom field definition, in id order."""
        return [self.fields.record(d) for _, d in sorted(self.fields.definitions.items())]

    def lookup(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        """No relationships on CustomField here."""
        return None

    def visible(self, obj: ObjectDef, field: FieldDef) -> bool:
        """Every column is visible."""
        return True

    def url(self, obj: ObjectDef, record_id: str) -> str:
        """``/services/data/vXX.X/tooling/sobjects/CustomField/Id``."""
        return f"/services/data/v{self.version}/tooling/sobjects/{obj.name}/{record_id}"
