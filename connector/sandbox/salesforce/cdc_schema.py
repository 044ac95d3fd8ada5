"""Avro schemas and payloads of the org's change events (``LeadChangeEvent``, ``ContactChangeEvent``).

Shape, as the Change Data Capture Developer Guide describes a Pub/Sub API event
(https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_message_structure.htm,
``cdc_event_fields_header.htm``): a record ``<Object>ChangeEvent`` in namespace ``com.sforce.eventbus``
whose first field is ``ChangeEventHeader`` (``entityName``, ``recordIds``, ``changeType``,
``changeOrigin``, ``transactionKey``, ``sequenceNumber``, ``commitTimestamp``, ``commitNumber``,
``commitUser``, ``nulledFields``, ``diffFields``, ``changedFields``), then one optional
(``["null", T]``) field per record field. ``IsDeleted`` and ``SystemModstamp`` are not in change
events (the guide's list of excluded fields). Every record field is present in the payload; fields
that did not change are null (the "Differences Between Change Events Received with Streaming API vs.
Pub/Sub API" page). Date-times are epoch milliseconds (``long``), dates epoch days (``int``,
logical type ``date``) -- "Date fields are in Epoch time".

``changedFields``/``nulledFields`` are bitmaps as the Pub/Sub API guide's "Event Deserialization
Considerations" says: a list of strings whose first element is ``0x`` + hex of a bitmap in which bit
*i* (least significant first) marks the field at position *i* of the Avro schema. Documented
simplification: no compound fields (``Name``, ``Address`` are flat fields here), so there are never
the ``"<parentPos>-0x.."`` elements of nested fields, and ``diffFields`` is always empty.

The schema id is a fingerprint of the schema JSON; adding a custom field changes the schema and its
id, so a subscriber must look schemas up by the id each event carries.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import typing as t

import fastavro

from connector.sandbox.salesforce.schema import FieldDef, ObjectDef

__all__ = ["CHANGE_TYPES", "ChangeSchema", "SchemaRegistry", "bitmap"]

CHANGE_TYPES = ("CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW", "SNAPSHOT")
EXCLUDED = frozenset({"IsDeleted", "SystemModstamp"})
_EPOCH = dt.date(1970, 1, 1)

_HEADER: dict[str, t.Any] = {
    "type": "record", "name": "ChangeEventHeader", "namespace": "com.sforce.eventbus",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "namespace": "com.sforce.eventbus", "symbols": list(CHANGE_TYPES)}},
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
        {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        {"name": "changedFields", "type": {"type": "array", "items": "string"}},
    ],
}


def _avro_type(field: FieldDef) -> t.Any:
    if field.type == "boolean":
        return "boolean"
    if field.type == "int":
        return "int"
    if field.type in ("double", "currency", "percent"):
        return "double"
    if field.type == "datetime":
        return "long"
    if field.type == "date":
        return {"type": "int", "logicalType": "date"}
    return "string"


def bitmap(positions: t.Iterable[int]) -> list[str]:
    """The bitmap-field value for top-level field positions (``[]`` when none)."""
    value = 0
    for position in positions:
        value |= 1 << position
    if not value:
        return []
    digits = f"{value:X}"
    return ["0x" + digits.zfill(len(digits) + len(digits) % 2)]


class ChangeSchema:
    """One object's change-event schema: its JSON, id, field order and encoder."""

    def __init__(self, obj: ObjectDef) -> None:
        self.entity = obj.name
        self.fields = [f for f in obj.fields.values() if f.name not in EXCLUDED]
        self.kinds = {f.name: f.type for f in self.fields}
        self.position = {f.name: i + 1 for i, f in enumerate(self.fields)}  # position 0 is ChangeEventHeader
        schema = {
            "type": "record", "name": f"{obj.name}ChangeEvent", "namespace": "com.sforce.eventbus",
            "fields": [{"name": "ChangeEventHeader", "type": _HEADER}]
            + [{"name": f.name, "type": ["null", _avro_type(f)], "default": None} for f in self.fields],
        }
        self.json = json.dumps(schema, separators=(",", ":"))
        self.schema_id = base64.urlsafe_b64encode(hashlib.sha256(self.json.encode()).digest()[:16]).decode().rstrip("=")
        self._parsed = fastavro.parse_schema(schema)

    def _value(self, name: str, value: t.Any) -> t.Any:
        if value is None:
            return None
        kind = self.kinds[name]
        if kind == "date":
            return (dt.date.fromisoformat(str(value)) - _EPOCH).days
        if kind == "datetime":
            return int(value)
        if kind in ("double", "currency", "percent"):
            return float(value)
        if kind in ("int", "boolean"):
            return value
        return str(value)

    def encode(self, header: dict[str, t.Any], record: t.Mapping[str, t.Any], shown: t.Collection[str], nulled: t.Collection[str]) -> bytes:
        """Avro binary of one event: ``shown`` fields carry the record's values, every other field is null."""
        body: dict[str, t.Any] = {"ChangeEventHeader": {**header, "nulledFields": bitmap(self.position[n] for n in nulled if n in self.position)}}
        for field in self.fields:
            body[field.name] = self._value(field.name, record.get(field.name)) if field.name in shown else None
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self._parsed, body)
        return out.getvalue()

    def changed_bitmap(self, names: t.Iterable[str]) -> list[str]:
        """``changedFields`` for these field names."""
        return bitmap(self.position[n] for n in names if n in self.position)


class SchemaRegistry:
    """Schemas by entity (rebuilt when the object's fields change) and by id (every version ever served)."""

    def __init__(self) -> None:
        self._current: dict[str, tuple[tuple[str, ...], ChangeSchema]] = {}
        self.by_id: dict[str, ChangeSchema] = {}

    def for_object(self, obj: ObjectDef) -> ChangeSchema:
        """The current schema of an object's change events."""
        shape = tuple(f"{f.name}:{f.type}" for f in obj.fields.values())
        known = self._current.get(obj.name)
        if known is not None and known[0] == shape:
            return known[1]
        schema = ChangeSchema(obj)
        self._current[obj.name] = (shape, schema)
        self.by_id[schema.schema_id] = schema
        return schema
