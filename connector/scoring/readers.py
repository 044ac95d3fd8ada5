"""Read canonical records from JSON Lines or CSV files, reporting bad lines by file:line.

The format follows the file name: ``.csv`` is CSV (one column per property, a header row),
``.jsonl``, ``.ndjson`` and ``.json`` are JSON Lines (one object per line, blank lines skipped);
:mod:`connector.scoring.rows` reads the lines (encodings, strict CSV, line numbers). Blank values
and placeholder values (``Select`` by default) mean missing and are dropped from
properties/attributes.

A bad line raises :class:`RecordError`, or, when ``on_error`` is given, is handed to it and
reading goes on; so the CLI can score the good records and list the bad lines at the end.
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
import typing as t

from connector.scoring.conditions import is_missing
from connector.scoring.records import Activity, Adjustment, Contact, Identity, utc
from connector.scoring.rows import BadRow, file_kind, read_rows

__all__ = [
    "DEFAULT_PLACEHOLDERS",
    "RecordError",
    "parse_datetime",
    "read_activities",
    "read_adjustments",
    "read_contacts",
    "read_identities",
]

#: Values that mean "nobody answered" unless the caller passes its own list.
DEFAULT_PLACEHOLDERS: frozenset[str] = frozenset({"Select"})

OnError = t.Callable[["RecordError"], None]
_ACTIVITY_KEYS = ("id", "type", "occurred_at", "contact_id", "anonymous_id")


class RecordError(ValueError):
    """One unusable record, with the file and the 1-based line it starts on."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")


class _Bad(ValueError):
    """A record-level problem; the reading loop adds file and line."""


def parse_datetime(value: t.Any, key: str) -> dt.datetime:
    """ISO 8601 text (``Z`` allowed, date-only means midnight) as an aware UTC datetime; naive = UTC."""
    if isinstance(value, dt.datetime):
        return utc(value)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{key}: expected an ISO 8601 date-time text, got {value!r}")
    try:
        return utc(dt.datetime.fromisoformat(value.strip()))
    except ValueError:
        raise _Bad(f"{key}: {value!r} is not an ISO 8601 date-time (e.g. 2024-05-01T09:30:00Z)") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise _Bad(f"{key}: {value!r} is outside the years a date-time can have in UTC") from None


def _text(record: t.Mapping[str, t.Any], key: str, *, required: bool = True) -> str | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad(f"{key}: required, missing or blank")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Bad(f"{key}: expected text, got {type(value).__name__} {value!r}")
    return str(value).strip()


