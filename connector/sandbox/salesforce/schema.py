"""The shape of an org: sObjects and their fields, and how ``describe`` renders them.

Field properties follow the ``DescribeFieldResult`` of the REST ``sobjects/X/describe`` resource
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm):
``type`` (``id``, ``string``, ``picklist``, ``reference``, ``boolean``, ``double``, ``currency``, ``percent``,
``int``, ``date``, ``datetime``, ``email``, ``phone``, ``url``, ``textarea``, ``multipicklist``,
``combobox``), ``length``, ``precision``/``scale``, ``nillable``, ``createable``, ``updateable``,
``custom``, ``picklistValues``, ``referenceTo``/``relationshipName``. Names are case-insensitive
everywhere (SOQL, JSON bodies, CSV headers); answers use the declared spelling.
"""

from __future__ import annotations

import dataclasses
import typing as t

__all__ = ["NUMERIC_TYPES", "STRING_TYPES", "FieldDef", "ObjectDef"]

STRING_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox", "id", "reference", "encryptedstring"})
NUMERIC_TYPES = frozenset({"double", "currency", "percent", "int"})
_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "double": "xsd:double", "currency": "xsd:double",
    "percent": "xsd:double", "int": "xsd:int", "date": "xsd:date", "datetime": "xsd:dateTime",
}


@dataclasses.dataclass
class FieldDef:
    """One field of an sObject (standard or custom)."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: t.Any = None
    default_on_create: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    external_id: bool = False
    unique: bool = False
    calculated: bool = False
    name_field: bool = False
    id_lookup: bool = False
    case_sensitive: bool = False
    permissionable: bool = True
    record_id: str | None = None
    metadata: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").replace("_", " ")

    @property
    def required_on_create(self) -> bool:
        """A value must be given on insert (not nillable, writable, no default)."""
        return not self.nillable and self.createable and not self.default_on_create and self.type != "boolean"

    @property
    def sortable(self) -> bool:
        """Long text and multi-select picklists cannot be sorted or filtered on."""
        return not (self.type == "textarea" and self.length > 255) and self.type != "multipicklist"

    def describe(self) -> dict[str, t.Any]:
        """The field's ``DescribeFieldResult`` JSON."""
        is_text = self.type in STRING_TYPES
        return {
            "aggregatable": self.sortable and self.type not in ("boolean",),
            "autoNumber": False,
            "byteLength": self.length * 3 if is_text else 0,
            "calculated": self.calculated,
            "caseSensitive": self.case_sensitive,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default if self.type == "boolean" and self.default is not None else None,
            "defaultedOnCreate": self.default_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "externalId": self.external_id,
            "extraTypeInfo": "plaintextarea" if self.type == "textarea" else None,
            "filterable": self.sortable,
            "groupable": self.sortable and self.type not in NUMERIC_TYPES and self.type != "datetime",
            "idLookup": self.id_lookup,
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length if is_text else 0,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": len(self.reference_to) > 1,
            "nillable": self.nillable,
            "permissionable": self.permissionable,
            "picklistValues": [
                {"active": True, "defaultValue": value == self.default, "label": value, "validFor": None, "value": value}
                for value in self.picklist
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedPicklist": self.restricted,
            "scale": self.scale,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
        }


@dataclasses.dataclass
class ObjectDef:
    """One sObject type: its key prefix, capabilities and fields (in declaration order)."""

    name: str
    key_prefix: str
    label: str
    label_plural: str
    fields: dict[str, FieldDef] = dataclasses.field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    mergeable: bool = False
    custom_setup: bool = False

    def add(self, field: FieldDef) -> None:
        """Add or replace a field."""
        self.fields[field.name.lower()] = field
        self._required = self._template = self._references = None

    def remove(self, name: str) -> None:
        """Remove a (custom) field."""
        self.fields.pop(name.lower(), None)
        self._required = self._template = self._references = None

    _required: list[FieldDef] | None = None
    _template: dict[str, t.Any] | None = None
    _references: dict[str, FieldDef] | None = None

    @property
    def required(self) -> list[FieldDef]:
        """Fields an insert must give (computed once per schema change: every insert checks them)."""
        if self._required is None:
            self._required = [f for f in self.fields.values() if f.required_on_create and f.name != "OwnerId"]
        return self._required

    @property
    def template(self) -> dict[str, t.Any]:
        """A new record's values before the insert's own: booleans false or their default, picklist defaults, else null."""
        if self._template is None or len(self._template) != len(self.fields):
            self._template = {f.name: (bool(f.default) if f.type == "boolean" else f.default if f.default_on_create else None) for f in self.fields.values()}
        return self._template

    @property
    def references(self) -> dict[str, FieldDef]:
        """Reference fields a write must check (declared name -> field), audit fields excluded."""
        if self._references is None:
            audit = ("CreatedById", "LastModifiedById")
            self._references = {f.name: f for f in self.fields.values() if f.type == "reference" and f.reference_to and f.name not in audit}
        return self._references

    def field(self, name: str) -> FieldDef | None:
        """The field named so, any case."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (``Owner`` -> ``OwnerId``), any case."""
        lower = name.lower()
        for field in self.fields.values():
            if field.relationship_name is not None and field.relationship_name.lower() == lower:
                return field
        return None

    @property
    def has_is_deleted(self) -> bool:
        """Objects with a recycle bin have ``IsDeleted`` (User and setup objects do not)."""
        return "isdeleted" in self.fields

    def urls(self, version: str) -> dict[str, str]:
        """The ``urls`` map of a describe answer."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def summary(self, version: str) -> dict[str, t.Any]:
        """The object's entry in ``GET sobjects`` (a ``DescribeGlobalSObjectResult``)."""
        return {
            "activateable": False, "createable": self.createable, "custom": False, "customSetting": False,
            "deletable": self.deletable, "deprecatedAndHidden": False, "feedEnabled": False, "hasSubtypes": False,
            "isSubtype": False, "keyPrefix": self.key_prefix, "label": self.label, "labelPlural": self.label_plural,
            "layoutable": not self.custom_setup, "mergeable": self.mergeable, "mruEnabled": not self.custom_setup, "name": self.name,
            "queryable": True, "replicateable": True, "retrieveable": True, "searchable": not self.custom_setup,
            "triggerable": not self.custom_setup, "undeletable": self.has_is_deleted, "updateable": self.updateable,
            "urls": self.urls(version),
        }
