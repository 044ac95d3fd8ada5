"""The state file of ``connector score --state``: scoring state carried across offline runs.

The sync engine keeps each contact's :class:`~connector.scoring.result.ScoringState` (stage,
when it was entered, which triggers are armed) in its database; this file does the same for
``connector score``, so stage history and trigger arming can be tried on files: the first run
creates it, the next run with the same file continues (stages do not move back, a trigger that
fired does not fire again until its value has fallen below the threshold).

Format: JSON Lines, one object per contact and model, read back by
:func:`connector.scoring.rows.read_rows` like every other input::

    {"contact_id": "c001", "model": "b2b-saas", "as_of": "2026-11-01T00:00:00+00:00",
     "stage": "mql", "stage_entered_at": "2026-10-02T00:00:00+00:00",
     "armed": {"engagement_hot": false, "total_hot": true}}

``as_of`` is the instant of the scoring that wrote the line. Lines of contacts or models a run
does not score are kept as they are. The file is replaced atomically (written beside it, then
renamed), so a crash leaves the old state or the new one, never half of each.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import os
import pathlib
import typing as t

from connector.scoring.readers import RecordError, parse_datetime
from connector.scoring.result import ScoringState
from connector.scoring.rows import BadRow, file_kind, read_rows

__all__ = ["Entry", "read_states", "write_states"]

Key = tuple[str, str]  # (model, contact id)


@dc.dataclass(frozen=True, slots=True)
class Entry:
    """A contact's state under one model, and the instant it was scored at."""

    state: ScoringState
    as_of: dt.datetime


def read_states(path: str | pathlib.Path) -> tuple[dict[Key, Entry], list[RecordError]]:
    """Every entry of a state file, and every problem with its line (a missing file is empty).

    The file is the connector's own, so unlike a contacts export a bad line is not skipped: the
    caller stops on any problem rather than overwrite a state it could not read.
    """
    path = pathlib.Path(path)
    entries: dict[Key, Entry] = {}
    problems: list[RecordError] = []
    if file_kind(path) != "jsonl":
        problems.append(RecordError(str(path), None, "a state file is JSON Lines: name it .jsonl"))
        return entries, problems
    if not path.exists():
        return entries, problems
    seen: dict[Key, int] = {}
    for row in read_rows(path):
        if isinstance(row, BadRow):
            problems.append(RecordError(str(path), row.line, row.message))
            continue
        try:
            key, entry = _entry(row.values)
        except ValueError as exc:
            problems.append(RecordError(str(path), row.line, str(exc)))
            continue
        if key in seen:
            problems.append(RecordError(str(path), row.line, f"contact {key[1]!r} under model {key[0]!r} already has a state on line {seen[key]}"))
            continue
        seen[key] = row.line
        entries[key] = entry
    return entries, problems


def _entry(values: t.Mapping[str, t.Any]) -> tuple[Key, Entry]:
    """One line's key and entry; a ``ValueError`` says what is wrong with it."""
    unknown = sorted(set(values) - {"contact_id", "model", "as_of", "stage", "stage_entered_at", "armed"})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")
    ids = []
    for name in ("model", "contact_id"):
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: expected text, got {value!r}")
        ids.append(value)
    stage = values.get("stage")
    if stage is not None and not isinstance(stage, str):
        raise ValueError(f"stage: expected text or null, got {stage!r}")
    armed = values.get("armed") or {}
    if not isinstance(armed, dict) or not all(isinstance(v, bool) for v in armed.values()):
        raise ValueError(f"armed: expected an object of trigger id to true/false, got {armed!r}")
    entered = values.get("stage_entered_at")
    state = ScoringState(stage=stage, stage_entered_at=parse_datetime(entered, "stage_entered_at") if entered is not None else None, armed=armed)
    return (ids[0], ids[1]), Entry(state, parse_datetime(values.get("as_of"), "as_of"))


def write_states(path: str | pathlib.Path, entries: t.Mapping[Key, Entry]) -> None:
    """Write every entry (replacing the file atomically)."""
    path = pathlib.Path(path)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as fh:
        for (model, contact_id), entry in entries.items():
            line = {"contact_id": contact_id, "model": model, "as_of": entry.as_of.isoformat(), **entry.state.to_dict()}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
