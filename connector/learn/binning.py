"""Cut columns into the buckets the points model gives points to: ranges, values, missing.

Each bucket knows two things that must agree: the rule condition written into the YAML (read by the
scoring engine) and which training contacts it holds (computed here with the engine's semantics:
case-insensitive values, ``gte``/``lt`` on numbers, blanks and placeholders as missing). Bins are
fitted on training rows only, so cross-validation re-fits them inside each fold.
"""

from __future__ import annotations

import dataclasses as dc
import itertools
import math
import typing as t

import numpy as np

from connector.learn.columns import Column

__all__ = ["Bucket", "fit_buckets", "nice"]

MAX_BINS = 10


def nice(x: float) -> float:
    """Round a bin edge to 3 significant digits so the YAML reads ``gte: 1.25``, not ``1.2466``."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    digits = 2 - math.floor(math.log10(abs(x)))
    out = round(x, digits)
    return float(int(out)) if out == int(out) else float(out)


@dc.dataclass(frozen=True)
class Bucket:
    """A group of contacts sharing one column's value (or range, or absence)."""

    column: str
    kind: str  # range | level | other | missing
    when: dict[str, t.Any]
    text: str
    low: float | None = None
    high: float | None = None
    level: str | None = None
    levels: tuple[str, ...] = ()

    def members(self, col: Column) -> np.ndarray:
        """Which rows of ``col`` fall in this bucket (boolean mask)."""
        if self.kind == "missing":
            return col.missing.copy()
        if self.kind == "level":
            return (~col.missing) & (col.text == self.level)
        if self.kind == "other":
            return (~col.missing) & ~np.isin(col.text, list(self.levels))
        x = col.numbers
        ok = np.isfinite(x)
        if self.low is not None:
            ok &= x >= self.low
        if self.high is not None:
            ok &= x < self.high
        return ok


def _edges(values: np.ndarray, min_size: int) -> list[float]:
    """Quantile edges with at least ``min_size`` training rows in each bin."""
    if values.size < 2 * min_size:
        return []
    n_bins = int(min(MAX_BINS, values.size // min_size))
    raw = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    edges = sorted({nice(float(e)) for e in raw})
    # A bin is [edge_i, edge_i+1); drop edges that leave a bin too small, then the edge at the minimum.
    kept: list[float] = []
    last = -math.inf
    for e in edges:
        count = int(((values >= last) & (values < e)).sum())
        if count >= min_size and e > values.min():
            kept.append(e)
            last = e
    while kept and int((values >= kept[-1]).sum()) < min_size:
        kept.pop()
    return kept


def _cond(column: str, op: str, value: t.Any = None) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"property": column, "op": op}
    if value is not None:
        out["value"] = value
    return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def fit_buckets(col: Column, rows: np.ndarray, *, min_size: int) -> list[Bucket]:
    """The buckets of ``col`` fitted on training ``rows``; empty for unusable columns."""
    buckets: list[Bucket] = []
    name = col.name
    if col.multi:
        return []
    missing = col.missing[rows]
    if col.kind == "number":
        x = col.numbers[rows]
        values = x[np.isfinite(x)]
        edges = _edges(values, min_size)
        bounds = [None, *edges, None]
        for low, high in itertools.pairwise(bounds):
            if low is None and high is None:
                continue
            if low is None:
                when = _cond(name, "lt", _num(t.cast(float, high)))
                text = f"{name} < {high:g}"
            elif high is None:
                when = _cond(name, "gte", _num(low))
                text = f"{name} >= {low:g}"
            else:
                when = {"all": [_cond(name, "gte", _num(low)), _cond(name, "lt", _num(high))]}
                text = f"{name} {low:g} to under {high:g}"
            buckets.append(Bucket(name, "range", when, text, low=low, high=high))
    elif col.kind == "category":
        counts: dict[str, int] = {}
        for v in col.text[rows][~missing]:
            counts[v] = counts.get(v, 0) + 1
        levels = sorted((k for k, n in counts.items() if n >= min_size), key=lambda k: (-counts[k], k))
        for level in levels:
            shown = col.spelling.get(level, level)
            buckets.append(Bucket(name, "level", _cond(name, "eq", shown), f"{name} is {shown}", level=level))
        rare = sum(n for k, n in counts.items() if k not in levels)
        if levels and rare >= min_size:
            listed = [col.spelling.get(k, k) for k in levels]
            buckets.append(Bucket(name, "other", _cond(name, "not_in", listed), f"{name} is another value", levels=tuple(levels)))
    else:
        return []
    if buckets and missing.any():
        buckets.append(Bucket(name, "missing", _cond(name, "missing"), f"{name} not given"))
    return buckets
