"""Decoding Salesforce change events: Avro payloads with schemas fetched by id, and the bitmap header fields.

Pub/Sub API guide, "Event Data Serialization with Apache Avro": payloads are Avro binary without the
schema; each ``ProducerEvent`` names its ``schema_id``, whose JSON ``GetSchema`` returns. Schemas
change (a new custom field) and are immutable per id, so they are cached by id for the life of the
process. "Event Deserialization Considerations": ``changedFields``/``nulledFields``/``diffFields``
are lists of strings; the first, ``0x...``, is a bitmap of top-level field positions in the schema
(bit *i* counted from the least significant end of the hex number); elements ``"<pos>-0x..."`` are
bitmaps of the sub-fields of the compound field at position ``pos`` (named ``Parent.Child``).
"""

from __future__ import annotations

import io
import json
import threading
import typing as t

import fastavro

__all__ = ["SchemaCache", "field_names"]

#: The schema of a change event as fastavro parses it (a JSON-like tree).
AvroSchema = dict[str, t.Any]


def _record_fields(schema: t.Any) -> list[dict[str, t.Any]] | None:
    """The fields of a record schema, or of the record inside an optional union ``["null", record]``."""
    if isinstance(schema, list):
        records = [s for s in schema if isinstance(s, dict) and s.get("type") == "record"]
        return records[0]["fields"] if records else None
    if isinstance(schema, dict) and schema.get("type") == "record":
        return t.cast(list[dict[str, t.Any]], schema["fields"])
    return None


def _bits(hex_text: str) -> list[int]:
    value = int(hex_text, 16)
    return [i for i in range(value.bit_length()) if value >> i & 1]


def field_names(schema: AvroSchema, bitmap: t.Sequence[str]) -> tuple[str, ...]:
    """The field names a bitmap header field marks (``[]`` -> ``()``); unknown positions are skipped."""
    fields = schema["fields"]
    names: list[str] = []
    for element in bitmap:
        parent, _, bits = element.rpartition("-")
        if not parent:
            names += [fields[i]["name"] for i in _bits(bits) if i < len(fields)]
            continue
        position = int(parent)
        nested = _record_fields(fields[position]["type"]) if position < len(fields) else None
        if nested is not None:
            names += [f"{fields[position]['name']}.{nested[i]['name']}" for i in _bits(bits) if i < len(nested)]
    return tuple(names)


class SchemaCache:
    """Parsed schemas by schema id, fetched once through ``fetch(schema_id) -> schema JSON``."""

    def __init__(self, fetch: t.Callable[[str], str]) -> None:
        self._fetch = fetch
        self._schemas: dict[str, tuple[AvroSchema, t.Any]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, schema_id: str) -> tuple[AvroSchema, t.Any]:
        """(schema JSON as a dict, fastavro parsed schema) of an id."""
        with self._lock:
            known = self._schemas.get(schema_id)
        if known is not None:
            return known
        raw = json.loads(self._fetch(schema_id))
        entry = (raw, fastavro.parse_schema(raw))
        with self._lock:
            self._schemas[schema_id] = entry
            self.fetches += 1
        return entry

    def decode(self, schema_id: str, payload: bytes) -> tuple[AvroSchema, dict[str, t.Any]]:
        """(schema, decoded record) of one payload."""
        raw, parsed = self.get(schema_id)
        return raw, t.cast(dict[str, t.Any], fastavro.schemaless_reader(io.BytesIO(payload), parsed))
