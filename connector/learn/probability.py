"""The probability model's trees: histogram gradient boosting, fitted with scikit-learn, exported as arrays.

Only the learner imports scikit-learn; :func:`export_trees` turns the fitted ensemble into the
:class:`~connector.scoring.predictive.TreeArrays` the runtime walks with numpy.

Why ``HistGradientBoostingClassifier``: the learner now fits the trees about 36 times per run (nested
cross-validation, see :mod:`connector.learn.selection`); on the X Education leads one fit of 300
trees takes 1.3 s against 3.2 s for ``GradientBoostingClassifier``, at the same cross-validated ROC
AUC (0.906 both, 3 x 5-fold CV on the development part of hold-out split 0). Its staged predictions
let the inner folds choose the number of trees (early stopping on held-out folds) from one fit.

The runtime compares ``float32(x) <= threshold`` (the rule of scikit-learn's classic trees); this
booster compares float64 values. :class:`FittedTrees` therefore feeds it float32-rounded inputs, in
fitting and in predicting, so the exported trees reproduce it exactly on any input.
"""

from __future__ import annotations

import dataclasses as dc
import math
import typing as t

import numpy as np

from connector.scoring.predictive import GradientTrees, TreeArrays

__all__ = ["BoostingParams", "FittedTrees", "as_float32", "export_trees", "fit_boosting", "node_means", "single_thread"]


@dc.dataclass(frozen=True)
class BoostingParams:
    """Ensemble shape. ``trees`` is the most the inner folds may choose; small trees resist over-fitting."""

    trees: int = 200
    learning_rate: float = 0.1
    leaves: int = 8
    min_leaf: int = 20
    l2: float = 1.0


def as_float32(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to float32 and back: the values the runtime's trees compare."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def single_thread() -> t.ContextManager[object]:
    """Run OpenMP/BLAS code on one thread.

    The same sums in the same order on any machine (byte-identical files per seed), and on the shared
    2-core machine even faster: 1.3 s per fit of 300 trees against 2.0-2.8 s with two threads.
    """
    from threadpoolctl import threadpool_limits

    return t.cast(t.ContextManager[object], threadpool_limits(limits=1))


@dc.dataclass(frozen=True)
class FittedTrees:
    """A fitted booster that always sees float32-rounded inputs (see the module docstring)."""

    model: t.Any

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Raw log-odds."""
        with single_thread():
            return np.asarray(self.model.decision_function(as_float32(x)), dtype=np.float64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (uncalibrated), as scikit-learn gives them."""
        with single_thread():
            return np.asarray(self.model.predict_proba(as_float32(x)), dtype=np.float64)

    def staged_decision_function(self, x: np.ndarray) -> np.ndarray:
        """Raw log-odds after each tree: shape (trees, rows)."""
        with single_thread():
            return np.array([np.asarray(s, dtype=np.float64).ravel() for s in self.model.staged_decision_function(as_float32(x))])

    @property
    def trees(self) -> int:
        """Number of trees fitted."""
        return int(self.model.n_iter_)


def fit_boosting(x: np.ndarray, y: np.ndarray, params: BoostingParams, seed: int, *, trees: int | None = None) -> FittedTrees:
    """A fitted booster of ``trees`` (default ``params.trees``) trees, deterministic for ``seed``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=trees or params.trees,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.leaves,
        min_samples_leaf=params.min_leaf,
        l2_regularization=params.l2,
        early_stopping=False,  # the number of trees is chosen on held-out folds instead
        random_state=seed,
    )
    with single_thread():
        model.fit(as_float32(x), np.asarray(y))
    return FittedTrees(model)


def node_means(left: np.ndarray, right: np.ndarray, value: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Expected leaf value under each node (children come after parents, so walk backwards)."""
    mean = value.astype(np.float64).copy()
    for i in range(len(left) - 1, -1, -1):
        lo, hi = left[i], right[i]
        if lo != -1:
            w = weight[lo] + weight[hi]
            mean[i] = (weight[lo] * mean[lo] + weight[hi] * mean[hi]) / w if w > 0 else 0.5 * (mean[lo] + mean[hi])
    return mean


def _tree(nodes: np.ndarray, scale: float) -> TreeArrays:
    if np.any(nodes["is_categorical"]):
        raise RuntimeError("internal error: categorical splits cannot be exported (the learner one-hot encodes categories)")
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    # Leaf values already include the learning rate (scikit-learn's grower applies the shrinkage).
    value = np.where(leaf, nodes["value"] * scale, 0.0)
    mean = node_means(left, right, value, nodes["count"].astype(np.float64))
    return TreeArrays(
        feature=[0 if is_leaf else int(f) for f, is_leaf in zip(nodes["feature_idx"], leaf, strict=True)],
        threshold=[0.0 if is_leaf else float(v) for v, is_leaf in zip(nodes["num_threshold"], leaf, strict=True)],
        left=left.tolist(),
        right=right.tolist(),
        value=value.tolist(),
        mean=mean.tolist(),
    )


def export_trees(fitted: FittedTrees, *, scale: float = 1.0) -> GradientTrees:
    """The fitted binary ensemble as arrays: ``raw = bias + sum(leaf values)``, everything times ``scale``.

    Reads ``_predictors`` and ``_baseline_prediction``: scikit-learn keeps no public tree accessor for
    this booster. ``tests/predictive/test_runtime.py`` pins the result to ``decision_function`` (1e-12),
    so a change of those internals fails loudly, never silently.
    """
    model = fitted.model
    bias = float(np.asarray(model._baseline_prediction).ravel()[0])
    if not math.isfinite(bias):
        raise RuntimeError("internal error: the booster's baseline is not finite")
    trees = [_tree(per_class[0].nodes, scale) for per_class in model._predictors]
    return GradientTrees(bias=bias * scale, trees=trees)
