"""Stage history that starts true: seed a contact's first scoring from the CRM's own stage dates.

Without this, a portal's first sync treats every contact already at MQL as entering MQL at that
first scoring, and a model with ``reset_on_enter`` wipes the engagement every existing MQL has
earned since it really became one. The adapter reads the CRM's stage-entry dates through its
mapping (HubSpot: ``hs_lifecyclestage_<stage>_date``) into ``Contact.stage_dates`` (model stage
name -> instant); before a contact's first scoring under a model (no stored state yet) the sync
hands the engine the state those dates describe: the highest stage of the model's order that has
a date at or before the scoring's instant, entered at that date. The engine then does what it
always does from there: activity and adjustments after that date count for a ``reset_on_enter``
dimension, the stage never falls below it (unless the model allows regression), and it moves on
if the model's conditions reach a higher stage.

Stage triggers whose stage the contact had already reached in the CRM start disarmed: the
contact did not *become* an MQL today, so ``mql_reached`` does not fire for every existing MQL on
the first sync. Dimension triggers are untouched.

The dates also become the first rows of the stage history, each with its reason.

Pure functions over plain values; :func:`connector.sync.scorers.score_chunk` calls them.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

from connector.scoring.model import TOTAL, AllOf, AnyOf, ScoringModel, Stage, When, level_of, reaches
from connector.scoring.records import utc
from connector.scoring.result import ScoringState

__all__ = ["Seed", "seed", "stage_reason"]


@dc.dataclass(frozen=True, slots=True)
class Seed:
    """The state a first scoring starts from, and the history rows the CRM's dates give."""

    state: ScoringState
    #: ``(from stage, to stage, at, reason)`` in model order.
    moves: tuple[tuple[str | None, str, dt.datetime, str], ...]


def seed(model: ScoringModel, dates: t.Mapping[str, dt.datetime], as_of: dt.datetime) -> Seed | None:
    """The seeded first state of a contact under ``model``; ``None`` when the CRM gives no usable date.

    Only dates of the model's own stages, at or before ``as_of``, count (a date in the future
    would make the engine stamp a stage entered later than the scoring itself).
    """
    if model.stages is None or not dates:
        return None
    as_of = utc(as_of)
    names = [s.name for s in model.stages.order]
    known = [(i, name, utc(dates[name])) for i, name in enumerate(names) if name in dates and utc(dates[name]) <= as_of]
    if not known:
        return None
    top, stage, entered = known[-1]
    armed = {
        trig.id: False
        for trig in model.triggers
        if trig.watch.stage is not None and trig.watch.stage in names and names.index(trig.watch.stage) <= top
    }
    moves = []
    before: str | None = None
    for _i, name, at in known:
        moves.append((before, name, at, f"CRM stage date: entered {name} on {at.isoformat()}"))
        before = name
    return Seed(ScoringState(stage=stage, stage_entered_at=entered, armed=armed), tuple(moves))


def stage_reason(model: ScoringModel, stage: str | None, dimensions: t.Mapping[str, float], score: float, previous: str | None) -> str:
    """Why a scoring put the contact in ``stage``: the stage's parts with the values that met them.

    Thresholds name the value and the level (``fit 45 >= 40``); activity and property parts are
    named as written in the model (which activity or value met them is in the contact's data).
    """
    if stage is None:
        return f"no stage holds any more (was {previous})" if previous else "no stage holds"
    spec = model.stages
    found = next((s for s in spec.order if s.name == stage), None) if spec is not None else None
    if found is None:
        return f"stage {stage}"
    parts = _parts(found, {**dimensions, TOTAL: score})
    if spec is not None and previous is not None and previous in [s.name for s in spec.order]:
        names = [s.name for s in spec.order]
        if names.index(stage) < names.index(previous):
            return f"regressed to {stage} (allow_regression)" + (f": {'; '.join(parts)}" if parts else "")
    if not parts:
        return f"{stage}: entry stage (no conditions)"
    joined = " and " if found.match == "all" else "; "
    return f"{stage} holds ({found.match} of): {joined.join(parts)}"


def _parts(stage: Stage, values: t.Mapping[str, float]) -> list[str]:
    """Each part of a stage as text: thresholds with the contact's values, activities, the property condition."""
    out: list[str] = []
    for dim, need in stage.thresholds.items():
        strict, bound = level_of(need)
        value = values.get(dim)
        if value is None:
            continue
        sign = (">" if strict else ">=") if reaches(value, (strict, bound)) else ("<=" if strict else "<")
        out.append(f"{dim} {value:g} {sign} {bound:g}")
    if stage.activities:
        out.append(f"activity {' or '.join(stage.activities)}")
    if stage.when is not None:
        out.append("property condition " + _describe_when(stage.when))
    return out


def _describe_when(when: When) -> str:
    """A short text of a condition (``lifecyclestage eq opportunity``)."""
    if isinstance(when, AllOf):
        return "(" + " and ".join(_describe_when(w) for w in when.all) + ")"
    if isinstance(when, AnyOf):
        return "(" + " or ".join(_describe_when(w) for w in when.any) + ")"
    value = "" if when.value is None else f" {when.value}"
    return f"{when.field} {when.op}{value}"
