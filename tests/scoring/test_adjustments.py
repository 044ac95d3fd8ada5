"""Manual adjustments count in their dimension, with the rep's reason in the explanation."""

from __future__ import annotations

from tests.scoring._build import adj, model, score

M = model(
    """
    model: m
    dimensions: {fit: {}, engagement: {}}
    rules: [{id: title, dimension: fit, points: 10, when: {property: t, op: exists}}]
    """
)


def test_adjustment_adds_points_with_reason_and_author() -> None:
    result = score(M, {"t": "x"}, adjustments=[adj("fit", 15, reason="Met at SaaStr"), adj("engagement", -5, reason="asked for a pause")])
    assert result.dimensions == {"fit": 25, "engagement": 0}
    reasons = {(r.dimension, r.rule): r for r in result.reasons}
    fit = reasons[("fit", "adjustment")]
    assert (fit.points, fit.label, fit.detail, fit.kind) == (15, "Met at SaaStr", "rep@example.com", "adjustment")
    assert reasons[("engagement", "clamp")].points == 5


def test_future_unknown_dimension_and_other_contacts_ignored() -> None:
    result = score(M, adjustments=[adj("fit", 15, days=-1), adj("nope", 5), adj("fit", 9, contact_id="c2")])
    assert result.dimensions["fit"] == 0
    assert result.reasons == ()
