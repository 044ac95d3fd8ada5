"""Triggers: fire once per upward crossing, re-arm when the watched value falls back (section 11).

The arming state travels in :class:`~connector.scoring.result.ScoringState`, so a trigger that
fired yesterday does not fire again today just because the score is still high.
"""

from __future__ import annotations

import typing as t

from connector.scoring.model import Trigger, TriggerAction, reaches
from connector.scoring.result import TriggerEvent

__all__ = ["action_dict", "evaluate"]


def action_dict(action: TriggerAction) -> dict[str, t.Any]:
    """The keys that matter for this action's type (``due_days`` only for tasks)."""
    data = action.model_dump(exclude_none=True)
    if action.type != "create_task":
        data.pop("due_days", None)
    return data


def evaluate(
    triggers: t.Sequence[Trigger],
    values: t.Mapping[str, float],
    stage_order: t.Sequence[str],
    stage: str | None,
    armed: t.Mapping[str, bool],
) -> tuple[tuple[TriggerEvent, ...], dict[str, bool]]:
    """Events that fire now, and the new arming map (every trigger of the model, in model order).

    ``values`` holds every dimension and ``total``; a stage trigger's watched value is whether
    the current stage is at or above the stage it names.
    """
    index = {name: i for i, name in enumerate(stage_order)}
    current = index.get(stage, -1) if stage is not None else -1
    events: list[TriggerEvent] = []
    new_armed: dict[str, bool] = {}
    for trig in triggers:
        watch = trig.watch
        if watch.stage is not None:
            reached = current >= index[watch.stage]
            watched, value = "stage", t.cast(str | float, stage)
        else:
            dim = t.cast(str, watch.dimension)
            value = values[dim]
            reached = reaches(value, watch.level)
            watched = dim
        is_armed = armed.get(trig.id, True)
        if is_armed and reached:
            events.append(TriggerEvent(trig.id, watched, value, tuple(action_dict(a) for a in trig.actions)))
            is_armed = False
        elif not is_armed and not reached:
            is_armed = True
        new_armed[trig.id] = is_armed
    return tuple(events), new_armed
