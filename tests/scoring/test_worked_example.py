"""A worked example from the lead-scoring literature, checked by hand.

Points from SugarCRM's "Example Contact Scoring Profile"
(https://support.sugarcrm.com/knowledge_base/market/scoring/example_contact_scoring_profile):
1 per page visited, +10 for a pricing-page visit, 1 per e-mail open, 5 per e-mail click, 20 for
completing a landing-page form, 30 when the title contains Director/President/Chief; thresholds
0-15 cold, 16-40 warm, 41+ hot ("send Hot Lead alert"). We split the profile into fit (title)
and engagement (behaviour) and make "hot" need both, as two-dimension models do.

The lead: submits a form, opens and clicks an e-mail, is "Director of Marketing", visits four
pages (one of them /pricing).

    fit        = 30                                  (title)
    engagement = 20 + 1 + 5 + 4*1 + 10 = 40          (form, open, click, 4 pages, pricing)
    total      = 70
    stage      = warm: engagement 40 >= 16, but hot needs engagement >= 41 and fit >= 30
A fifth page view makes engagement 41: hot, and the hot-lead alert fires once.
"""

from __future__ import annotations

from tests.scoring._build import act, model, reason_points, score

M = model(
    """
    model: sugar-example
    dimensions: {fit: {ceiling: 100}, engagement: {ceiling: 999}}
    total: {ceiling: 1099}
    rules:
      - {id: title, dimension: fit, points: 30, when: {property: job_title, op: regex, value: '\\b(director|president|chief)\\b'}}
      - {id: page_visit, dimension: engagement, points: 1, activity: {types: [page_view]}}
      - {id: pricing, dimension: engagement, points: 10, activity: {types: [page_view], where: [{attribute: url, op: contains, value: /pricing}]}}
      - {id: careers, dimension: engagement, points: -100, activity: {types: [page_view], where: [{attribute: url, op: contains, value: /careers}]}}
      - {id: email_open, dimension: engagement, points: 1, activity: {types: [email_open]}}
      - {id: email_click, dimension: engagement, points: 5, activity: {types: [email_click]}}
      - {id: landing_form, dimension: engagement, points: 20, activity: {types: [form_submit]}}
      - {id: demo, dimension: engagement, points: 100, activity: {types: [demo_request]}}
    stages:
      order:
        - {name: cold}
        - {name: warm, thresholds: {engagement: 16}}
        - {name: hot, thresholds: {engagement: 41, fit: 30}}
    triggers:
      - {id: hot_lead_alert, watch: {stage: hot}, actions: [{type: create_task, subject: Hot lead alert}]}
    """
)

LEAD = {"job_title": "Director of Marketing"}
HISTORY = [
    act("form_submit", 6, form_id="ebook"),
    act("email_open", 5),
    act("email_click", 5, url="/pricing"),
    act("page_view", 4, url="/"),
    act("page_view", 4, url="/product"),
    act("page_view", 3, url="/pricing"),
    act("page_view", 2, url="/customers"),
]


def test_hand_computed_scores_and_stage() -> None:
    result = score(M, LEAD, HISTORY)
    assert result.dimensions == {"fit": 30, "engagement": 40}
    assert result.score == 70
    assert reason_points(result) == {"title": 30, "landing_form": 20, "pricing": 10, "email_click": 5, "page_visit": 4, "email_open": 1}
    assert result.stage == "warm"
    assert result.triggers == ()


def test_one_more_page_makes_the_lead_hot_and_alerts_once() -> None:
    first = score(M, LEAD, HISTORY)
    hot = score(M, LEAD, [*HISTORY, act("page_view", 1, url="/integrations")], previous=first.state)
    assert hot.dimensions["engagement"] == 41
    assert hot.stage == "hot"
    assert [e.trigger for e in hot.triggers] == ["hot_lead_alert"]
    assert score(M, LEAD, [*HISTORY, act("page_view", 1)], previous=hot.state).triggers == ()


def test_the_same_behaviour_without_the_title_is_not_hot() -> None:
    result = score(M, {"job_title": "Marketing Intern"}, [*HISTORY, act("page_view", 1)])
    assert result.dimensions == {"fit": 0, "engagement": 41}
    assert result.stage == "warm"


def test_careers_page_visit_takes_the_lead_back_to_cold_engagement() -> None:
    result = score(M, LEAD, [*HISTORY, act("page_view", 1, url="/careers")])
    assert result.dimensions["engagement"] == 0  # 41 - 100, held at the floor
    assert reason_points(result)["clamp"] == 59
