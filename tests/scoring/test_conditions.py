"""Every operator of one condition on one value, as both engines share it."""

from __future__ import annotations

import typing as t

import pytest

from connector.scoring.conditions import is_missing, matches
from connector.scoring.conditions import test as check
from connector.scoring.model import AllOf, AnyOf, Condition

PH = frozenset({"Select"})


def c(op: str, value: t.Any = None, **kw: t.Any) -> Condition:
    return Condition(property="p", op=op, value=value, **kw)


@pytest.mark.parametrize(
    ("cond", "value", "expected"),
    [
        (c("eq", "Marketing"), "  marketing ", True),
        (c("eq", "Marketing", case_sensitive=True), "marketing", False),
        (c("eq", "Marketing", case_sensitive=True), "Marketing", True),
        (c("eq", 50), "50.0", True),
        (c("eq", 50), 50, True),
        (c("eq", 50), "fifty", False),
        (c("eq", True), "true", True),
        (c("ne", "retail"), "Software", True),
        (c("ne", "retail"), "RETAIL", False),
        (c("in", ["SaaS", "Software"]), "software", True),
        (c("in", ["SaaS", 10]), "10", True),
        (c("in", ["SaaS"]), "Retail", False),
        (c("not_in", ["SaaS"]), "Retail", True),
        (c("not_in", ["SaaS"]), "saas", False),
        (c("contains", "market"), "VP Marketing", True),
        (c("contains", ["growth", "demand"]), "Demand Gen", True),
        (c("contains", "MARKET", case_sensitive=True), "VP Marketing", False),
        (c("starts_with", "/pricing"), "/Pricing/enterprise", True),
        (c("starts_with", "/pricing"), "/blog/pricing", False),
        (c("ends_with", ".pdf"), "guide.PDF", True),
        (c("regex", r"\bvp\b"), "VP Sales", True),
        (c("regex", r"\bvp\b", case_sensitive=True), "VP Sales", False),
        (c("regex", r"^\d+$"), 1234, True),
        (c("gt", 100), "150", True),
        (c("gt", 100), 100, False),
        (c("gte", 100), "100", True),
        (c("lt", 10), 9.5, True),
        (c("lte", 10), "10", True),
        (c("lt", 10), "ten", False),
        (c("gt", 0), True, False),
        (c("between", [50, 5000]), "50", True),
        (c("between", [50, 5000]), 5000, True),
        (c("between", [50, 5000]), 5001, False),
        (c("exists"), "x", True),
        (c("exists"), 0, True),
        (c("missing"), "x", False),
        (c("email_domain_in", ["acme.com"]), "Bob@ACME.com", True),
        (c("email_domain_in", ["acme.com"]), "bob@mail.acme.com", True),
        (c("email_domain_in", ["acme.com"]), "bob@notacme.com", False),
        (c("email_domain_in", ["@acme.com"]), "acme.com", True),
        (c("email_domain_in", ["acme.com"]), "bob@", False),
    ],
)
def test_operator(cond: Condition, value: t.Any, expected: bool) -> None:
    assert check(cond, value, PH) is expected


@pytest.mark.parametrize("value", [None, "", "   ", "Select", " select ", float("nan"), [], ["", "Select"]])
def test_missing_values_match_only_missing(value: t.Any) -> None:
    assert is_missing(value, PH)
    assert check(c("missing"), value, PH)
    for cond in (c("exists"), c("eq", "Select"), c("ne", "x"), c("not_in", ["x"]), c("lt", 5), c("contains", "")):
        assert not check(cond, value, PH), cond


def test_placeholders_compare_case_insensitively_and_only_when_given() -> None:
    assert check(c("eq", "select"), "Select", frozenset())
    assert not check(c("exists"), "SELECT", frozenset({"select"}))


def test_list_values_match_if_any_element_matches() -> None:
    value = ["Retail", "SaaS"]
    assert check(c("eq", "saas"), value, PH)
    assert check(c("in", ["SaaS", "Banking"]), value, PH)
    assert check(c("contains", "ret"), value, PH)
    assert not check(c("ne", "saas"), value, PH)  # ne: no element equals
    assert check(c("ne", "banking"), value, PH)
    assert not check(c("not_in", ["retail"]), value, PH)
    assert check(c("gt", 5), ["x", "7"], PH)


def test_all_any_groups_and_absent_keys() -> None:
    title = Condition(property="title", op="contains", value="market")
    size = Condition(property="size", op="gte", value=100)
    values = {"title": "Marketing lead", "size": "50"}
    assert not matches(AllOf(all=[title, size]), values, PH)
    assert matches(AnyOf(any=[title, size]), values, PH)
    assert matches(AnyOf(any=[AllOf(all=[title]), size]), values, PH)
    assert not matches(Condition(property="country", op="ne", value="x"), values, PH)
    assert matches(Condition(property="country", op="missing"), values, PH)
