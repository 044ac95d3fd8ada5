"""The probability model's inputs: which features, fitted on training rows, and their matrix.

The feature list is a list of :class:`~connector.scoring.predictive.FeatureSpec` -- the very
objects the runtime reads from the JSON file. The matrix is built here column-wise (fast) with the
runtime's semantics; the learner double-checks parity with the runtime's own ``Encoding`` on a sample
before it writes anything.
"""

from __future__ import annotations

import datetime as dt
import math
import typing as t

import numpy as np

from connector.learn.columns import Column
from connector.learn.points import RECENT_DAYS, ActivityCounts
from connector.scoring.predictive import NEVER_DAYS, FeatureSpec
from connector.scoring.records import Activity, Contact, utc

__all__ = ["ActivityTable", "activity_table", "design_matrix", "fit_features"]


class ActivityTable(t.NamedTuple):
    """Per activity type: counts (all time, recent) and whole days since the latest one."""

    counts: dict[str, ActivityCounts]
    days_since: dict[str, np.ndarray]


def activity_table(contacts: t.Sequence[Contact], activities: t.Mapping[str, t.Sequence[Activity]], as_of: dt.datetime) -> ActivityTable:
    """Count each contact's activities up to ``as_of`` the way the runtime encoding does."""
    as_of = utc(as_of)
    types = sorted({a.type for acts in activities.values() for a in acts})
    n = len(contacts)
    total = {k: np.zeros(n) for k in types}
    recent = {k: np.zeros(n) for k in types}
    since = {k: np.full(n, NEVER_DAYS) for k in types}
    for i, contact in enumerate(contacts):
        for act in activities.get(contact.id, ()):
            when = utc(act.occurred_at)
            if when > as_of:
                continue
            age = (as_of - when).total_seconds() / 86400.0
            total[act.type][i] += 1
            if age <= RECENT_DAYS:
                recent[act.type][i] += 1
            since[act.type][i] = min(since[act.type][i], float(math.floor(age)))
    counts = {k: ActivityCounts(k, total[k], recent[k]) for k in types}
    return ActivityTable(counts, since)


def fit_features(columns: t.Sequence[Column], table: ActivityTable, rows: np.ndarray, *, min_size: int) -> list[FeatureSpec]:
    """Features fitted on training ``rows``: numbers (median-imputed), frequent levels, missing flags, activity."""
    specs: list[FeatureSpec] = []
    for col in columns:
        missing = col.missing[rows]
        if col.kind == "number":
            x = col.numbers[rows]
            ok = np.isfinite(x)
            if not ok.any():
                continue
            specs.append(FeatureSpec(kind="number", group=col.name, property=col.name, impute=float(np.median(x[ok]))))
        elif col.kind == "category":
            counts: dict[str, int] = {}
            for v in col.text[rows][~missing]:
                counts[v] = counts.get(v, 0) + 1
            for level in sorted((k for k, c in counts.items() if c >= min_size), key=lambda k: (-counts[k], k)):
                specs.append(FeatureSpec(kind="level", group=col.name, property=col.name, value=col.spelling.get(level, level)))
        else:
            continue
        if missing.any() and not missing.all():
            specs.append(FeatureSpec(kind="missing", group=col.name, property=col.name))
    for typ, counts_ in sorted(table.counts.items()):
        if (counts_.total[rows] > 0).sum() < min_size:
            continue
        group = f"activity: {typ}"
        specs.append(FeatureSpec(kind="activity_count", group=group, types=[typ]))
        specs.append(FeatureSpec(kind="activity_count", group=group, types=[typ], within_days=RECENT_DAYS))
        specs.append(FeatureSpec(kind="days_since", group=group, types=[typ]))
    return specs


def design_matrix(specs: t.Sequence[FeatureSpec], columns: t.Mapping[str, Column], table: ActivityTable) -> np.ndarray:
    """All contacts encoded with ``specs`` (n_contacts x n_features)."""
    n = len(next(iter(columns.values())).missing) if columns else len(next(iter(table.days_since.values())))
    out = np.zeros((n, len(specs)), dtype=np.float64)
    for j, spec in enumerate(specs):
        if spec.kind == "number":
            x = columns[t.cast(str, spec.property)].numbers
            out[:, j] = np.where(np.isfinite(x), x, t.cast(float, spec.impute))
        elif spec.kind == "missing":
            out[:, j] = columns[t.cast(str, spec.property)].missing
        elif spec.kind == "level":
            col = columns[t.cast(str, spec.property)]
            out[:, j] = (~col.missing) & (col.text == t.cast(str, spec.value).casefold())
        elif spec.kind == "activity_count":
            counts = table.counts[spec.types[0]]
            out[:, j] = counts.recent if spec.within_days else counts.total
        else:
            out[:, j] = table.days_since[spec.types[0]]
    return out
