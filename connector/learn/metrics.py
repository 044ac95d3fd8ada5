"""Evaluation figures in plain numpy: ROC AUC, calibration error, Platt calibration.

Kept free of scikit-learn's metrics so the figures the report prints are computed one way, here,
and tests can check them against hand-worked examples.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["expected_calibration_error", "fit_platt", "platt", "roc_auc", "sigmoid"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random converter scores above a random non-converter (ties count half)."""
    y = np.asarray(y).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    # Mid-ranks: a value's rank is the average of the positions its ties occupy (1-based).
    _, inverse, counts = np.unique(np.asarray(score, dtype=np.float64), return_inverse=True, return_counts=True)
    upto = np.cumsum(counts)
    ranks = (upto - (counts - 1) / 2.0)[inverse]
    rank_sum = float(ranks[y].sum())
    return float((rank_sum - pos * (pos + 1) / 2.0) / (pos * neg))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Share-weighted mean |predicted - observed| over ``bins`` equal-width probability bins."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            err += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(err)


def fit_platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``a, b`` of ``p = sigmoid(a * raw + b)`` by Newton's method on the log-loss (tiny ridge for stability)."""
    x = np.asarray(raw, dtype=np.float64)
    t_ = np.asarray(y, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(100):
        p = sigmoid(a * x + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - t_) * x) + 1e-6 * a, np.sum(p - t_)])
        h = np.array([[np.sum(w * x * x) + 1e-6, np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if max(abs(step[0]), abs(step[1])) < 1e-10:
            break
    if not (math.isfinite(a) and math.isfinite(b)):
        return 1.0, 0.0
    return float(a), float(b)


def platt(raw: np.ndarray, a: float, b: float) -> np.ndarray:
    """Apply Platt scaling."""
    return sigmoid(a * np.asarray(raw, dtype=np.float64) + b)
