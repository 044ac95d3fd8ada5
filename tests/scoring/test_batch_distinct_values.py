"""Per-distinct-value answers (with their shortcuts) equal ``conditions.test`` value by value.

The shortcuts of :class:`DistinctValues` (present long strings, e-mail tails, heads/ends,
vectorised numbers) must never change an answer; adversarial values aim at their edges:
Unicode whitespace and case folding (``ß`` -> ``ss``), placeholders padded with spaces,
several ``@``, trailing dots, numbers as strings with spaces, booleans, NaN, lists.
"""

from __future__ import annotations

import random
import typing as t

import pytest

from connector.scoring import conditions
from connector.scoring.batch.distinct import DistinctValues
from connector.scoring.model import Condition

PLACEHOLDERS = frozenset({"Select", " N/A ", "n@n.io", "ẞ"})

ALPHABET = ["a", "c", "m", "e", ".", "o", "@", "s", "S", "ß", " ", "n", "İ", "i", "1", "0"]
PIECES = ["ann", "BOB", "ß", "ẞ", "straße", "İ", "x", "@", "@@", ".", "acme.com", "ACME.COM.", "mail.acme.com", "gmail.com", "rival.io", " ", "\u2003", "\t", "-", "1", "250", "1e3", "nan", ""]


def _values(rng: random.Random, n: int) -> list[t.Any]:
    out: list[t.Any] = [None, True, False, float("nan"), 0, 10, 12.5, -3, "Select", "  select  ", " N/A", "n@n.io", "N@N.IO", "  n@n.io\u2003", "ẞ", "ss", "SS ", "", "   ", ["a@acme.com", "b@gmail.com"], ("250",), ["Select"]]
    while len(out) < n:
        if rng.random() < 0.5:
            text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 7)))
        else:  # a tiny alphabet, so values differ right at every prefix/suffix boundary
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 16)))
        out.append(text)
        if rng.random() < 0.1:
            out.append(str(rng.randint(-50, 5000)) + rng.choice(["", " ", "\u2003"]))
    return out


CONDITIONS = [
    Condition(property="p", op="exists"),
    Condition(property="p", op="missing"),
    Condition(property="p", op="email_domain_in", value=["acme.com", "GMAIL.com", "@rival.io", "acme.com."]),
    Condition(property="p", op="email_domain_in", value=["ss"]),
    Condition(property="p", op="ends_with", value=["acme.com", "ss"]),
    Condition(property="p", op="ends_with", value="SS", case_sensitive=True),
    Condition(property="p", op="ends_with", value=[" straße "]),
    Condition(property="p", op="starts_with", value=["ann", "ß"]),
    Condition(property="p", op="starts_with", value=["acme", "ss"]),
    Condition(property="p", op="ends_with", value=["e.com", "mss"]),
    Condition(property="p", op="starts_with", value="İ", case_sensitive=True),
    Condition(property="p", op="gt", value=10),
    Condition(property="p", op="gte", value="250"),
    Condition(property="p", op="lt", value=0),
    Condition(property="p", op="lte", value=1000.5),
    Condition(property="p", op="between", value=[1, 250]),
    Condition(property="p", op="contains", value="acme"),
]


@pytest.mark.parametrize("cond", CONDITIONS, ids=lambda c: f"{c.op}-{c.value}")
def test_answers_equal_test_for_every_value(cond: Condition) -> None:
    values = _values(random.Random(5), 3000)
    got = DistinctValues(values, PLACEHOLDERS).answers(cond)
    want = [conditions.test(cond, v, PLACEHOLDERS) for v in values]
    bad = [(v, w) for v, g, w in zip(values, got.tolist(), want, strict=False) if g != w]
    assert not bad, f"{cond.op} {cond.value!r}: batch differs from conditions.test on {bad[:5]}"


def test_shared_column_facts_serve_several_conditions() -> None:
    values = _values(random.Random(9), 500)
    facts = DistinctValues(values, PLACEHOLDERS)
    for cond in CONDITIONS:  # the same object caches tails/heads/numbers between conditions
        assert facts.answers(cond).tolist() == [conditions.test(cond, v, PLACEHOLDERS) for v in values]
