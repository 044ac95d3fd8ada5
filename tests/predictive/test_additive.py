"""The additive logistic part: bins cut between float32 values, exported as trees that reproduce it exactly."""

from __future__ import annotations

import numpy as np

from connector.learn.additive import MAX_BINS, fit_additive, fit_binning
from connector.scoring.predictive import FORMAT, Calibration, FeatureSpec, GradientTrees, ModelFile, TreePredictor

SPECS = [
    FeatureSpec(kind="number", group="Minutes", property="Minutes", impute=300.0),
    FeatureSpec(kind="missing", group="Minutes", property="Minutes"),
    FeatureSpec(kind="level", group="Source", property="Source", value="Referral"),
    FeatureSpec(kind="missing", group="Source", property="Source"),
    FeatureSpec(kind="activity_count", group="activity: email_open", types=["email_open"]),
]


def _data(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    minutes = rng.gamma(2.0, 300.0, n) + 0.1234567  # values float32 cannot hold exactly
    absent = rng.random(n) < 0.15
    minutes[absent] = 300.0
    referral = (rng.random(n) < 0.3).astype(float)
    source_missing = ((rng.random(n) < 0.1) & (referral == 0)).astype(float)
    opens = rng.poisson(1.5, n).astype(float)
    x = np.column_stack([minutes, absent.astype(float), referral, source_missing, opens])
    z = 1.2 * referral - 0.8 * absent + 0.002 * (minutes - 600) + 0.3 * opens - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return x, y


def test_bins_hold_enough_rows_and_fall_between_float32_values() -> None:
    x, _ = _data()
    binning = fit_binning(SPECS, x, np.arange(len(x)), min_size=40)
    minutes = next(p for p in binning.parts if p.feature == 0)
    assert minutes.missing == 1 and 2 <= len(minutes.edges) + 1 <= MAX_BINS
    design = binning.indicators(x)
    present = design[:, : len(minutes.edges) + 1]
    assert present[x[:, 1] == 0].sum(axis=1).tolist() == [1.0] * int((x[:, 1] == 0).sum())  # one bin each
    assert present.sum(axis=0).min() >= 40
    x32 = np.unique(x[:, 0].astype(np.float32).astype(np.float64))
    assert not set(minutes.edges) & set(x32.tolist())
    assert {p.feature for p in binning.parts} == {0, 2, 3, 4}  # the number's missing flag lives inside its term


def test_exported_trees_reproduce_the_logistic_regression() -> None:
    x, y = _data()
    binning = fit_binning(SPECS, x, np.arange(1500), min_size=40)
    model = fit_additive(binning, x[:1500], y[:1500], regularisation=1.0)
    for scale in (1.0, 0.25):
        bias, trees = model.export(scale=scale)
        spec = ModelFile(format=FORMAT, features=SPECS, ensemble=GradientTrees(bias=bias, trees=trees), calibration=Calibration(a=1.0, b=0.0))
        runtime = TreePredictor(spec, "p")
        held = x[1500:]
        assert np.allclose(runtime.raw(held), scale * model.decision_function(held), rtol=0, atol=1e-12)
        # each term's credits go to its own property, and they add up to raw - expected raw
        expected = spec.ensemble.bias + sum(tree.mean[0] for tree in spec.ensemble.trees)
        assert np.allclose(runtime.contributions(held).sum(axis=1), runtime.raw(held) - expected, atol=1e-9)


def test_edge_values_go_to_the_same_bin_in_learner_and_runtime() -> None:
    x, y = _data()
    binning = fit_binning(SPECS, x, np.arange(len(x)), min_size=40)
    model = fit_additive(binning, x, y, regularisation=1.0)
    edges = next(p for p in binning.parts if p.feature == 0).edges
    probe = np.repeat(x[:1], 3 * len(edges), axis=0)
    probe[:, 1] = 0.0
    probe[:, 0] = np.concatenate([np.asarray(edges), np.nextafter(np.asarray(edges), np.inf), np.nextafter(np.asarray(edges), -np.inf)])
    bias, trees = model.export()
    runtime = TreePredictor(ModelFile(format=FORMAT, features=SPECS, ensemble=GradientTrees(bias=bias, trees=trees), calibration=Calibration(a=1.0, b=0.0)), "p")
    assert np.allclose(runtime.raw(probe), model.decision_function(probe), rtol=0, atol=1e-12)
