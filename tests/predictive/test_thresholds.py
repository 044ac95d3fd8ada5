"""Thresholds, AUC, calibration error and Platt scaling on hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from connector.learn.metrics import expected_calibration_error, fit_platt, platt, roc_auc
from connector.learn.thresholds import CONFIDENCE_Z, pick_thresholds, threshold_table, wilson_lower


def test_threshold_table_counts() -> None:
    y = np.array([1, 1, 0, 1, 0, 0])
    score = np.array([90, 80, 70, 60, 20, 10])
    rows = threshold_table(y, score, [0, 65, 85])
    assert [(r.above, round(r.conversion, 3), round(r.captured, 3)) for r in rows] == [(6, 0.5, 1.0), (3, 0.667, 0.667), (1, 1.0, 0.333)]


def test_hot_is_lowest_cut_that_keeps_the_target_above_it() -> None:
    # 100 leads scoring 0..99; those scoring >= 60 convert 9 in 10 (36 of 40), the rest never.
    # At 55 the 45 leads above hold the 36 conversions: exactly 80%; at 54 it is 36/46 < 80%.
    score = np.arange(100, dtype=float)
    y = np.array([(1 if i % 10 else 0) if s >= 60 else 0 for i, s in enumerate(score)])
    th = pick_thresholds(y, score, target=0.8, z=0)
    assert th.reached and th.hot == 55
    assert th.hot_row.conversion >= 0.8
    assert th.mql < th.hot and th.mql_row.captured >= 0.9


def test_hot_needs_confidence_not_just_the_observed_rate() -> None:
    score = np.arange(100, dtype=float)
    y = np.array([(1 if i % 10 else 0) if s >= 60 else 0 for i, s in enumerate(score)])
    th = pick_thresholds(y, score, target=0.8)  # default: 95% one-sided confidence
    assert th.reached and th.hot > 55
    assert wilson_lower(th.hot_row.conversion, th.hot_row.above, CONFIDENCE_Z) >= 0.8


def test_wilson_lower_bound_hand_value() -> None:
    # 80 of 100 at z=1.96: the textbook Wilson interval starts at 0.7112.
    assert wilson_lower(0.8, 100, 1.96) == pytest.approx(0.7112, abs=1e-4)


def test_unreachable_target_is_flagged() -> None:
    y = np.array([1, 0] * 50)
    th = pick_thresholds(y, np.arange(100, dtype=float), target=0.9)
    assert not th.reached


def test_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_ece_hand_example() -> None:
    y = np.array([1, 0, 1, 1])
    p = np.array([0.15, 0.15, 0.95, 0.95])
    # bin 1: predicted 0.15, observed 0.5 -> 0.35; bin 9: 0.95 vs 1.0 -> 0.05; each half the leads
    assert expected_calibration_error(y, p) == pytest.approx(0.2)


def test_platt_recovers_a_known_scaling() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=20000) * 2
    y = (rng.random(20000) < platt(raw, 0.5, -0.3)).astype(int)
    a, b = fit_platt(raw, y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-0.3, abs=0.05)
