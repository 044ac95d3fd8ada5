"""The condition schema: ``when:`` on contact properties, ``where:`` on activity attributes.

One test (:class:`Condition`) or an ``all:``/``any:`` group of them, nesting; what each operator
means is the evaluator's (:mod:`connector.scoring.conditions`), checked here only for shape.
"""

from __future__ import annotations

import builtins
import math
import re
import typing as t

from pydantic import Discriminator, Field, Tag, model_validator

from connector.scoring.model.base import Strict

__all__ = ["AllOf", "AnyOf", "Condition", "Operator", "When"]

Operator = t.Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "ends_with",
    "regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "exists",
    "missing",
    "email_domain_in",
]


class Condition(Strict):
    """One test on a contact property (``property``) or an activity attribute (``attribute``).

    Semantics (implemented in ``connector.scoring.conditions``):
    - string comparisons are case-insensitive unless ``case_sensitive: true``;
    - ``gt/gte/lt/lte/between`` compare numbers (values that do not parse as numbers never match);
    - ``in/not_in/email_domain_in/between`` take a list (``between``: ``[low, high]``, inclusive);
    - ``contains/starts_with/ends_with/regex`` take one value or a list (any item matches);
    - ``exists``/``missing`` take no value; blank strings and placeholder values count as missing;
    - ``email_domain_in`` matches the part after ``@`` (or the whole value if it is a bare domain),
      including sub-domains (``mail.acme.com`` is in ``[acme.com]``);
    - a missing value never matches any operator except ``missing`` and ``ne``/``not_in``, which
      are false for a missing value too (use ``missing`` explicitly).
    """

    property: str | None = None
    attribute: str | None = None
    op: Operator = "eq"
    value: t.Any = None
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if (self.property is None) == (self.attribute is None):
            raise ValueError("a condition names exactly one of 'property' or 'attribute'")
        if self.op in ("exists", "missing"):
            if self.value is not None:
                raise ValueError(f"operator '{self.op}' takes no value")
        elif self.value is None:
            raise ValueError(f"operator '{self.op}' needs a value")
        if self.op in ("in", "not_in", "email_domain_in") and not isinstance(self.value, list):
            raise ValueError(f"operator '{self.op}' needs a list value, e.g. [a, b]")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError("operator 'between' needs a list of two numbers: [low, high]")
            try:
                low, high = (float(v) for v in self.value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError("operator 'between' needs two numbers: [low, high]") from None
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError("operator 'between' needs two finite numbers: [low, high]")
            if low > high:
                raise ValueError("operator 'between': low is greater than high")
        if self.op in ("gt", "gte", "lt", "lte"):
            try:
                bound = float(t.cast(t.Any, self.value))
            except (TypeError, ValueError, OverflowError):
                bound = math.nan
            if isinstance(self.value, bool) or not math.isfinite(bound):
                raise ValueError(f"operator '{self.op}' needs a finite number, got {self.value!r}")
        if self.op in ("eq", "ne", "in", "not_in"):
            for item in self.value if isinstance(self.value, list) else [self.value]:
                if isinstance(item, (int, float)) and not isinstance(item, bool) and not _finite(item):
                    raise ValueError(f"operator '{self.op}' compares with numbers, and {item!r} is not a finite one")
        if self.op in ("eq", "ne") and isinstance(self.value, (list, dict)):
            raise ValueError(f"operator '{self.op}' compares with one value; for a list use '{'in' if self.op == 'eq' else 'not_in'}'")
        if self.op == "regex":
            for pattern in self.value if isinstance(self.value, list) else [self.value]:
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return self

    @builtins.property
    def field(self) -> str:
        """The property or attribute name this condition reads."""
        return t.cast(str, self.property if self.property is not None else self.attribute)


def _finite(number: float) -> bool:
    """Whether a YAML number is a finite float (a 400-digit integer is not: it overflows)."""
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def _when_kind(value: t.Any) -> str:
    """Pick the union member by its key, so errors speak of the member the admin meant."""
    if isinstance(value, dict):
        if "all" in value:
            return "<all>"
        if "any" in value:
            return "<any>"
        return "<condition>"
    if isinstance(value, AllOf):
        return "<all>"
    if isinstance(value, AnyOf):
        return "<any>"
    return "<condition>"


class AllOf(Strict):
    """Every nested condition must hold."""

    all: list[When] = Field(min_length=1)


class AnyOf(Strict):
    """At least one nested condition must hold."""

    any: list[When] = Field(min_length=1)


#: A condition or a group: what ``when:`` and each ``where:`` item hold. Defined after the
#: groups, which contain it, so that every module importing it gets resolved classes.
When = t.Annotated[
    t.Annotated[Condition, Tag("<condition>")] | t.Annotated[AllOf, Tag("<all>")] | t.Annotated[AnyOf, Tag("<any>")],
    Discriminator(_when_kind),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
