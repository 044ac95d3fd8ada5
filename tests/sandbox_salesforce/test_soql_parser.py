"""The SOQL lexer and parser on their own: syntax tree, escapes, positions of errors."""

from __future__ import annotations

import pytest

from connector.sandbox.salesforce.soql.lexer import SoqlSyntaxError, decode_string, like_regex
from connector.sandbox.salesforce.soql.parser import And, Comparison, Count, InList, Like, Not, Or, Path, parse


def test_select_paths_where_order_limit_offset() -> None:
    q = parse("select Id, Owner.Email from Lead where IsConverted = false order by SystemModstamp desc nulls last, Id limit 10 offset 5")
    assert [p.parts for p in q.items if isinstance(p, Path)] == [("Id",), ("Owner", "Email")]
    assert q.sobject == "Lead" and q.limit == 10 and q.offset == 5
    assert isinstance(q.where, Comparison) and q.where.value.kind == "boolean" and q.where.value.value is False
    assert [(o.path.text, o.descending, o.nulls_last) for o in q.order] == [("SystemModstamp", True, True), ("Id", False, False)]


def test_boolean_structure_with_parentheses_and_not() -> None:
    q = parse("SELECT Id FROM Lead WHERE (A = 1 OR B = 2) AND NOT C IN ('x', 'y') AND D LIKE 'a%'")
    assert isinstance(q.where, And)
    first, second, third = q.where.items
    assert isinstance(first, Or) and isinstance(second, Not) and isinstance(second.expr, InList) and isinstance(third, Like)


@pytest.mark.parametrize("query", [
    "SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3",
    "SELECT Id FROM Lead WHERE A = 1 OR B = 2 AND C = 3",
])
def test_mixing_and_or_without_parentheses_is_refused(query: str) -> None:
    with pytest.raises(SoqlSyntaxError, match="unexpected token"):
        parse(query)


def test_literals() -> None:
    q = parse("SELECT Id FROM Lead WHERE A = 2024-01-01T00:00:00Z AND B = 2024-01-01 AND C = LAST_N_DAYS:30 AND D = 1.5 AND E = null AND F = TODAY "
              "AND G = 2024-01-01T00:00:00.000+01:00")
    assert isinstance(q.where, And)
    kinds = [t.value.kind for t in q.where.items if isinstance(t, Comparison)]
    assert kinds == ["datetime", "date", "dateliteral", "number", "null", "dateliteral", "datetime"]
    assert q.where.items[2].value.value == ("LAST_N_DAYS", 30)  # type: ignore[union-attr]


def test_count_and_semi_join() -> None:
    q = parse("SELECT COUNT() FROM Lead WHERE Id IN (SELECT LeadId FROM CampaignMember WHERE Status = 'Attended')")
    assert isinstance(q.items[0], Count) and q.count_only
    assert isinstance(q.where, InList) and q.where.subquery is not None and q.where.subquery.sobject == "CampaignMember"


@pytest.mark.parametrize(("raw", "value"), [
    (r"O\'Brien", "O'Brien"), (r"back\\slash", "back\\slash"), (r"line\nbreak", "line\nbreak"), (r"tab\Tand\rcr", "tab\tand\rcr"),
    (r"quote\"d", 'quote"d'), (r"\u00e9t\u00E9", "été"), (r"bell\b\f", "bell\b\f"),
])
def test_string_escapes(raw: str, value: str) -> None:
    assert decode_string(raw) == value


@pytest.mark.parametrize("raw", [r"50\%", r"a\_b", r"bad\q", "trailing\\"])
def test_escapes_outside_their_context_are_illegal(raw: str) -> None:
    with pytest.raises(SoqlSyntaxError, match="Illegal character sequence"):
        decode_string(raw)


def test_like_patterns() -> None:
    assert like_regex("Ter%").fullmatch("terminal") and not like_regex("Ter%").fullmatch("xTer")
    assert like_regex(r"Ter\%").fullmatch("Ter%") and not like_regex(r"Ter\%").fullmatch("Terx")
    assert like_regex(r"a\_b").fullmatch("a_b") and not like_regex(r"a\_b").fullmatch("axb")
    assert like_regex("a_b").fullmatch("axb") and like_regex("%.*%").fullmatch("x.*y") and not like_regex("%.*%").fullmatch("xy")


@pytest.mark.parametrize(("query", "message", "pos"), [
    ("SELECT Id FROM Lead WHERE Name = 'open", "mismatched character '<EOF>'", -1),
    ("SELECT Id FROM Lead WHERE", "unexpected token: <EOF>", 25),
    ("SELECT Id, FROM Lead", "unexpected token: 'FROM'", 11),
    ("SELECT Id FROM Lead LIMIT x", "unexpected token: 'x'", 26),
    ("SELECT Id FROM Lead WHERE A = 2024-01-01T00:00:00+0000", "no viable alternative", 30),
    ("SELECT Id FROM Lead WHERE A == 1", "unexpected token: '='", 29),
    ("", "unexpected token: <EOF>", 0),
    ("DELETE FROM Lead", "unexpected token: 'DELETE'", 0),
])
def test_syntax_errors_say_where(query: str, message: str, pos: int) -> None:
    with pytest.raises(SoqlSyntaxError) as err:
        parse(query)
    assert message in err.value.message
    assert err.value.pos == pos
