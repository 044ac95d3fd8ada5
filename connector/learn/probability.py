"""The probability model: gradient-boosted trees, fitted with scikit-learn, exported as plain arrays.

Only the learner imports scikit-learn; :func:`export_trees` turns the fitted ensemble into the
:class:`~connector.scoring.predictive.GradientTrees` the runtime walks with numpy.
"""

from __future__ import annotations

import dataclasses as dc
import math
import typing as t

import numpy as np

from connector.scoring.predictive import GradientTrees, TreeArrays

__all__ = ["BoostingParams", "export_trees", "fit_boosting"]


@dc.dataclass(frozen=True)
class BoostingParams:
    """Ensemble size and shape; small trees and a low rate resist over-fitting on a few thousand leads."""

    trees: int = 300
    depth: int = 3
    learning_rate: float = 0.05
    subsample: float = 0.8
    min_leaf: int = 10


def fit_boosting(x: np.ndarray, y: np.ndarray, params: BoostingParams, seed: int) -> t.Any:
    """A fitted ``GradientBoostingClassifier`` (deterministic for ``seed``)."""
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(
        n_estimators=params.trees,
        max_depth=params.depth,
        learning_rate=params.learning_rate,
        subsample=params.subsample,
        min_samples_leaf=params.min_leaf,
        random_state=seed,
    )
    return model.fit(x, y)


def _node_means(left: np.ndarray, right: np.ndarray, value: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Expected leaf value under each node (children come after parents, so walk backwards)."""
    mean = value.astype(np.float64).copy()
    for i in range(len(left) - 1, -1, -1):
        lo, hi = left[i], right[i]
        if lo != -1:
            w = weight[lo] + weight[hi]
            mean[i] = (weight[lo] * mean[lo] + weight[hi] * mean[hi]) / w if w > 0 else 0.5 * (mean[lo] + mean[hi])
    return mean


def export_trees(model: t.Any) -> GradientTrees:
    """The fitted binary ensemble as arrays: ``raw = bias + sum(leaf values)`` (learning rate folded in)."""
    prior = float(model.init_.class_prior_[1])
    bias = math.log(prior / (1.0 - prior))
    rate = float(model.learning_rate)
    trees = []
    for est in model.estimators_[:, 0]:
        tree = est.tree_
        left = tree.children_left.astype(np.int64)
        right = tree.children_right.astype(np.int64)
        leaf = left == -1
        value = np.where(leaf, tree.value[:, 0, 0] * rate, 0.0)
        mean = _node_means(left, right, value, tree.weighted_n_node_samples)
        trees.append(
            TreeArrays(
                feature=[int(f) if not is_leaf else 0 for f, is_leaf in zip(tree.feature, leaf, strict=False)],
                threshold=[float(v) if not is_leaf else 0.0 for v, is_leaf in zip(tree.threshold, leaf, strict=False)],
                left=left.tolist(),
                right=right.tolist(),
                value=value.tolist(),
                mean=mean.tolist(),
            )
        )
    return GradientTrees(bias=bias, trees=trees)
