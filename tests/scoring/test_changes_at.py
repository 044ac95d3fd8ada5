"""changes_at: the next instant the same inputs would score differently."""

from __future__ import annotations

import datetime as dt

from tests.scoring._build import AS_OF, act, adj, days_ago, model, score

M = model(
    """
    model: m
    dimensions: {e: {ceiling: 1000}}
    rules:
      - {id: half, dimension: e, points: 8, activity: {types: [download], decay: {half_life_days: 10}}}
      - {id: step, dimension: e, points: 3, activity: {types: [open], decay: {points: 1, every_days: 7}}}
      - {id: window, dimension: e, points: 5, activity: {types: [view], within_days: 30}}
      - {id: plain, dimension: e, points: 1, activity: {types: [call]}}
    stages: {order: [{name: a}, {name: b, activities: [meeting]}]}
    """
)


def test_nothing_time_dependent_gives_none() -> None:
    assert score(M, activities=[act("call", 3)]).changes_at is None


def test_half_life_next_day_boundary() -> None:
    a = act("download", 2.25)  # occurred 2 days 6 hours ago
    assert score(M, activities=[a]).changes_at == a.occurred_at + dt.timedelta(days=3)


def test_step_next_step_and_window_exit() -> None:
    step = act("open", 3)
    assert score(M, activities=[step]).changes_at == step.occurred_at + dt.timedelta(days=7)
    view = act("view", 29)
    assert score(M, activities=[view]).changes_at == view.occurred_at + dt.timedelta(days=30, microseconds=1)
    assert score(M, activities=[step, view]).changes_at == view.occurred_at + dt.timedelta(days=30, microseconds=1)


def test_fully_decayed_or_out_of_window_change_nothing() -> None:
    assert score(M, activities=[act("open", 30), act("view", 31)]).changes_at is None


def test_future_activity_and_adjustment_are_changes() -> None:
    assert score(M, activities=[act("call", -2)]).changes_at == days_ago(-2)
    assert score(M, activities=[act("meeting", -1)]).changes_at == days_ago(-1)
    assert score(M, activities=[act("other", -1)]).changes_at is None
    assert score(M, adjustments=[adj("e", 4, days=-0.5)]).changes_at == days_ago(-0.5)


def test_changes_at_is_after_as_of_and_rescoring_then_differs() -> None:
    a = act("download", 0.5)
    first = score(M, activities=[a])
    assert first.changes_at is not None and first.changes_at > AS_OF
    second = score(M, activities=[a], as_of=first.changes_at)
    assert second.dimensions["e"] != first.dimensions["e"]
