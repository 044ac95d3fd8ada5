"""Lifecycle stages: reached by activity, by thresholds, by property; no regression; resets."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt

from connector.scoring.result import ScoringState
from tests.scoring._build import AS_OF, act, adj, days_ago, model, score

STAGES = """
    model: m
    dimensions: {fit: {}, engagement: {}}
    rules:
      - {id: title, dimension: fit, points: 50, when: {property: title, op: contains, value: vp}}
      - {id: views, dimension: engagement, points: 10, activity: {types: [page_view]}}
    stages:
      allow_regression: {regress}
      order:
        - name: subscriber
        - name: lead
          activities: [form_submit]
        - name: mql
          thresholds: {fit: 40, engagement: 30}
        - name: sql
          thresholds: {fit: 40, engagement: 30}
          activities: [demo_request]
          match: all
        - name: customer
          when: {property: lifecyclestage, op: eq, value: customer}
"""

M = model(STAGES.replace("{regress}", "false"))
M_REGRESS = model(STAGES.replace("{regress}", "true"))


def test_entry_stage_for_everyone() -> None:
    result = score(M)
    assert result.stage == "subscriber"
    assert result.state.stage_entered_at == AS_OF


def test_activity_reaches_stage() -> None:
    assert score(M, activities=[act("form_submit", 3)]).stage == "lead"
    assert score(M, activities=[act("form_submit", -3)]).stage == "subscriber"  # future does not count


def test_thresholds_need_every_dimension() -> None:
    views = [act("page_view", d) for d in range(3)]
    assert score(M, {"title": "VP"}, views).stage == "mql"
    assert score(M, {"title": "VP"}, views[:2]).stage == "subscriber"  # engagement 20 < 30
    assert score(M, {}, views).stage == "subscriber"  # fit 0 < 40


def test_match_all_needs_thresholds_and_activity() -> None:
    views = [act("page_view", d) for d in range(3)]
    assert score(M, {"title": "VP"}, [*views, act("demo_request", 1)]).stage == "sql"
    assert score(M, {}, [*views, act("demo_request", 1)]).stage == "subscriber"


def test_property_reaches_stage() -> None:
    assert score(M, {"lifecyclestage": "Customer"}).stage == "customer"


def test_no_regression_without_allow_regression() -> None:
    previous = ScoringState(stage="mql", stage_entered_at=days_ago(10))
    result = score(M, {}, [], previous=previous)
    assert result.stage == "mql"
    assert result.state.stage_entered_at == days_ago(10)  # unchanged stage keeps its entry time


def test_allow_regression_moves_down_and_restamps() -> None:
    previous = ScoringState(stage="mql", stage_entered_at=days_ago(10))
    result = score(M_REGRESS, {}, [], previous=previous)
    assert result.stage == "subscriber"
    assert result.state.stage_entered_at == AS_OF


def test_previous_stage_no_longer_in_model_is_ignored() -> None:
    assert score(M, previous=ScoringState(stage="gone", stage_entered_at=days_ago(3))).stage == "subscriber"


RESET = model(
    """
    model: m
    dimensions: {engagement: {}}
    rules: [{id: views, dimension: engagement, points: 10, activity: {types: [page_view]}}]
    stages:
      order:
        - name: lead
        - name: opportunity
          when: {property: stage, op: eq, value: opp}
          reset_on_enter: [engagement]
    """
)


def test_reset_on_enter_restarts_dimension_at_entry() -> None:
    old = [act("page_view", 5), act("page_view", 4)]
    entered = score(RESET, {"stage": "opp"}, old, [adj("engagement", 7, days=2)], previous=ScoringState(stage="lead", stage_entered_at=days_ago(30)))
    assert entered.stage == "opportunity"
    assert entered.dimensions["engagement"] == 0
    assert entered.state.stage_entered_at == AS_OF
    # later: only what happened after entry counts (activities and adjustments alike)
    later = dt.timedelta(days=2)
    newer = [*old, dc.replace(act("page_view", 0), occurred_at=AS_OF + (later / 2))]
    after = score(RESET, {"stage": "opp"}, newer, [adj("engagement", 7, days=2)], as_of=AS_OF + later, previous=entered.state)
    assert after.dimensions["engagement"] == 10
    assert after.stage == "opportunity"


def test_reset_before_entry_counts_everything() -> None:
    result = score(RESET, {}, [act("page_view", 5), act("page_view", 4)])
    assert result.dimensions["engagement"] == 20
