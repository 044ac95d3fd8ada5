"""CRM search: operators by property type, sorting, paging, limits and the 10,000-result cap."""

from __future__ import annotations

import typing as t

import pytest
import requests

from connector.sandbox.hubspot import HubSpotSandbox

URL = "/crm/v3/objects/contacts/search"


def _search(http: requests.Session, sb: HubSpotSandbox, filters: list[dict[str, t.Any]], **extra: t.Any) -> requests.Response:
    body = {"filterGroups": [{"filters": filters}] if filters else [], "limit": 100, **extra}
    return http.post(sb.base_url + URL, json=body)


def _ids(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["results"]]


@pytest.fixture()
def people(sandbox: HubSpotSandbox) -> list[str]:
    sandbox.clock.set_ms(1_700_000_000_000)
    rows = [
        {"email": "Ada@Example.com", "jobtitle": "Chief Technology Officer", "annualrevenue": "1000000", "lifecyclestage": "lead"},
        {"email": "bob@example.com", "jobtitle": "VP of Sales", "annualrevenue": "250000", "lifecyclestage": "customer"},
        {"email": "cy@other.org", "jobtitle": "Student"},
    ]
    ids = []
    for row in rows:
        ids += sandbox.store.add_contacts([row])
        sandbox.clock.advance(seconds=1)
    return ids


def test_string_equality_is_case_insensitive(sandbox: HubSpotSandbox, http: requests.Session, people: list[str]) -> None:
    assert _ids(_search(http, sandbox, [{"propertyName": "email", "operator": "EQ", "value": "ada@example.COM"}])) == [people[0]]
    assert _ids(_search(http, sandbox, [{"propertyName": "email", "operator": "NEQ", "value": "ada@example.com"}])) == people[1:]


def test_numbers_compare_numerically_and_missing_values_do_not_match(sandbox: HubSpotSandbox, http: requests.Session, people: list[str]) -> None:
    assert _ids(_search(http, sandbox, [{"propertyName": "annualrevenue", "operator": "GT", "value": "300000"}])) == [people[0]]
    assert _ids(_search(http, sandbox, [{"propertyName": "annualrevenue", "operator": "LTE", "value": "250000"}])) == [people[1]]
    between = [{"propertyName": "annualrevenue", "operator": "BETWEEN", "value": "1", "highValue": "250000"}]
    assert _ids(_search(http, sandbox, between)) == [people[1]]


def test_dates_accept_epoch_ms_and_iso(sandbox: HubSpotSandbox, http: requests.Session, people: list[str]) -> None:
    by_ms = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1700000001000"}]
    by_iso = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "2023-11-14T22:13:21.000Z"}]
    assert _ids(_search(http, sandbox, by_ms, sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}])) == people[1:]
    assert _ids(_search(http, sandbox, by_iso)) == people[1:]
    lt = [{"propertyName": "createdate", "operator": "LT", "value": "1700000001000"}]
    assert _ids(_search(http, sandbox, lt)) == [people[0]]


