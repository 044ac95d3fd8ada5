"""Read a labelled contacts file (CSV or JSONL) and an optional activities file for learning.

The learner works on canonical records (:class:`Contact`, :class:`Activity`) so that the features
it trains on are computed by the same code that scores later. A row that cannot be used (bad JSON,
an unknown label value, an activity without a date) is set aside with its line number and reported;
the rest goes on.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import pathlib
import typing as t

from connector.scoring import readers as scoring_readers
from connector.scoring import rows as scoring_rows
from connector.scoring.readers import RecordError
from connector.scoring.records import Activity, Contact

__all__ = [
    "LABEL_VALUES",
    "DataError",
    "LearningData",
    "Skipped",
    "parse_label",
    "read_activities",
    "read_labelled_contacts",
    "read_rows",
]

#: Accepted label spellings (compared case-insensitively, after strip).
LABEL_VALUES: dict[str, int] = {
    "1": 1, "0": 0, "1.0": 1, "0.0": 0,
    "yes": 1, "no": 0, "y": 1, "n": 0,
    "true": 1, "false": 0, "t": 1, "f": 0,
}


class DataError(ValueError):
    """The input cannot be learned from; the message says what is wrong and where."""


@dc.dataclass(frozen=True, slots=True)
class Skipped:
    """A row set aside: where it was and why."""

    line: int
    reason: str


@dc.dataclass
class LearningData:
    """Labelled contacts, their activities, and what was set aside on the way in."""

    contacts: list[Contact]
    labels: list[int]
    columns: list[str]
    activities: dict[str, list[Activity]]
    as_of: dt.datetime
    skipped: list[Skipped] = dc.field(default_factory=list)
    unlabelled: int = 0
    #: Things the reader noticed that the user should hear about (become warnings).
    notes: list[str] = dc.field(default_factory=list)


def parse_label(value: t.Any) -> int | None:
    """1/0 from ``1/0``, ``yes/no``, ``true/false`` (any case); ``None`` when unrecognised."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    return LABEL_VALUES.get(str(value).strip().casefold())


def read_rows(path: pathlib.Path) -> tuple[list[tuple[int, dict[str, t.Any]]], list[Skipped]]:
    """Rows of a ``.csv`` or ``.jsonl`` file with their 1-based line numbers; broken rows set aside.

    Read by :func:`connector.scoring.rows.read_rows`, the reader ``connector score`` uses too
    (strict CSV, encodings, line numbers); a problem with the file as a whole is a
    :class:`DataError`.
    """
    path = pathlib.Path(path)
    rows: list[tuple[int, dict[str, t.Any]]] = []
    skipped: list[Skipped] = []
    for row in scoring_rows.read_rows(path):
        if isinstance(row, scoring_rows.BadRow):
            if row.final:
                where = f"{path}:{row.line}" if row.line else f"{path}"
                raise DataError(f"{where}: {row.message}")
            skipped.append(Skipped(t.cast(int, row.line), row.message))
            continue
        obj = row.values
        nested = obj.get("properties")
        if isinstance(nested, dict):
            # The contacts format of `connector score`: {"id", "email", "properties": {...}}.
            obj = {**{k: v for k, v in obj.items() if k != "properties"}, **nested}
        rows.append((row.line, obj))
    return rows, skipped


def read_labelled_contacts(
    path: pathlib.Path,
    *,
    label: str,
    id_column: str | None = None,
) -> tuple[list[Contact], list[int], list[str], list[Skipped], int]:
    """Contacts with a recognised label; returns (contacts, labels, columns, skipped, unlabelled).

    The id comes from ``id_column``, else from an ``id`` column when there is one, else the row's
    line number (``row-12``). JSONL lines may be flat objects or ``{"id", "properties": {...}}``.
    """
    rows, skipped = read_rows(path)
    if not rows:
        raise DataError(f"{path}: no rows to learn from")
    columns: list[str] = []
    for _, row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    if label not in columns:
        raise DataError(f"{path}: no label column '{label}' (columns: {', '.join(columns[:30])})")
    if id_column is not None and id_column not in columns:
        raise DataError(f"{path}: no id column '{id_column}' (columns: {', '.join(columns[:30])})")
    if id_column is None and "id" in columns:
        id_column = "id"  # the default of connector score's readers
    contacts: list[Contact] = []
    labels: list[int] = []
    unlabelled = 0
    seen: set[str] = set()
    for line, row in rows:
        raw = row.get(label)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            unlabelled += 1
            continue
        value = parse_label(raw)
        if value is None:
            skipped.append(Skipped(line, f"label {label}={raw!r} is not 1/0, yes/no or true/false"))
            continue
        cid = str(row.get(id_column, "")).strip() if id_column else f"row-{line}"
        if not cid:
            skipped.append(Skipped(line, f"empty id in column '{id_column}'"))
            continue
        if cid in seen:
            skipped.append(Skipped(line, f"duplicate id {cid!r}"))
            continue
        seen.add(cid)
        props = {k: v for k, v in row.items() if k != label and k != id_column}
        contacts.append(Contact(id=cid, email=_email(props), properties=props))
        labels.append(value)
    feature_columns = [c for c in columns if c != label and c != id_column]
    return contacts, labels, feature_columns, skipped, unlabelled


def _email(props: t.Mapping[str, t.Any]) -> str | None:
    value = props.get("email")
    return str(value) if isinstance(value, str) and "@" in value else None


def read_activities(path: pathlib.Path, placeholders: t.Collection[str] = scoring_readers.DEFAULT_PLACEHOLDERS) -> tuple[dict[str, list[Activity]], list[Skipped]]:
    """Activities by contact id, read by :func:`connector.scoring.readers.read_activities`.

    Same file format as ``connector score --activities``; unusable lines are set aside with their
    line. Anonymous activities (no ``contact_id``) are not linked to anyone here and are ignored.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    skipped: list[Skipped] = []

    def keep(error: RecordError) -> None:
        skipped.append(Skipped(error.line or 0, error.message))

    out: dict[str, list[Activity]] = {}
    for act in scoring_readers.read_activities(path, placeholders=placeholders, on_error=keep):
        if act.contact_id is not None:
            out.setdefault(act.contact_id, []).append(act)
    return out, skipped
