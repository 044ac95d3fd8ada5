"""A CRM's stored scores read in one scan, as plain columns another process can take over.

Why a scan of its own: the full rescore's scoring worker (:mod:`connector.sync.score_worker`)
reads the contacts first and nothing can be committed until it has read the whole portal, while
the run's process waits for its first chunk. So the run reads the scores meanwhile
(:func:`read_scores`) and hands them over; the worker only puts them in its contact rows
(:func:`align_scores`). Measured at a million contacts: docs/operations.md, "Twelfth round".

The scan is plain data: per model, each score row's contact id, fingerprint and digest, and the
codes of its state and stage texts, each distinct text decoded once (a portal's million states
are a few thousand distinct texts).
"""

from __future__ import annotations

import dataclasses as dc
import itertools
import json
import typing as t

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from connector.scoring.columns import NO_TIME, PreviousColumns, to_micros
from connector.scoring.model import ScoringModel
from connector.scoring.result import ScoringState
from connector.sync.driverread import chunks, collector_paused, placeholder

__all__ = ["HASH", "ModelScores", "ModelStates", "align_scores", "read_by_run", "read_scores", "scores_on", "scores_scan"]

#: Stored fingerprints and digests (32 hex digits) as fixed-width bytes: 32 bytes a contact and model
#: instead of an 81-byte string object each (a million contacts, two models, both: 320 MB less).
HASH = np.dtype("S32")


@dc.dataclass
class ModelStates:
    """One model's stored scores, aligned with the portal's contact rows."""

    previous: PreviousColumns
    #: per contact row: the stored fingerprint, ASCII in :data:`HASH` (``b""``: no score row, or none stored)
    fingerprint: np.ndarray
    #: per contact row: the stored state (``None``: no score row) and stage column
    records: list[ScoringState | None]
    stage: list[str | None]
    #: per contact row: the stored digest, as :attr:`fingerprint`
    digest: np.ndarray


@dc.dataclass
class ModelScores:
    """One model's score rows in the order read: contact ids, and per row codes into the distinct texts."""

    ids: list[str] = dc.field(default_factory=list)
    #: per row: the code of its state in :attr:`states`, of its stage column in :attr:`stages`
    state: list[np.ndarray] = dc.field(default_factory=list)
    stage: list[np.ndarray] = dc.field(default_factory=list)
    fingerprint: list[np.ndarray] = dc.field(default_factory=list)
    digest: list[np.ndarray] = dc.field(default_factory=list)
    states: list[ScoringState] = dc.field(default_factory=list)
    stages: list[str | None] = dc.field(default_factory=list)


def scores_scan(conn: sa.Connection, columns: str, where: str = "") -> str:
    """SQL reading ``columns`` of every score row of a CRM (its one parameter) in one sequential scan; ``where``: more conditions (``AND ...``).

    ``NOT INDEXED`` on SQLite: its planner otherwise walks an index whose first column is ``crm``
    (the primary key, or ``(crm, changes_at)``) and reads each wide score row at random -- several
    times slower than the scan (two models of a million contacts: 11.2 s, against 2.6 s).
    """
    hint = " NOT INDEXED" if conn.dialect.name == "sqlite" else ""
    return f"SELECT {columns} FROM scores{hint} WHERE crm = {placeholder(conn)} {where}"  # noqa: S608 - fixed column lists and a placeholder only


def read_by_run(engine: sa.Engine) -> bool:
    """Whether the run's process reads the stored scores for its scoring worker (else the worker reads them after the contacts).

    On SQLite, yes: the worker's read of a million contacts' portal ended 4.6 s sooner. On
    PostgreSQL, no: both scans then run on the server at once, on the same cores, and the
    rescore was slower (118.7 and 119.1 s against 115.0 and 115.1 s; docs/operations.md,
    "Twelfth round").
    """
    return engine.dialect.name == "sqlite"


def read_scores(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel]) -> dict[str, ModelScores]:
    """Every score row of ``crm`` under ``models`` (rows of models no longer configured are not read), in one scan of the table."""
    with collector_paused(), engine.connect() as conn:  # millions of tuples read: see collector_paused
        return scores_on(conn, crm, models)


