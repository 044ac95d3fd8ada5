"""The readable points model: integer points per value, range and activity, fitted from outcomes.

How: every bucket (see :mod:`connector.learn.binning`) and every capped activity count becomes a
column of a regularised logistic regression; its coefficients (log-odds) are scaled so that
``POINTS_PER_DOUBLING`` points double the odds of converting, centred per property (so 0 is "an
average contact", negative means "converts less than average") and rounded to integers. Buckets
that round to 0 points get no rule.
"""

from __future__ import annotations

import dataclasses as dc
import math
import re
import typing as t

import numpy as np

from connector.learn.binning import Bucket, fit_buckets
from connector.learn.columns import Column

__all__ = [
    "POINTS_PER_DOUBLING",
    "ActivityCounts",
    "ActivityTerm",
    "PointRule",
    "PointsModel",
    "fit_points",
    "slug",
]

#: Points that double the odds of converting (the scorecard convention "points to double odds").
POINTS_PER_DOUBLING = 10.0
#: Days of the "recent activity" rule.
RECENT_DAYS = 30.0


@dc.dataclass(frozen=True)
class ActivityCounts:
    """Per activity type, how many each contact did (all time and within ``RECENT_DAYS``)."""

    type: str
    total: np.ndarray
    recent: np.ndarray


@dc.dataclass(frozen=True)
class ActivityTerm:
    """Points per activity of one type, counting at most ``cap`` (optionally only recent ones)."""

    type: str
    cap: int
    within_days: float | None

    def values(self, counts: ActivityCounts) -> np.ndarray:
        """Capped count per contact."""
        raw = counts.recent if self.within_days else counts.total
        return np.minimum(raw, self.cap).astype(np.float64)

    @property
    def text(self) -> str:
        """What the rule is about, for labels."""
        window = f" in the last {self.within_days:g} days" if self.within_days else ""
        return f"each {self.type}{window} (up to {self.cap})"


@dc.dataclass
class PointRule:
    """A learned rule: its bucket or activity term, points, and the evidence behind it."""

    points: int
    bucket: Bucket | None = None
    term: ActivityTerm | None = None
    n: int = 0
    rate: float = 0.0

    @property
    def text(self) -> str:
        """Readable label."""
        if self.bucket is not None:
            return self.bucket.text
        return t.cast(ActivityTerm, self.term).text


@dc.dataclass
class PointsModel:
    """Fitted rules plus the range of sums they can produce."""

    rules: list[PointRule]
    floor: int
    ceiling: int

    def score(self, columns: t.Mapping[str, Column], activities: t.Mapping[str, ActivityCounts], rows: np.ndarray) -> np.ndarray:
        """The points each contact in ``rows`` gets, as the engine would add them up."""
        total = np.zeros(len(rows), dtype=np.float64)
        for rule in self.rules:
            if rule.bucket is not None:
                total += rule.points * rule.bucket.members(columns[rule.bucket.column])[rows]
            else:
                term = t.cast(ActivityTerm, rule.term)
                total += rule.points * term.values(activities[term.type])[rows]
        return total


def _activity_terms(activities: t.Mapping[str, ActivityCounts], rows: np.ndarray, min_size: int) -> list[ActivityTerm]:
    terms = []
    for typ, counts in sorted(activities.items()):
        for within, raw in ((None, counts.total), (RECENT_DAYS, counts.recent)):
            doers = raw[rows][raw[rows] > 0]
            if doers.size < min_size:
                continue
            cap = max(1, int(np.quantile(doers, 0.95)))
            terms.append(ActivityTerm(typ, cap, within))
    return terms


def fit_points(
    columns: t.Sequence[Column],
    activities: t.Mapping[str, ActivityCounts],
    y: np.ndarray,
    rows: np.ndarray,
    *,
    min_size: int,
    regularisation: float = 1.0,
) -> PointsModel:
    """Fit the points model on training ``rows`` (indices into ``y`` and every column)."""
    from sklearn.linear_model import LogisticRegression

    blocks: list[tuple[Column, list[Bucket]]] = []
    design: list[np.ndarray] = []
    for col in columns:
        buckets = fit_buckets(col, rows, min_size=min_size)
        if buckets:
            blocks.append((col, buckets))
            design.extend(b.members(col)[rows].astype(np.float64) for b in buckets)
    terms = _activity_terms(activities, rows, min_size)
    design.extend(term.values(activities[term.type])[rows] for term in terms)
    if not design:
        return PointsModel([], 0, 0)
    x = np.column_stack(design)
    yt = y[rows]
    fit = LogisticRegression(C=regularisation, solver="newton-cholesky", max_iter=200).fit(x, yt)
    coef = fit.coef_[0]
    scale = POINTS_PER_DOUBLING / math.log(2.0)
    rules: list[PointRule] = []
    low = high = 0
    k = 0
    for _col, buckets in blocks:
        member = x[:, k : k + len(buckets)]
        beta = coef[k : k + len(buckets)]
        k += len(buckets)
        centre = float((member @ beta).mean())
        pts = [round(scale * (b - centre)) for b in beta]
        covered = bool(member.sum(axis=1).min() > 0)
        options = pts + ([] if covered else [0])
        low += min(options)
        high += max(options)
        for j, (bucket, p) in enumerate(zip(buckets, pts, strict=False)):
            if p != 0:
                inside = member[:, j] > 0
                rules.append(PointRule(p, bucket=bucket, n=int(inside.sum()), rate=float(yt[inside].mean()) if inside.any() else 0.0))
    for j, term in enumerate(terms):
        per = round(scale * coef[k + j])
        if per == 0:
            continue
        used = x[:, k + j] > 0
        rules.append(PointRule(per, term=term, n=int(used.sum()), rate=float(yt[used].mean()) if used.any() else 0.0))
        low += min(0, per * term.cap)
        high += max(0, per * term.cap)
    return PointsModel(rules, low, high)


def slug(text: str) -> str:
    """A rule-id-safe version of ``text``."""
    out = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")
    return out if out[:1].isalpha() else f"r_{out}"