def test_in_has_property_and_tokens(sandbox: HubSpotSandbox, http: requests.Session, people: list[str]) -> None:
    assert _ids(_search(http, sandbox, [{"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead", "customer"]}])) == people[:2]
    assert _ids(_search(http, sandbox, [{"propertyName": "lifecyclestage", "operator": "NOT_IN", "values": ["lead"]}])) == people[1:]
    assert _ids(_search(http, sandbox, [{"propertyName": "annualrevenue", "operator": "HAS_PROPERTY"}])) == people[:2]
    assert _ids(_search(http, sandbox, [{"propertyName": "annualrevenue", "operator": "NOT_HAS_PROPERTY"}])) == [people[2]]
    assert _ids(_search(http, sandbox, [{"propertyName": "jobtitle", "operator": "CONTAINS_TOKEN", "value": "technology"}])) == [people[0]]
    assert _ids(_search(http, sandbox, [{"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}])) == people[:2]
    assert _ids(_search(http, sandbox, [{"propertyName": "jobtitle", "operator": "NOT_CONTAINS_TOKEN", "value": "vp"}])) == [people[0], people[2]]


def test_groups_are_ored_filters_anded(sandbox: HubSpotSandbox, http: requests.Session, people: list[str]) -> None:
    body = {"filterGroups": [
        {"filters": [{"propertyName": "jobtitle", "operator": "EQ", "value": "student"}]},
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
                     {"propertyName": "annualrevenue", "operator": "GT", "value": "5"}]},
    ]}
    assert _ids(http.post(sandbox.base_url + URL, json=body)) == [people[0], people[2]]


def test_sorting_both_directions_and_string_sort_form(sandbox: HubSpotSandbox, http: requests.Session, people: list[str]) -> None:
    desc = _search(http, sandbox, [], sorts=[{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}])
    assert _ids(desc) == people[::-1]
    by_revenue = _search(http, sandbox, [], sorts=["-annualrevenue"])
    assert _ids(by_revenue) == [people[0], people[1], people[2]]  # missing values last


def test_paging_and_limits(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    sandbox.store.add_contacts([{"email": f"p{i}@x.io"} for i in range(450)])
    seen: list[str] = []
    after = None
    while True:
        body = {"limit": 200, "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}]}
        if after:
            body["after"] = after
        page = http.post(sandbox.base_url + URL, json=body).json()
        seen += [r["id"] for r in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert len(seen) == 450 == len(set(seen))
    too_big = http.post(sandbox.base_url + URL, json={"limit": 201})
    assert too_big.status_code == 400 and too_big.json()["category"] == "VALIDATION_ERROR"


def test_ten_thousand_result_cap(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    answer = http.post(sandbox.base_url + URL, json={"limit": 200, "after": "9900"})
    assert answer.status_code == 400
    assert "10,000" in answer.json()["message"]
    assert http.post(sandbox.base_url + URL, json={"limit": 100, "after": "9900"}).status_code == 200


def test_more_than_ten_thousand_in_one_millisecond_are_all_reachable_by_id_windows(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    stamp = 1_700_000_000_123
    sandbox.store.add_contacts(({"email": f"b{i}@x.io"} for i in range(10_050)), modified_at_ms=stamp)
    body = {"limit": 200, "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(stamp)}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
    first = http.post(sandbox.base_url + URL, json=body).json()
    assert first["total"] == 10_050
    capped = http.post(sandbox.base_url + URL, json={**body, "limit": 100, "after": "9900"}).json()
    assert capped["paging"]["next"]["after"] == "10000"
    past = http.post(sandbox.base_url + URL, json={**body, "limit": 1, "after": "10000"})
    assert past.status_code == 400  # the 10,000th result is the last reachable one
    rest = {"limit": 200, "filterGroups": [{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(stamp)},
        {"propertyName": "hs_object_id", "operator": "GT", "value": capped["results"][-1]["id"]}]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
    assert http.post(sandbox.base_url + URL, json=rest).json()["total"] == 50


@pytest.mark.parametrize(("body", "fragment"), [
    ({"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]}, "nope"),
    ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "1"}]}]}, "LIKE"),
    ({"filterGroups": [{"filters": [{"propertyName": "annualrevenue", "operator": "GT", "value": "lots"}]}]}, "lots"),
    ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN"}]}]}, "values"),
    ({"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]}, "one sort"),
    ({"filterGroups": [{"filters": []}] * 6}, "filter groups"),
])
def test_bad_requests_are_400_naming_the_problem(sandbox: HubSpotSandbox, http: requests.Session, body: dict[str, t.Any], fragment: str) -> None:
    answer = http.post(sandbox.base_url + URL, json=body)
    assert answer.status_code == 400
    assert fragment in answer.json()["message"]


def test_search_answers_have_no_rate_limit_headers(sandbox: HubSpotSandbox) -> None:
    with HubSpotSandbox(rate_limit="190/10s", search_rate="5/s") as limited:
        answer = requests.post(limited.base_url + URL, json={}, headers={"Authorization": f"Bearer {limited.token}"})
        assert answer.status_code == 200
        assert not [h for h in answer.headers if h.lower().startswith("x-hubspot-ratelimit")]
