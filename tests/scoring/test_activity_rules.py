"""Activity rules: types, attribute filters, windows, caps, and which activities count."""

from __future__ import annotations

import datetime as dt

from connector.scoring.records import Activity
from tests.scoring._build import AS_OF, act, model, reason_points, score


def rule_model(extra: str) -> object:
    return model(
        f"""
        model: m
        dimensions: {{engagement: {{ceiling: 1000}}}}
        rules:
          - id: r
            dimension: engagement
            points: 5
            activity: {extra}
        """
    )


def test_points_per_matching_activity_with_attribute_filter() -> None:
    m = rule_model("{types: [page_view], where: [{attribute: url, op: contains, value: /pricing}]}")
    acts = [act("page_view", 1, url="/Pricing"), act("page_view", 2, url="/pricing/enterprise"), act("page_view", 3, url="/blog"), act("email_open", 1, url="/pricing")]
    result = score(m, activities=acts)
    assert result.dimensions["engagement"] == 10
    (reason,) = result.reasons
    assert (reason.kind, reason.count, reason.points) == ("activity", 2, 10)


def test_type_list_and_form_id_in_list() -> None:
    m = rule_model("{types: [form_submit, demo_request], where: [{attribute: form_id, op: in, value: [trial, contact]}]}")
    acts = [act("form_submit", 1, form_id="Trial"), act("demo_request", 1, form_id="contact"), act("form_submit", 1, form_id="newsletter"), act("form_submit", 1)]
    assert score(m, activities=acts).dimensions["engagement"] == 10


def test_within_days_is_an_exact_window() -> None:
    m = rule_model("{types: [page_view], within_days: 7}")
    inside = act("page_view", 7)  # exactly 7 days: still in
    outside = Activity(id="late", type="page_view", occurred_at=AS_OF - dt.timedelta(days=7, microseconds=1), contact_id="c1")
    assert score(m, activities=[inside, outside]).dimensions["engagement"] == 5


def test_future_activities_do_not_count() -> None:
    m = rule_model("{types: [page_view]}")
    assert score(m, activities=[act("page_view", -1), act("page_view", 0)]).dimensions["engagement"] == 5


def test_max_times_keeps_the_most_recent() -> None:
    m = rule_model("{types: [page_view], max_times: 2, decay: {half_life_days: 1}}")
    acts = [act("page_view", 3), act("page_view", 0), act("page_view", 1)]
    result = score(m, activities=acts)
    assert result.dimensions["engagement"] == 7.5  # 5 (today) + 2.5 (1 day) ; the 3-day-old one is dropped
    assert result.reasons[0].count == 2


def test_max_times_ties_broken_by_activity_id() -> None:
    m = model(
        """
        model: m
        dimensions: {e: {}}
        rules: [{id: r, dimension: e, points: 1, activity: {types: [x], max_times: 1, where: [{attribute: k, op: exists}]}}]
        """
    )
    same = AS_OF - dt.timedelta(hours=1)
    acts = [Activity("b", "x", same, "c1", {"k": 1}), Activity("a", "x", same, "c1", {}), Activity("c", "x", same, "c1", {"k": 1})]
    # 'a' sorts first but fails the filter; among candidates 'b' is kept
    assert score(m, activities=acts).dimensions["e"] == 1


def test_max_points_caps_positive_and_negative_rules() -> None:
    m = model(
        """
        model: m
        dimensions: {e: {floor: -100}}
        rules:
          - {id: views, dimension: e, points: 5, activity: {types: [page_view], max_points: 12}}
          - {id: careers, dimension: e, points: -15, activity: {types: [careers], max_points: 20}}
        """
    )
    acts = [act("page_view", i) for i in range(4)] + [act("careers", 1), act("careers", 2)]
    result = score(m, activities=acts)
    assert reason_points(result) == {"views": 12, "careers": -20}
    assert result.dimensions["e"] == -8


def test_rule_whose_points_come_to_zero_gives_no_reason() -> None:
    m = rule_model("{types: [page_view], decay: {points: 5, every_days: 1}}")
    assert score(m, activities=[act("page_view", 3)]).reasons == ()


def test_activities_of_other_contacts_and_duplicates_are_ignored() -> None:
    m = rule_model("{types: [page_view]}")
    a = act("page_view", 1)
    assert score(m, activities=[a, a, act("page_view", 1, contact_id="other")]).dimensions["engagement"] == 5


def test_naive_times_are_utc_and_other_zones_are_converted() -> None:
    m = rule_model("{types: [page_view], within_days: 1}")
    naive = Activity("n", "page_view", (AS_OF - dt.timedelta(hours=23)).replace(tzinfo=None), "c1")
    plus2 = dt.timezone(dt.timedelta(hours=2))
    zoned = Activity("z", "page_view", (AS_OF - dt.timedelta(hours=25)).astimezone(plus2), "c1")  # outside the window
    assert score(m, activities=[naive, zoned]).dimensions["engagement"] == 5
    assert score(m, activities=[naive], as_of=AS_OF.replace(tzinfo=None)).dimensions["engagement"] == 5
