"""Field values on the way in: JSON bodies and Bulk API CSV cells turned into stored Python values.

Stored forms: text kinds as ``str``, ``boolean`` as ``bool``, ``int`` as ``int``, ``double``/``currency``/
``percent`` as ``float``, ``date`` as ``YYYY-MM-DD`` text, ``datetime`` as epoch ms, references as
18-character ids. Two kinds of failure, as in Salesforce: a JSON value that cannot be deserialized
into the field's type fails the whole request (``JSON_PARSER_ERROR``), while a value of the right
type that breaks a rule (too long, not in a restricted picklist, bad e-mail, out of range, malformed
id) fails only its record with the field named (``STRING_TOO_LONG``,
``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``, ...). In CSV every cell is text, so a type mismatch is a
row error ``INVALID_TYPE_ON_FIELD_IN_RECORD``; an empty cell leaves the field unchanged and ``#N/A``
clears it (Bulk API data-file rules).
"""

from __future__ import annotations

import math
import re
import typing as t

from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.errors import RecordError, malformed_request
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.schema import FieldDef

__all__ = ["UNCHANGED", "coerce_csv", "coerce_json", "output_value"]

UNCHANGED = object()
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _deserialize_error(field: FieldDef, value: t.Any, kind: str) -> Exception:
    token = "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER_INT" if isinstance(value, int) else "START_OBJECT" if isinstance(value, dict) else "START_ARRAY" if isinstance(value, list) else "VALUE_TRUE"
    return malformed_request(f"Cannot deserialize instance of {kind} from {token} value {value} or request may be missing a required field")


def coerce_json(field: FieldDef, value: t.Any) -> t.Any:
    """The stored value for a JSON value; raises ``ApiError`` (whole request) or ``RecordError`` (this record)."""
    if value is None:
        return False if field.type == "boolean" else None
    if isinstance(value, (dict, list)):
        raise _deserialize_error(field, value, _json_kind(field))
    kind = field.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _deserialize_error(field, value, "boolean")
    if kind in ("double", "currency", "percent", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or (isinstance(value, str) and not _NUMBER.fullmatch(value.strip())):
            raise _deserialize_error(field, value, _json_kind(field))
        return _number(field, value)
    if kind in ("date", "datetime"):
        if not isinstance(value, str):
            raise _deserialize_error(field, value, _json_kind(field))
        try:
            return timefmt.parse_date(value) if kind == "date" else timefmt.parse_datetime(value)
        except ValueError as exc:
            raise _deserialize_error(field, value, _json_kind(field)) from exc
    text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False else str(value))
    return _text(field, text)


def coerce_csv(field: FieldDef, cell: str) -> t.Any:
    """The stored value for a Bulk API CSV cell (``UNCHANGED`` for an empty one); raises ``RecordError``."""
    if cell == "":
        return UNCHANGED
    if cell == "#N/A":
        return False if field.type == "boolean" else None
    kind = field.type
    try:
        if kind == "boolean":
            lowered = cell.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(cell)
        if kind in ("double", "currency", "percent", "int"):
            if not _NUMBER.fullmatch(cell.strip()):
                raise ValueError(cell)
            return _number(field, cell)
        if kind == "date":
            return timefmt.parse_date(cell)
        if kind == "datetime":
            return timefmt.parse_datetime(cell)
    except ValueError as exc:
        raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{field.label}: value not of required type: {cell}", (field.name,)) from exc
    return _text(field, cell)


def _json_kind(field: FieldDef) -> str:
    return {"double": "double", "currency": "double", "percent": "double", "int": "int", "date": "date", "datetime": "datetime", "boolean": "boolean"}.get(field.type, "String")


def _number(field: FieldDef, value: t.Any) -> int | float:
    number = float(value)
    if not math.isfinite(number):
        raise RecordError("NUMBER_OUTSIDE_VALID_RANGE", f"{field.label}: value outside of valid range on numeric field: {value}", (field.name,))
    if field.type == "int":
        if number != int(number) or abs(number) >= 10 ** (field.digits or 9):
            raise RecordError("NUMBER_OUTSIDE_VALID_RANGE", f"{field.label}: value outside of valid range on numeric field: {value}", (field.name,))
        return int(number)
    scale = field.scale
    rounded = round(number, scale)
    if field.precision and abs(rounded) >= 10 ** (field.precision - scale):
        raise RecordError("NUMBER_OUTSIDE_VALID_RANGE", f"{field.label}: value outside of valid range on numeric field: {value}", (field.name,))
    return rounded


def _text(field: FieldDef, text: str) -> str | None:
    kind = field.type
    if text == "":
        return None
    if kind in ("reference", "id"):
        normalized = normalize_id(text)
        if normalized is None:
            raise RecordError("MALFORMED_ID", f"{field.label}: id value of incorrect type: {text}", (field.name,))
        return normalized
    if kind == "email" and not _EMAIL.fullmatch(text):
        raise RecordError("INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {text}", (field.name,))
    if kind == "picklist" and field.restricted and text not in field.picklist:
        raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"{field.label}: bad value for restricted picklist field: {text}", (field.name,))
    if kind == "multipicklist" and field.restricted:
        bad = [v for v in text.split(";") if v not in field.picklist]
        if bad:
            raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"{field.label}: bad value for restricted picklist field: {bad[0]}", (field.name,))
    if field.length and len(text) > field.length:
        raise RecordError("STRING_TOO_LONG", f"{field.label}: data value too large: {text[:40]} (max length={field.length})", (field.name,))
    return text


def output_value(field: FieldDef, value: t.Any) -> t.Any:
    """The JSON value of a stored value in an answer (date-times formatted, everything else as stored)."""
    if value is None:
        return None
    if field.type == "datetime":
        return timefmt.format_datetime(int(value))
    return value
