"""What one batch-scoring call works on, and what every part of the batch engine shares.

A :class:`Call` lives for one :meth:`~connector.scoring.batch.BatchScorer.score_columns` call: the
columns, the instant, and the per-call caches (condition tables per column, activity rows per
type set). Nothing in it survives the call, so nothing in it can leak into another chunk.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np

from connector.scoring.batch.distinct import DistinctValues
from connector.scoring.columns import ActivityColumns, ContactColumns

__all__ = ["DAY", "NEVER", "Call", "did", "round2_array", "typed"]

DAY = 86_400_000_000  # one day in microseconds
#: "No change ever" in an ``int64`` instant column (``changes_at``).
NEVER = np.iinfo(np.int64).max


def round2_array(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`connector.scoring.result.round2`, bitwise identical to it."""
    return np.floor(values * 100 + 0.5) / 100


@dc.dataclass(slots=True)
class Call:
    """What one :meth:`BatchScorer.score_columns` call works on (nothing survives the call)."""

    contacts: ContactColumns
    activities: ActivityColumns
    as_of: int
    n: int
    tables: dict[tuple[int, int], np.ndarray] = dc.field(default_factory=dict)
    facts: dict[int, DistinctValues] = dc.field(default_factory=dict)  # id(column) -> its answers (large columns)
    answers: dict[tuple[int, int], np.ndarray] = dc.field(default_factory=dict)  # (id(condition), id(column)) -> table
    typed: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = dc.field(default_factory=dict)


def typed(call: Call, types: t.Collection[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, instants and owners of the contact-owned activities of ``types`` (once per type set)."""
    key = tuple(sorted(types))
    found = call.typed.get(key)
    if found is None:
        acts = call.activities
        lut = np.array([v in types for v in [*acts.type.values, None]], dtype=bool)
        rows = np.flatnonzero(lut[acts.type.codes] & (acts.contact >= 0))
        found = call.typed[key] = (rows, acts.occurred[rows], acts.contact[rows])
    return found


def did(call: Call, types: t.Collection[str]) -> np.ndarray:
    """Whether each contact has an activity of one of ``types`` at or before ``as_of``."""
    _, occurred, owner = typed(call, types)
    out = np.zeros(call.n, dtype=bool)
    out[owner[occurred <= call.as_of]] = True
    return out
