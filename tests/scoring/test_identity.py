"""Anonymous history counts once the visitor is identified."""

from __future__ import annotations

from connector.scoring.identity import resolve
from connector.scoring.records import Activity, Identity
from tests.scoring._build import days_ago, model, score


def test_resolve_links_drops_unlinked_and_duplicates() -> None:
    acts = [
        Activity("1", "page_view", days_ago(3), anonymous_id="anon-a"),
        Activity("2", "page_view", days_ago(2), anonymous_id="anon-b"),
        Activity("3", "form_submit", days_ago(1), contact_id="c1", anonymous_id="anon-a"),
        Activity("1", "page_view", days_ago(3), contact_id="c1"),
    ]
    out = resolve(acts, [Identity("anon-a", "c1"), Identity("anon-a", "c9")])
    assert [(a.id, a.contact_id) for a in out] == [("1", "c1"), ("3", "c1")]


def test_score_counts_anonymous_history() -> None:
    m = model(
        """
        model: m
        dimensions: {e: {}}
        rules: [{id: pricing, dimension: e, points: 10, activity: {types: [page_view], where: [{attribute: url, op: contains, value: pricing}]}}]
        """
    )
    acts = [Activity("1", "page_view", days_ago(3), anonymous_id="anon-a", attributes={"url": "/pricing"})]
    assert score(m, activities=acts).dimensions["e"] == 0
    assert score(m, activities=resolve(acts, {"anon-a": "c1"})).dimensions["e"] == 10
