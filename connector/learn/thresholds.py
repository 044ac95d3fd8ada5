"""Pick stage thresholds from out-of-fold scores, and tabulate every threshold for the report.

At a threshold ``s`` the leads scoring ``>= s`` are "above": the table gives how many, how many of
them converted (precision), and what share of all conversions they hold (recall, "captured").
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np

__all__ = ["Row", "Thresholds", "pick_thresholds", "threshold_table"]

#: Fewest contacts above a threshold for its conversion rate to be trusted.
MIN_ABOVE = 10


@dc.dataclass(frozen=True)
class Row:
    """One threshold of the table."""

    threshold: float
    above: int
    share_above: float
    conversion: float
    captured: float


@dc.dataclass(frozen=True)
class Thresholds:
    """The hot (e.g. SQL) and MQL thresholds, and whether the hot one reaches the target rate."""

    hot: float
    mql: float
    target: float
    reached: bool
    hot_row: Row
    mql_row: Row


def threshold_table(y: np.ndarray, score: np.ndarray, thresholds: t.Iterable[float]) -> list[Row]:
    """Conversion rate and captured share at each threshold (scores ``>=`` threshold)."""
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    positives = max(float(y.sum()), 1.0)
    rows = []
    for s in thresholds:
        above = score >= s
        n = int(above.sum())
        conv = float(y[above].mean()) if n else 0.0
        rows.append(Row(float(s), n, n / len(y), conv, float(y[above].sum()) / positives))
    return rows


def pick_thresholds(y: np.ndarray, score: np.ndarray, *, target: float, mql_capture: float = 0.9, grid: t.Sequence[float] | None = None) -> Thresholds:
    """Hot: the lowest threshold whose leads above convert at ``target`` or better (at every
    higher threshold too, so noise at one cut cannot pick it). MQL: the highest threshold below
    hot that still holds ``mql_capture`` of all conversions.
    """
    if grid is None:
        grid = [float(v) for v in range(0, 101)]
    table = threshold_table(y, score, grid)
    usable = [r for r in table if r.above >= MIN_ABOVE]
    if not usable:
        usable = [r for r in table if r.above > 0] or table[:1]
    hot_row = None
    for row in reversed(usable):  # from the highest threshold down
        if row.conversion >= target:
            hot_row = row
        else:
            break
    reached = hot_row is not None
    if hot_row is None:  # target out of reach: the threshold with the best conversion rate
        hot_row = max(usable, key=lambda r: (r.conversion, -r.threshold))
    below = [r for r in table if r.threshold < hot_row.threshold and r.captured >= mql_capture]
    mql_row = max(below, key=lambda r: r.threshold) if below else table[0]
    if mql_row.threshold >= hot_row.threshold:
        mql_row = table[0]
    return Thresholds(hot_row.threshold, mql_row.threshold, target, reached, hot_row, mql_row)
