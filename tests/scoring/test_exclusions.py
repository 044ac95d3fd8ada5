"""Exclusions: competitor / own-company contacts score the floor, get no stage, fire nothing."""

from __future__ import annotations

from connector.scoring.result import ScoringState
from tests.scoring._build import act, days_ago, model, score

M = model(
    """
    model: m
    dimensions: {fit: {floor: 5}, engagement: {}}
    total: {floor: 1, ceiling: 200}
    rules:
      - {id: title, dimension: fit, points: 50, when: {property: job_title, op: exists}}
      - {id: views, dimension: engagement, points: 10, activity: {types: [page_view]}}
    exclusions:
      - {id: competitor, reason: competitor, when: {property: email, op: email_domain_in, value: [rival.com]}}
      - {id: own, reason: own company, when: {property: email, op: email_domain_in, value: [us.com]}}
    grade: {dimension: fit, bands: [{label: A, min: 40}, {label: D}]}
    stages: {order: [{name: lead}]}
    triggers: [{id: t, watch: {dimension: engagement, above: 5}, actions: [{type: add_to_list, list: L}]}]
    """
)


def test_excluded_contact_scores_floors_with_one_reason() -> None:
    previous = ScoringState(stage="lead", stage_entered_at=days_ago(3), armed={"t": True})
    result = score(M, {"job_title": "VP"}, [act("page_view", 1)], email="x@sub.rival.com", previous=previous)
    assert result.excluded == "competitor"
    assert result.dimensions == {"fit": 5, "engagement": 0}
    assert result.score == 1
    assert result.grade == "D"
    assert result.stage is None
    assert result.triggers == ()
    assert result.state == previous  # arming and stage kept for when the exclusion is lifted
    (reason,) = result.reasons
    assert (reason.kind, reason.rule, reason.points, reason.label) == ("exclusion", "competitor", 0, "competitor")
    assert result.changes_at is None


def test_email_property_and_own_company() -> None:
    assert score(M, {"email": "me@US.com"}).excluded == "own company"
    assert score(M, {"email": "me@customer.com"}).excluded is None
