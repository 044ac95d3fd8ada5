"""Values put into SOQL with simple_salesforce.format_soql stay literals: quotes, backslashes, %, _, newlines, injections."""

from __future__ import annotations

import typing as t

import pytest
from simple_salesforce import format_soql

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads

NASTY = ["O'Brien", "back\\slash", "50% off", "under_score", "two\nlines", "tab\there", 'say "hi"', "' OR Id != '", "\\' OR Name != '", "é ünïcode"]


@pytest.fixture()
def people(sandbox: SalesforceSandbox) -> dict[str, str]:
    ids = add_leads(sandbox, *({"LastName": name, "Company": name} for name in NASTY), {"LastName": "Bystander"}, {"LastName": "50x off"})
    return dict(zip([*NASTY, "Bystander", "50x off"], ids, strict=True))


@pytest.mark.parametrize("value", NASTY)
def test_equality_finds_exactly_the_record(sf: t.Any, people: dict[str, str], value: str) -> None:
    result = sf.query(format_soql("SELECT Id, LastName FROM Lead WHERE LastName = {}", value))
    assert [r["LastName"] for r in result["records"]] == [value]


def test_injection_attempt_stays_a_string_literal(sf: t.Any, people: dict[str, str]) -> None:
    query = format_soql("SELECT Id FROM Lead WHERE LastName = {} AND Company = {}", "' OR Id != '", "nope")
    assert sf.query(query)["totalSize"] == 0
    result = sf.query(format_soql("SELECT Id FROM Lead WHERE Company = {}", "' OR Id != '"))
    assert [r["Id"] for r in result["records"]] == [people["' OR Id != '"]]


def test_in_lists_quote_every_member(sf: t.Any, people: dict[str, str]) -> None:
    result = sf.query(format_soql("SELECT LastName FROM Lead WHERE LastName IN {} ORDER BY LastName", ["O'Brien", "two\nlines", "' OR Id != '"]))
    assert sorted(r["LastName"] for r in result["records"]) == sorted(["O'Brien", "two\nlines", "' OR Id != '"])


def test_like_escapes_wildcards_with_the_like_spec(sf: t.Any, people: dict[str, str]) -> None:
    literal = sf.query(format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '{:like}%'", "50%"))
    assert [r["LastName"] for r in literal["records"]] == ["50% off"]
    wildcard = sf.query("SELECT LastName FROM Lead WHERE LastName LIKE '50% off'")
    assert sorted(r["LastName"] for r in wildcard["records"]) == ["50% off", "50x off"]
    underscore = sf.query(format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '{:like}'", "under_score"))
    assert [r["LastName"] for r in underscore["records"]] == ["under_score"]


def test_like_escapes_are_illegal_outside_like(sf: t.Any, people: dict[str, str]) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(r"SELECT Id FROM Lead WHERE LastName = '50\% off'")
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\%'" in err.value.content[0]["message"]


def test_datetimes_from_format_soql(sf: t.Any, sandbox: SalesforceSandbox, people: dict[str, str]) -> None:
    import datetime as dt

    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert format_soql("{}", since).endswith("+00:00")
    assert sf.query(format_soql("SELECT COUNT() FROM Lead WHERE SystemModstamp >= {}", since))["totalSize"] == len(people)
    assert sf.query(format_soql("SELECT COUNT() FROM Lead WHERE SystemModstamp > {}", since + dt.timedelta(hours=2)))["totalSize"] == 0
