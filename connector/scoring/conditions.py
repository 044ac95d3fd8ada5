"""One condition on one value: the exact matching semantics both scoring engines share.

The batch engine calls :func:`test` once per *distinct* value of a column and broadcasts the
answer, so everything here must depend only on ``(condition, value, placeholders)``: no clock, no
contact, no hidden state. ``docs/scoring-semantics.md`` (section 2 and 3) is the contract; this
module is its reading.
"""

from __future__ import annotations

import functools
import math
import re
import typing as t

from connector.scoring.model import AllOf, AnyOf, Condition, When

__all__ = ["is_missing", "matches", "normalize_placeholders", "present_values", "test", "to_number"]

#: Operators that hold for a list-valued property when any element holds.
_NEGATED = {"ne": "eq", "not_in": "in"}


@functools.lru_cache(maxsize=256)
def normalize_placeholders(placeholders: frozenset[str]) -> frozenset[str]:
    """Placeholders compared the way values are: stripped and case-folded (cached per set)."""
    return frozenset(p.strip().casefold() for p in placeholders)


def is_missing(value: t.Any, placeholders: frozenset[str] = frozenset()) -> bool:
    """True for an absent answer: ``None``, NaN, blank text, a placeholder, or a list of those.

    Forms and CSV exports are full of ``""`` and ``Select``; counting them as answers would give
    points for an empty dropdown.
    """
    return not present_values(value, placeholders)


def present_values(value: t.Any, placeholders: frozenset[str] = frozenset()) -> list[t.Any]:
    """The non-missing scalar values inside ``value`` (a multi-select list gives several)."""
    norm = normalize_placeholders(placeholders if isinstance(placeholders, frozenset) else frozenset(placeholders)) if placeholders else None
    if isinstance(value, (list, tuple, set, frozenset)):
        return [item for item in value if _present(item, norm)]
    return [value] if _present(value, norm) else []


def _present(item: t.Any, norm: frozenset[str] | None) -> bool:
    if item is None:
        return False
    if isinstance(item, str):
        text = item.strip()
        return bool(text) and (norm is None or text.casefold() not in norm)
    if isinstance(item, float):
        return not math.isnan(item)
    return True


def to_number(value: t.Any) -> float | None:
    """``float(value)`` for numbers and numeric strings; ``None`` for booleans and anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float's range reads as its text would: infinite
            return math.inf if value > 0 else -math.inf
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(number) else number


def _is_numeric_rule_value(value: t.Any) -> bool:
    """A YAML number (not a boolean) in the rule makes ``eq``/``in`` compare numerically."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: t.Any, case_sensitive: bool) -> str:
    text = str(value).strip()
    return text if case_sensitive else text.casefold()


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    return re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)


def _domain(value: t.Any) -> str:
    """The domain of an e-mail address (or a bare domain), lower-cased, without a trailing dot."""
    text = str(value).strip().casefold()
    return text.rsplit("@", 1)[-1].strip().rstrip(".")


def _eq(item: t.Any, expected: t.Any, case_sensitive: bool) -> bool:
    if _is_numeric_rule_value(expected):
        number = to_number(item)
        if number is not None:
            return number == float(expected)
    return _text(item, case_sensitive) == _text(expected, case_sensitive)


def _as_list(value: t.Any) -> list[t.Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _one(op: str, item: t.Any, expected: t.Any, case_sensitive: bool) -> bool:
    """A positive operator on one present scalar value."""
    if op == "eq":
        return _eq(item, expected, case_sensitive)
    if op == "in":
        return any(_eq(item, e, case_sensitive) for e in _as_list(expected))
    if op in ("contains", "starts_with", "ends_with"):
        text = _text(item, case_sensitive)
        needles = [_text(e, case_sensitive) for e in _as_list(expected)]
        if op == "contains":
            return any(n in text for n in needles)
        if op == "starts_with":
            return any(text.startswith(n) for n in needles)
        return any(text.endswith(n) for n in needles)
    if op == "regex":
        text = str(item).strip()
        return any(_regex(str(e), case_sensitive).search(text) is not None for e in _as_list(expected))
    if op == "email_domain_in":
        domain = _domain(item)
        if not domain:
            return False
        for entry in _as_list(expected):
            wanted = str(entry).strip().casefold().lstrip("@").rstrip(".")
            if wanted and (domain == wanted or domain.endswith("." + wanted)):
                return True
        return False
    number = to_number(item)
    if number is None:
        return False
    if op == "between":
        low, high = (float(v) for v in expected)
        return low <= number <= high
    bound = float(expected)
    if op == "gt":
        return number > bound
    if op == "gte":
        return number >= bound
    if op == "lt":
        return number < bound
    if op == "lte":
        return number <= bound
    raise ValueError(f"unknown operator {op!r}")  # pragma: no cover - the schema forbids it


def test(cond: Condition, value: t.Any, placeholders: frozenset[str]) -> bool:
    """Whether ``cond`` holds for ``value`` (the raw property or attribute value, maybe absent).

    - a missing value (see :func:`is_missing`) matches only ``missing``;
    - a list value (multi-select) matches a positive operator when any element does;
    - ``ne``/``not_in`` are the negation of ``eq``/``in`` for a present value (so a list matches
      ``ne x`` only when no element equals ``x``).
    """
    present = present_values(value, placeholders)
    if cond.op == "missing":
        return not present
    if not present:
        return False
    if cond.op == "exists":
        return True
    if cond.op in _NEGATED:
        positive = _NEGATED[cond.op]
        return not any(_one(positive, item, cond.value, cond.case_sensitive) for item in present)
    return any(_one(cond.op, item, cond.value, cond.case_sensitive) for item in present)


# ``test`` is a pytest-collectable name; tell pytest this function is not a test.
test.__test__ = False  # type: ignore[attr-defined]


def matches(when: When, values: t.Mapping[str, t.Any], placeholders: frozenset[str]) -> bool:
    """Evaluate a condition or an ``all``/``any`` group against a mapping of named values.

    ``values`` is a contact's properties (property conditions) or an activity's attributes
    (attribute conditions); an absent key is a missing value.
    """
    if isinstance(when, AllOf):
        return all(matches(w, values, placeholders) for w in when.all)
    if isinstance(when, AnyOf):
        return any(matches(w, values, placeholders) for w in when.any)
    return test(when, values.get(when.field), placeholders)
