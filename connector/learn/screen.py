"""Which columns and activity types the models may learn from, decided on training rows only.

The screen is part of what cross-validation must re-run inside every fold: a column dropped because
it "leaks" on all contacts would otherwise be a choice made with the very leads the figures are
judged on. :func:`screen_columns` and :func:`screen_activities` therefore take the training ``rows``
(and folds over them) and never look at any other contact's label.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np

from connector.learn.columns import Column
from connector.learn.features import ActivityTable
from connector.learn.guards import LEAKY_AUC, Leak, find_leaks
from connector.learn.metrics import roc_auc

__all__ = ["ACTIVITY_PREFIX", "Excluded", "Screened", "screen", "unknown_names"]

#: How ``--exclude`` / ``--allow-leaky`` name an activity type.
ACTIVITY_PREFIX = "activity:"

Folds = t.Sequence[tuple[np.ndarray, np.ndarray]]


@dc.dataclass(frozen=True)
class Excluded:
    """A column left out, and why."""

    column: str
    reason: str


@dc.dataclass
class Screened:
    """The columns and activity types kept, those left out (and why), the leaks found, the notes."""

    used: list[Column]
    table: ActivityTable
    excluded: list[Excluded]
    leaks: list[Leak]
    warnings: list[str]


def unknown_names(columns: t.Sequence[Column], exclude: t.Sequence[str], allow_leaky: t.Sequence[str]) -> list[str]:
    """Warnings for ``--exclude`` / ``--allow-leaky`` names that match no column (activity names are checked later)."""
    names = {c.name for c in columns}
    out = [f"--exclude {c}: no such column (ignored)" for c in exclude if c not in names and not c.startswith(ACTIVITY_PREFIX)]
    out += [f"--allow-leaky {c}: no such column (ignored)" for c in allow_leaky if c not in names and not c.startswith(ACTIVITY_PREFIX)]
    return out


def _screen_columns(columns: t.Sequence[Column], y: np.ndarray, folds: Folds, min_size: int, exclude: t.Collection[str], allow: t.Collection[str]) -> Screened:
    excluded: list[Excluded] = []
    candidates = []
    for col in columns:
        if col.name in exclude and col.name not in allow:
            excluded.append(Excluded(col.name, "excluded by --exclude"))
        elif col.kind == "identifier":
            excluded.append(Excluded(col.name, "a different value on almost every contact (an identifier, not a signal)"))
        elif col.kind == "constant":
            excluded.append(Excluded(col.name, "the same value (or none) on every contact"))
        else:
            candidates.append(col)
    leaks = find_leaks(candidates, y, folds, min_size)
    leaky = {leak.column: leak for leak in leaks}
    used = []
    warnings = []
    for col in candidates:
        leak = leaky.get(col.name)
        if leak is None:
            used.append(col)
        elif col.name in allow:
            used.append(col)
            warnings.append(f"column '{col.name}' alone predicts the label (ROC AUC {leak.auc:.3f}); kept because of --allow-leaky")
        else:
            excluded.append(Excluded(col.name, f"leaks the outcome: alone it predicts the label with ROC AUC {leak.auc:.3f} (keep it with --allow-leaky '{col.name}')"))
    return Screened(used, ActivityTable({}, {}), excluded, leaks, warnings)


def _screen_activities(table: ActivityTable, y: np.ndarray, rows: np.ndarray, exclude: t.Collection[str], allow: t.Collection[str]) -> Screened:
    """Drop activity types the user excluded (``activity:TYPE``) or whose count alone predicts the label.

    A ``purchase`` or ``contract_signed`` activity logged after the outcome leaks it just like a column.
    """
    excluded: list[Excluded] = []
    leaks: list[Leak] = []
    warnings: list[str] = []
    keep = {}
    for typ, counts in table.counts.items():
        name = f"{ACTIVITY_PREFIX}{typ}"
        auc = roc_auc(y[rows], counts.total[rows])
        auc = max(auc, 1.0 - auc)
        if name in exclude and name not in allow:
            excluded.append(Excluded(name, "excluded by --exclude"))
        elif auc >= LEAKY_AUC and name not in allow:
            leaks.append(Leak(name, auc))
            excluded.append(Excluded(name, f"leaks the outcome: its count alone predicts the label with ROC AUC {auc:.3f} (keep it with --allow-leaky '{name}')"))
        else:
            if auc >= LEAKY_AUC:
                warnings.append(f"'{name}' alone predicts the label (ROC AUC {auc:.3f}); kept because of --allow-leaky")
            keep[typ] = counts
    return Screened([], ActivityTable(keep, {k: table.days_since[k] for k in keep}), excluded, leaks, warnings)


def screen(
    columns: t.Sequence[Column],
    table: ActivityTable,
    y: np.ndarray,
    rows: np.ndarray,
    folds: Folds,
    *,
    min_size: int,
    exclude: t.Collection[str],
    allow_leaky: t.Collection[str],
) -> Screened:
    """Columns and activity types to learn from, judged on training ``rows`` (``folds`` split those rows)."""
    cols = _screen_columns(columns, y, folds, min_size, exclude, allow_leaky)
    acts = _screen_activities(table, y, rows, exclude, allow_leaky)
    return Screened(cols.used, acts.table, cols.excluded + acts.excluded, cols.leaks + acts.leaks, cols.warnings + acts.warnings)
