"""Property rules: points when ``when`` holds, none otherwise; negative rules; groups; e-mail fallback."""

from __future__ import annotations

from tests.scoring._build import model, reason_points, score

M = model(
    """
    model: m
    placeholders: [Select]
    dimensions: {fit: {}}
    rules:
      - {id: title, label: job title Marketing, dimension: fit, points: 25, when: {property: job_title, op: contains, value: marketing}}
      - {id: size, dimension: fit, points: 20, when: {property: company_size, op: between, value: [50, 500]}}
      - {id: student, dimension: fit, points: -20, when: {property: job_title, op: contains, value: student}}
      - id: combo
        dimension: fit
        points: 5
        when: {all: [{property: country, op: eq, value: Germany}, {any: [{property: industry, op: eq, value: SaaS}, {property: industry, op: eq, value: Software}]}]}
      - {id: business, dimension: fit, points: 7.125, when: {property: email, op: email_domain_in, value: [acme.com]}}
    """
)


def test_matching_rules_give_their_points_with_labels() -> None:
    result = score(M, {"job_title": "Head of MARKETING", "company_size": "120"})
    assert reason_points(result) == {"title": 25, "size": 20}
    assert result.dimensions["fit"] == 45
    labels = {r.rule: (r.label, r.kind) for r in result.reasons}
    assert labels["title"] == ("job title Marketing", "rule")
    assert labels["size"] == ("size", "rule")  # no label: the id, underscores as spaces


def test_negative_rule_takes_points_and_floor_holds_with_clamp_reason() -> None:
    result = score(M, {"job_title": "Student"})
    assert result.dimensions["fit"] == 0
    assert reason_points(result) == {"student": -20, "clamp": 20}
    assert sum(r.points for r in result.reasons) == result.dimensions["fit"]


def test_nested_all_any_group() -> None:
    assert reason_points(score(M, {"country": "germany", "industry": "software"})) == {"combo": 5}
    assert reason_points(score(M, {"country": "germany", "industry": "Retail"})) == {}
    assert reason_points(score(M, {"country": "France", "industry": "SaaS"})) == {}


def test_placeholder_value_gives_no_points() -> None:
    assert reason_points(score(M, {"job_title": "Select", "company_size": ""})) == {}


def test_email_property_falls_back_to_contact_email_and_points_round_to_cents() -> None:
    result = score(M, {}, email="ana@ACME.com")
    assert reason_points(result) == {"business": 7.13}
