"""Triggers fire once per upward crossing and re-arm when the value falls back below."""

from __future__ import annotations

import datetime as dt

from connector.scoring.result import ScoringState
from tests.scoring._build import AS_OF, act, model, score

M = model(
    """
    model: m
    dimensions: {engagement: {}}
    rules: [{id: views, dimension: engagement, points: 10, activity: {types: [page_view], within_days: 10}}]
    stages:
      order: [{name: lead}, {name: mql, thresholds: {engagement: 30}}]
      allow_regression: true
    triggers:
      - id: hot
        watch: {dimension: engagement, above: 30}
        actions:
          - {type: add_to_list, list: Hot}
          - {type: create_task, subject: Call them, due_days: 2}
          - {type: set_property, property: hot_lead, value: "yes"}
          - {type: webhook, url: "https://hooks.example.invalid/x"}
      - id: total_20
        watch: {dimension: total, above: 20}
        actions: [{type: add_to_list, list: Warm}]
      - id: became_mql
        watch: {stage: mql}
        actions: [{type: remove_from_list, list: Nurture}]
    """
)


def test_fires_once_with_actions_then_stays_quiet() -> None:
    views = [act("page_view", d) for d in range(3)]
    first = score(M, activities=views)
    assert [e.trigger for e in first.triggers] == ["hot", "total_20", "became_mql"]
    hot = first.triggers[0]
    assert (hot.watched, hot.value) == ("engagement", 30)
    assert hot.actions == (
        {"type": "add_to_list", "list": "Hot"},
        {"type": "create_task", "subject": "Call them", "due_days": 2},
        {"type": "set_property", "property": "hot_lead", "value": "yes"},
        {"type": "webhook", "url": "https://hooks.example.invalid/x"},
    )
    assert first.triggers[2].to_dict()["value"] == "mql"
    assert first.state.armed == {"hot": False, "total_20": False, "became_mql": False}
    again = score(M, activities=views, previous=first.state)
    assert again.triggers == ()


def test_re_arms_below_and_fires_on_the_next_crossing() -> None:
    views = [act("page_view", d) for d in range(3)]
    fired = score(M, activities=views)
    later = AS_OF + dt.timedelta(days=9, hours=12)  # two views have left the 10-day window
    fallen = score(M, activities=views, as_of=later, previous=fired.state)
    assert fallen.dimensions["engagement"] == 10
    assert fallen.triggers == ()
    assert fallen.state.armed == {"hot": True, "total_20": True, "became_mql": True}
    fresh = [act("page_view", -9.2), act("page_view", -9.3)]  # shortly before `later`
    crossed = score(M, activities=[*views, *fresh], as_of=later, previous=fallen.state)
    assert [e.trigger for e in crossed.triggers] == ["hot", "total_20", "became_mql"]


def test_disarmed_trigger_stays_disarmed_while_value_holds() -> None:
    state = ScoringState(armed={"hot": False})
    result = score(M, activities=[act("page_view", d) for d in range(3)], previous=state)
    assert [e.trigger for e in result.triggers] == ["total_20", "became_mql"]
    assert result.state.armed["hot"] is False