def scores_on(conn: sa.Connection, crm: str, models: t.Sequence[ScoringModel]) -> dict[str, ModelScores]:
    """:func:`read_scores` on an open connection."""
    out = {m.model: _Reader() for m in models}
    state_text = "state" if conn.dialect.name == "sqlite" else "state::text"
    for chunk in chunks(conn, scores_scan(conn, f"model, contact_id, {state_text}, fingerprint, stage, digest"), [crm]):
        per_model: dict[str, list[tuple[t.Any, ...]]] = {}
        for row in chunk:
            per_model.setdefault(row[0], []).append(row)
        for name, rows in per_model.items():
            if name in out:
                out[name].add(rows)
    return {name: reader.scores for name, reader in out.items()}


class _Reader:
    """One model's :class:`ModelScores`, filled chunk by chunk (each distinct text decoded once)."""

    def __init__(self) -> None:
        self.scores = ModelScores()
        self._state: dict[str, int] = {}
        self._stage: dict[str | None, int] = {}

    def add(self, rows: list[tuple[t.Any, ...]]) -> None:
        """Score rows ``(model, contact id, state, fingerprint, stage, digest)``."""
        _, ids, texts, prints, stages, digests = zip(*rows, strict=True)
        out = self.scores
        out.ids += ids
        out.state.append(_codes(texts, self._state, out.states, lambda text: ScoringState.from_dict(json.loads(text) if isinstance(text, str) else text)))
        out.stage.append(_codes(stages, self._stage, out.stages, lambda stage: stage))
        out.fingerprint.append(_hashes(prints))
        out.digest.append(_hashes(digests))


_T = t.TypeVar("_T")
_K = t.TypeVar("_K", bound=t.Hashable)


def _codes(values: t.Sequence[_K], index: dict[_K, int], table: list[_T], make: t.Callable[[_K], _T]) -> np.ndarray:
    """Each value's code in ``table``, a value first seen added (made once, by ``make``)."""
    for value in dict.fromkeys(values):
        if value not in index:
            index[value] = len(table)
            table.append(make(value))
    return np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))


def _hashes(values: t.Sequence[str | None]) -> np.ndarray:
    """Stored digests as :data:`HASH` bytes; absent or not 32 ASCII characters: ``b""`` (never equal to a new one)."""
    return np.array([v if v is not None and len(v) == 32 and v.isascii() else "" for v in values], dtype=HASH)


def align_scores(scores: t.Mapping[str, ModelScores], models: t.Sequence[ScoringModel], row_of: t.Mapping[str, int]) -> dict[str, ModelStates]:
    """Each model's stored scores per contact row (``row_of``: contact id -> row); a contact without a score row gets the first scoring's state, no fingerprint.

    Score rows of contacts not stored (or only met as owners of activity) are left out.
    """
    n = len(row_of)
    out: dict[str, ModelStates] = {}
    for model in models:
        got = scores.get(model.model) or ModelScores()
        where = np.fromiter(map(row_of.get, got.ids, itertools.repeat(-1)), dtype=np.int64, count=len(got.ids))
        state, stage = _placed(got.state, where, n, -1, np.int32), _placed(got.stage, where, n, -1, np.int32)
        stored: list[ScoringState | None] = [*got.states, None]  # code -1: no score row
        entered = np.array([NO_TIME if s is None or s.stage_entered_at is None else to_micros(s.stage_entered_at) for s in stored], dtype=np.int64)
        armed = {trig.id: np.array([s is None or bool(s.armed.get(trig.id, True)) for s in stored], dtype=bool)[state] for trig in model.triggers}
        stage_of = [s.stage if s is not None else None for s in stored]
        stages = [*got.stages, None]
        codes = state.tolist()
        out[model.model] = ModelStates(
            PreviousColumns([stage_of[c] for c in codes], entered[state], armed),
            _placed(got.fingerprint, where, n, b"", HASH), [stored[c] for c in codes], [stages[c] for c in stage.tolist()], _placed(got.digest, where, n, b"", HASH),
        )  # fmt: skip
    return out


def _placed(parts: list[np.ndarray], where: np.ndarray, n: int, empty: object, dtype: npt.DTypeLike) -> np.ndarray:
    """The score rows' values (``parts``, in the order read) per contact row (``where``: each score row's contact row, -1: not a stored contact); ``empty`` where a contact has no score row."""
    column = np.full(n, empty, dtype=dtype)
    keep = where >= 0
    if parts:
        column[where[keep]] = np.concatenate(parts)[keep]
    return column
