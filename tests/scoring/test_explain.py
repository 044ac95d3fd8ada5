"""Explanations: reason order and the one-line summary written into a CRM text property."""

from __future__ import annotations

from connector.scoring.explain import order_reasons, summary
from connector.scoring.result import Reason
from tests.scoring._build import act, model, score

M = model(
    """
    model: m
    dimensions: {fit: {}, engagement: {floor: -50}}
    rules:
      - {id: title, label: job title Marketing, dimension: fit, points: 25, when: {property: t, op: exists}}
      - {id: views, label: page views, dimension: engagement, points: 5, activity: {types: [page_view]}}
      - {id: unsub, label: unsubscribed, dimension: engagement, points: -10, activity: {types: [unsubscribe]}}
      - {id: half, label: small thing, dimension: fit, points: 2.5, when: {property: t, op: exists}}
    """
)


def test_summary_biggest_first_with_counts_and_true_minus() -> None:
    result = score(M, {"t": "x"}, [act("page_view", d) for d in range(4)] + [act("unsubscribe", 1)])
    assert summary(result, 200) == "+25 job title Marketing · +20 4 page views · −10 unsubscribed · +2.5 small thing"


def test_summary_respects_max_chars_and_marks_the_cut() -> None:
    result = score(M, {"t": "x"}, [act("page_view", d) for d in range(4)] + [act("unsubscribe", 1)])
    text = summary(result, 50)
    assert text == "+25 job title Marketing · +20 4 page views · …"
    assert len(text) <= 50
    assert len(summary(result, 10)) <= 10
    assert summary(result, 0) == ""


def test_summary_of_nothing_and_of_exclusions() -> None:
    assert summary(score(M), 100) == ""
    excluding = model(
        """
        model: m
        dimensions: {fit: {}}
        exclusions: [{id: rival, reason: competitor, when: {property: email, op: email_domain_in, value: [rival.com]}}]
        """
    )
    assert summary(score(excluding, email="x@rival.com"), 100) == "excluded: competitor"


def test_order_exclusion_first_then_abs_points_then_rule() -> None:
    reasons = [Reason("b", "fit", 5, "b"), Reason("a", "fit", -5, "a"), Reason("x", "total", 0, "competitor", kind="exclusion"), Reason("c", "fit", 10, "c")]
    assert [r.rule for r in order_reasons(reasons)] == ["x", "c", "a", "b"]
