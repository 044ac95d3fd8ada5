"""Stages, triggers, grades and the matrix: a handful of vector operations over all contacts.

Sections 9 to 11 of ``docs/scoring-semantics.md``, column-wise; the comparisons are the same IEEE
comparisons the per-contact engine makes (:func:`connector.scoring.model.reaches`).
"""

from __future__ import annotations

import typing as t

import numpy as np

from connector.scoring.batch.call import Call, did
from connector.scoring.batch.memo import Conditions
from connector.scoring.columns import NO_TIME, PreviousColumns
from connector.scoring.model import TOTAL, GradeSpec, Level, ScoringModel, level_of

__all__ = ["Outcomes", "reaches", "watch"]


def reaches(values: np.ndarray, level: Level) -> np.ndarray:
    """:func:`connector.scoring.model.reaches` over an array (the same IEEE comparison)."""
    strict, bound = level
    return values > bound if strict else values >= bound


def watch(name: str, values: t.Mapping[str, np.ndarray], total: np.ndarray) -> np.ndarray:
    """The column a grade, threshold or trigger reads: a dimension or the total."""
    return total if name == TOTAL else values[name]


class Outcomes:
    """What follows from the scores of one model, for every contact of a call.

    Args:
        model: The validated scoring model.
        conditions: The scorer's condition masks (stages with ``when`` read them).
    """

    def __init__(self, model: ScoringModel, conditions: Conditions) -> None:
        self.model = model
        self.conditions = conditions
        self.stage_names = [s.name for s in model.stages.order] if model.stages else []
        self._stage_index = {s: i for i, s in enumerate(self.stage_names)}

    def cuts(self, stage: np.ndarray, entered: np.ndarray) -> dict[str, np.ndarray]:
        """Per dimension reset by a contact's stage: the instant after which points count."""
        cuts: dict[str, np.ndarray] = {}
        for i, spec in enumerate(self.model.stages.order if self.model.stages else []):
            dims = [d for d in spec.reset_on_enter if d in self.model.dimensions]
            if not dims:
                continue
            here = (stage == i) & (entered != NO_TIME)
            if not here.any():
                continue
            for d in dims:
                cut = cuts.setdefault(d, np.full(len(stage), NO_TIME, dtype=np.int64))
                cut[here] = entered[here]
        return cuts

    @staticmethod
    def final_cuts(
        n: int, changed: np.ndarray, old: t.Mapping[str, np.ndarray], new: t.Mapping[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Cuts after the stage step (the new stage's where it changed) and who they moved for."""
        final: dict[str, np.ndarray] = {}
        moved: dict[str, np.ndarray] = {}
        none = np.full(n, NO_TIME, dtype=np.int64)
        for d in sorted(set(old) | set(new)):
            before = old.get(d, none)
            after = np.where(changed, new.get(d, none), before)
            who = after != before
            if who.any():
                moved[d] = who
            final[d] = after
        return final, moved
    def stages(
        self, call: Call, values: t.Mapping[str, np.ndarray], total: np.ndarray, prev: np.ndarray, prev_entered: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stage code (-1: none), entry instant and whether the stage changed, per contact."""
        n = call.n
        spec = self.model.stages
        if spec is None:
            return np.full(n, -1, dtype=np.int16), prev_entered.copy(), np.zeros(n, dtype=bool)
        candidate = np.full(n, -1, dtype=np.int16)
        for i, stage in enumerate(spec.order):
            parts: list[np.ndarray] = []
            if stage.thresholds:
                parts.append(np.logical_and.reduce([reaches(watch(d, values, total), level_of(need)) for d, need in stage.thresholds.items()]))
            if stage.activities:
                parts.append(did(call, stage.activities))
            if stage.when is not None:
                parts.append(self.conditions.contacts(call, stage.when))
            if not parts:
                candidate[:] = i
                continue
            holds = np.logical_and.reduce(parts) if stage.match == "all" else np.logical_or.reduce(parts)
            candidate[holds] = i
        codes = candidate if spec.allow_regression else np.maximum(candidate, prev)
        changed = codes != prev
        entered = np.where(changed, np.where(codes >= 0, call.as_of, NO_TIME), prev_entered)
        return codes.astype(np.int16), entered, changed

    def triggers(
        self, values: t.Mapping[str, np.ndarray], total: np.ndarray, stage: np.ndarray, previous: PreviousColumns, excluded: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Which triggers fire now, and the arming for the next run (excluded: unchanged)."""
        fired: dict[str, np.ndarray] = {}
        armed: dict[str, np.ndarray] = {}
        n = len(total)
        for trig in self.model.triggers:
            was = previous.armed.get(trig.id)
            was = np.ones(n, dtype=bool) if was is None else np.asarray(was, dtype=bool)
            if trig.watch.stage is not None:
                reached = stage >= self._stage_index[trig.watch.stage]
            else:
                reached = reaches(watch(t.cast(str, trig.watch.dimension), values, total), trig.watch.level)
            fire = was & reached & ~excluded
            fired[trig.id] = fire
            armed[trig.id] = np.where(excluded, was, np.where(was, ~fire, ~reached))
        return fired, armed

    def bands(self, spec: GradeSpec | None, values: t.Mapping[str, np.ndarray], total: np.ndarray) -> np.ndarray:
        """Index of the first band whose ``min`` is at or below the value (-1: none)."""
        out = np.full(len(total), -1, dtype=np.int16)
        if spec is None:
            return out
        value = watch(spec.dimension, values, total)
        for i in reversed(range(len(spec.bands))):
            band = spec.bands[i]
            out[(value >= band.min) if band.min is not None else slice(None)] = i
        return out

    def matrix(self, values: t.Mapping[str, np.ndarray], total: np.ndarray) -> np.ndarray:
        """Code of row label + column label (-1 when either has no band)."""
        spec = self.model.matrix
        if spec is None:
            return np.full(len(total), -1, dtype=np.int16)
        rows, cols = self.bands(spec.rows, values, total), self.bands(spec.columns, values, total)
        width = len(spec.columns.bands)
        return np.where((rows >= 0) & (cols >= 0), rows.astype(np.int32) * width + cols, -1).astype(np.int16)

