"""Lifecycle stages: which stage holds now, and whether the contact may move (section 9).

Stages are ordered lowest first. A contact keeps the highest stage it ever reached unless the
model sets ``allow_regression``; entering a stage stamps ``stage_entered_at``, which drives
``reset_on_enter``.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

from connector.scoring.conditions import matches
from connector.scoring.model import Stage, StageSpec, level_of, reaches

__all__ = ["StageOutcome", "holds", "next_stage", "reset_dimensions"]


@dc.dataclass(frozen=True, slots=True)
class StageOutcome:
    """The stage after this scoring and when it was entered."""

    stage: str | None
    entered_at: dt.datetime | None
    changed: bool


def holds(
    stage: Stage,
    values: t.Mapping[str, float],
    activity_types: t.Collection[str],
    properties: t.Mapping[str, t.Any],
    placeholders: frozenset[str],
) -> bool:
    """Whether the stage's present parts hold, combined by its ``match`` (any/all)."""
    parts: list[bool] = []
    if stage.thresholds:
        parts.append(all(reaches(values[dim], level_of(need)) for dim, need in stage.thresholds.items()))
    if stage.activities:
        parts.append(any(kind in activity_types for kind in stage.activities))
    if stage.when is not None:
        parts.append(matches(stage.when, properties, placeholders))
    if not parts:
        return True
    return all(parts) if stage.match == "all" else any(parts)


def next_stage(
    spec: StageSpec,
    values: t.Mapping[str, float],
    activity_types: t.Collection[str],
    properties: t.Mapping[str, t.Any],
    placeholders: frozenset[str],
    previous: str | None,
    previous_entered_at: dt.datetime | None,
    as_of: dt.datetime,
) -> StageOutcome:
    """Highest stage that holds; without ``allow_regression`` never below the previous stage."""
    names = [s.name for s in spec.order]
    candidate = -1
    for i, stage in enumerate(spec.order):
        if holds(stage, values, activity_types, properties, placeholders):
            candidate = i
    if not spec.allow_regression and previous in names:
        candidate = max(candidate, names.index(previous))
    name = names[candidate] if candidate >= 0 else None
    if name != previous:
        return StageOutcome(name, as_of if name is not None else None, True)
    return StageOutcome(name, previous_entered_at, False)


def reset_dimensions(spec: StageSpec | None, stage: str | None, entered_at: dt.datetime | None) -> dict[str, dt.datetime]:
    """Dimension -> cut-off instant: only points strictly after it count (``reset_on_enter``)."""
    if spec is None or stage is None or entered_at is None:
        return {}
    for s in spec.order:
        if s.name == stage:
            return {dim: entered_at for dim in s.reset_on_enter}
    return {}
