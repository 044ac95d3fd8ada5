"""Refuse or warn before learning from data that cannot teach anything trustworthy.

- too few labelled contacts or too few of either outcome (the message says how many are needed);
- a constant label;
- leakage: a column that on its own predicts the label almost perfectly is almost always filled
  in after the outcome is known (a "lost reason", a sales-assigned tag). It is reported and left
  out unless the user vouches for it with ``--allow-leaky``.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np

from connector.learn.binning import fit_buckets
from connector.learn.columns import Column
from connector.learn.dataset import DataError
from connector.learn.metrics import roc_auc

__all__ = [
    "LEAKY_AUC",
    "MIN_CONTACTS",
    "MIN_PER_OUTCOME",
    "WARN_CONTACTS",
    "WARN_PER_OUTCOME",
    "Leak",
    "check_labels",
    "find_leaks",
]

#: Refuse below these (cross-validation with 5 folds needs a few of each outcome per fold).
MIN_CONTACTS = 100
MIN_PER_OUTCOME = 25
#: Warn below these: the model will be noisy.
WARN_CONTACTS = 1000
WARN_PER_OUTCOME = 200
#: A single column whose out-of-fold ROC AUC reaches this is treated as leaking the outcome.
LEAKY_AUC = 0.90


@dc.dataclass(frozen=True)
class Leak:
    """A column that alone predicts the outcome (out-of-fold ROC AUC ``auc``)."""

    column: str
    auc: float


def check_labels(y: np.ndarray, label: str) -> list[str]:
    """Raise :class:`DataError` when learning is impossible; return warnings when it is shaky."""
    n = len(y)
    pos = int(y.sum())
    neg = n - pos
    if n and (pos == 0 or neg == 0):
        value = "1 (converted)" if pos else "0 (not converted)"
        raise DataError(f"label '{label}' is {value} for all {n} labelled contacts; learning needs contacts with both outcomes")
    if n < MIN_CONTACTS or min(pos, neg) < MIN_PER_OUTCOME:
        raise DataError(
            f"too little data: {n} labelled contacts ({pos} converted, {neg} not); learning needs at least "
            f"{MIN_CONTACTS} labelled contacts with at least {MIN_PER_OUTCOME} of each outcome "
            f"(and {WARN_CONTACTS}+ contacts with {WARN_PER_OUTCOME}+ of each for a dependable model)"
        )
    warnings = []
    if n < WARN_CONTACTS or min(pos, neg) < WARN_PER_OUTCOME:
        warnings.append(
            f"only {n} labelled contacts ({pos} converted, {neg} not): the model will be noisy; "
            f"{WARN_CONTACTS}+ contacts with {WARN_PER_OUTCOME}+ of each outcome are recommended"
        )
    return warnings


def _univariate_auc(col: Column, y: np.ndarray, folds: t.Sequence[tuple[np.ndarray, np.ndarray]], min_size: int) -> float:
    """Out-of-fold AUC of the column alone: each bucket scored by its conversion rate in the other folds.

    Only the folds' rows count, so the screen can run on the training part of a larger set.
    """
    tested = np.concatenate([test for _, test in folds])
    score = np.full(len(y), float(y[tested].mean()))
    for train, test in folds:
        prior = float(y[train].mean())
        for bucket in fit_buckets(col, train, min_size=min_size):
            members = bucket.members(col)
            inside = members[train]
            if inside.any():
                # Shrink small buckets toward the prior so a lucky handful cannot look perfect.
                rate = (y[train][inside].sum() + 5 * prior) / (inside.sum() + 5)
                score[test[members[test]]] = rate
    auc = roc_auc(y[tested], score[tested])
    return max(auc, 1.0 - auc)


def find_leaks(columns: t.Sequence[Column], y: np.ndarray, folds: t.Sequence[tuple[np.ndarray, np.ndarray]], min_size: int) -> list[Leak]:
    """Columns that alone predict the label almost perfectly (see ``LEAKY_AUC``)."""
    out = []
    for col in columns:
        if col.kind not in ("number", "category"):
            continue
        auc = _univariate_auc(col, y, folds, min_size)
        if auc >= LEAKY_AUC:
            out.append(Leak(col.name, auc))
    return out
