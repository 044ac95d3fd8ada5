"""Pick stage thresholds from out-of-fold scores, and tabulate every threshold for the report.

At a threshold ``s`` the leads scoring ``>= s`` are "above": the table gives how many, how many of
them converted (precision), and what share of all conversions they hold (recall, "captured").
"""

from __future__ import annotations

import dataclasses as dc
import math
import typing as t

import numpy as np

__all__ = ["CONFIDENCE_Z", "Row", "Thresholds", "pick_thresholds", "threshold_table", "wilson_lower"]

#: Fewest contacts above a threshold for its conversion rate to be trusted.
MIN_ABOVE = 10
#: z of the one-sided confidence (95%) with which the hot threshold must reach the target rate.
CONFIDENCE_Z = 1.6449


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


def wilson_lower(rate: float, n: int, z: float) -> float:
    """Lower Wilson bound of a conversion rate observed on ``n`` contacts."""
    if n == 0:
        return 0.0
    if z == 0:
        return rate
    centre = rate + z * z / (2 * n)
    margin = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return (centre - margin) / (1 + z * z / n)


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


def pick_thresholds(
    y: np.ndarray,
    score: np.ndarray,
    *,
    target: float,
    mql_capture: float = 0.9,
    grid: t.Sequence[float] | None = None,
    z: float = CONFIDENCE_Z,
) -> Thresholds:
    """Hot and MQL thresholds from the validation scores.

    Hot: the lowest threshold whose leads above convert at ``target`` or better -- with
    confidence (lower Wilson bound, ``z``; 95% by default), at that cut and every cut up to the first sure one, so that new leads
    above it still convert at the target and noise at one cut cannot pick it. MQL: the highest
    threshold below hot that still holds ``mql_capture`` of all conversions.
    """
    if grid is None:
        grid = [float(v) for v in range(0, 101)]
    table = threshold_table(y, score, grid)
    usable = [r for r in table if r.above >= MIN_ABOVE]
    if not usable:
        usable = [r for r in table if r.above > 0] or table[:1]
    hot_row = None
    for row in reversed(usable):  # from the highest threshold down; the very top may be too thin to be sure
        if wilson_lower(row.conversion, row.above, z) >= target:
            hot_row = row
        elif hot_row is not None:
            break
    reached = hot_row is not None
    if hot_row is None:  # target out of reach: the threshold with the best conversion rate
        hot_row = max(usable, key=lambda r: (r.conversion, -r.threshold))
    below = [r for r in table if r.threshold < hot_row.threshold and r.captured >= mql_capture]
    mql_row = max(below, key=lambda r: r.threshold) if below else table[0]
    if mql_row.threshold >= hot_row.threshold:
        mql_row = table[0]
    return Thresholds(hot_row.threshold, mql_row.threshold, target, reached, hot_row, mql_row)