def _number(record: t.Mapping[str, t.Any], key: str) -> float:
    value = record.get(key)
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _Bad(f"{key}: expected a number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise _Bad(f"{key}: expected a finite number, got {value!r}")
    return number


def _clean(values: t.Mapping[str, t.Any], placeholders: frozenset[str]) -> dict[str, t.Any]:
    """Drop blank and placeholder values so they read as missing everywhere downstream."""
    out: dict[str, t.Any] = {}
    for key, value in values.items():
        if is_missing(value, placeholders):
            continue
        out[key] = value.strip() if isinstance(value, str) else value
    return out


R = t.TypeVar("R")


def _read(
    path: str | pathlib.Path,
    build: t.Callable[[t.Mapping[str, t.Any], bool, int], R],
    on_error: OnError | None,
    columns: t.Sequence[str] = (),
) -> t.Iterator[R]:
    """One record per row of :func:`~connector.scoring.rows.read_rows`; bad rows go to ``on_error``.

    Without ``on_error`` the first bad row raises :class:`RecordError`. ``columns`` are CSV columns the records need: a header without one is a single problem on
    its line, not one per row.
    """
    path = pathlib.Path(path)
    is_csv = file_kind(path) == "csv"
    for row in read_rows(path, required=columns):
        try:
            if isinstance(row, BadRow):
                raise _Bad(row.message)
            yield build(row.values, is_csv, row.line)
        except _Bad as exc:
            error = RecordError(str(path), row.line, str(exc))
            if on_error is None:
                raise error from None
            on_error(error)


def read_contacts(
    path: str | pathlib.Path,
    *,
    id_column: str | None = None,
    placeholders: t.Collection[str] = DEFAULT_PLACEHOLDERS,
    on_error: OnError | None = None,
) -> t.Iterator[Contact]:
    """Contacts from ``{"id", "email", "properties", "updated_at"}`` lines or a CSV with a column per property.

    ``id_column`` names the id column (CSV; default ``id``) or key (JSON Lines: top level, then
    properties). A repeated id is reported on its second line and skipped.
    """
    ph = frozenset(placeholders)
    seen: dict[str, int] = {}
    id_key = id_column or "id"

    def build(row: t.Mapping[str, t.Any], is_csv: bool, line: int) -> Contact:
        if is_csv:
            props = _clean({k: v for k, v in row.items() if k != id_key}, ph)
            email = next((v for k, v in props.items() if k.casefold() in ("email", "e-mail", "email address")), None)
            updated = props.pop("updated_at", None)
            cid = _text(row, id_key)
        else:
            raw_props = row.get("properties", {})
            if not isinstance(raw_props, dict):
                raise _Bad(f"properties: expected an object, got {type(raw_props).__name__}")
            props = _clean(raw_props, ph)
            source = row if id_key in row else props
            cid = _text(source, id_key)
            email = row.get("email") if not is_missing(row.get("email"), ph) else props.get("email")
            updated = row.get("updated_at")
        if email is not None and not isinstance(email, str):
            raise _Bad(f"email: expected text, got {email!r}")
        cid = t.cast(str, cid)
        if cid in seen:
            raise _Bad(f"contact id {cid!r} already appeared on line {seen[cid]}; this repeat is skipped")
        seen[cid] = line
        return Contact(
            id=cid,
            email=email.strip() if isinstance(email, str) else None,
            properties=props,
            updated_at=parse_datetime(updated, "updated_at") if updated not in (None, "") else None,
        )

    return _read(path, build, on_error, (id_key,))


def read_activities(
    path: str | pathlib.Path,
    *,
    placeholders: t.Collection[str] = DEFAULT_PLACEHOLDERS,
    on_error: OnError | None = None,
) -> t.Iterator[Activity]:
    """Activities from ``{"id", "contact_id" | "anonymous_id", "type", "occurred_at", "attributes"}``.

    In CSV the columns outside those keys are the attributes.
    """
    ph = frozenset(placeholders)

    def build(row: t.Mapping[str, t.Any], is_csv: bool, line: int) -> Activity:
        if is_csv:
            attrs = _clean({k: v for k, v in row.items() if k not in _ACTIVITY_KEYS}, ph)
        else:
            attrs = row.get("attributes", {})
            if attrs is None:
                attrs = {}
            if not isinstance(attrs, dict):
                raise _Bad(f"attributes: expected an object, got {type(attrs).__name__}")
            attrs = _clean(attrs, ph)
        contact_id = _text(row, "contact_id", required=False)
        anonymous_id = _text(row, "anonymous_id", required=False)
        if contact_id is None and anonymous_id is None:
            raise _Bad("needs a contact_id or an anonymous_id")
        return Activity(
            id=t.cast(str, _text(row, "id")),
            type=t.cast(str, _text(row, "type")),
            occurred_at=parse_datetime(row.get("occurred_at"), "occurred_at"),
            contact_id=contact_id,
            attributes=attrs,
            anonymous_id=anonymous_id,
        )

    return _read(path, build, on_error, ("id", "type", "occurred_at"))


def read_adjustments(path: str | pathlib.Path, *, on_error: OnError | None = None) -> t.Iterator[Adjustment]:
    """Manual adjustments ``{"contact_id", "dimension", "points", "reason", "by", "at"}``."""

    def build(row: t.Mapping[str, t.Any], is_csv: bool, line: int) -> Adjustment:
        return Adjustment(
            contact_id=t.cast(str, _text(row, "contact_id")),
            dimension=t.cast(str, _text(row, "dimension")),
            points=_number(row, "points"),
            reason=t.cast(str, _text(row, "reason")),
            by=t.cast(str, _text(row, "by")),
            at=parse_datetime(row.get("at"), "at"),
        )

    return _read(path, build, on_error, ("contact_id", "dimension", "points", "reason", "by", "at"))


def read_identities(path: str | pathlib.Path, *, on_error: OnError | None = None) -> t.Iterator[Identity]:
    """Identity links ``{"anonymous_id", "contact_id"}``."""

    def build(row: t.Mapping[str, t.Any], is_csv: bool, line: int) -> Identity:
        return Identity(anonymous_id=t.cast(str, _text(row, "anonymous_id")), contact_id=t.cast(str, _text(row, "contact_id")))

    return _read(path, build, on_error, ("anonymous_id", "contact_id"))
