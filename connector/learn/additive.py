"""The additive half of the probability model: a regularised logistic regression over binned features.

Boosted trees and an additive logistic model err differently (the trees find interactions; the
logistic model is steadier on the main effects), so the probability model blends the two on the
log-odds scale, with the weight chosen on held-out folds (:mod:`connector.learn.selection`). On the
X Education leads the blend adds about 0.001 of cross-validated ROC AUC to the trees alone.

It needs no new runtime: an additive model is a sum of one-feature functions, and a one-feature
step function is a small tree. Each number feature becomes a balanced tree over its bin edges
(behind a split on its missing flag when it has one), each 0/1 feature a stump, so
:func:`AdditiveModel.export` yields :class:`~connector.scoring.predictive.TreeArrays` that the
runtime adds to the boosted trees, and reasons credit each step to its own property.

Bins are cut between float32 values, so ``float32(x) <= edge`` (the runtime's rule) and the
learner's bin index can never disagree.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np

from connector.learn.probability import as_float32, node_means, single_thread
from connector.scoring.predictive import FeatureSpec, TreeArrays

__all__ = ["MAX_BINS", "AdditiveModel", "Binning", "fit_additive", "fit_binning"]

#: Most bins per number feature (the logistic regression's L2 penalty smooths neighbouring bins).
MAX_BINS = 20

#: Feature kinds read as numbers (binned); the others are 0/1.
_NUMERIC = ("number", "activity_count", "days_since")


@dc.dataclass(frozen=True)
class _Part:
    """One additive term: a feature, its bin edges (none: a 0/1 feature), and its missing flag."""

    feature: int
    edges: tuple[float, ...]
    missing: int | None

    @property
    def width(self) -> int:
        """Indicator columns of this term."""
        if not self.edges and self.missing is None:
            return 1  # a 0/1 feature: its own value
        return len(self.edges) + 1 + (self.missing is not None)


@dc.dataclass(frozen=True)
class Binning:
    """How encoded rows become the logistic regression's 0/1 columns (fitted without labels)."""

    parts: tuple[_Part, ...]

    def indicators(self, x: np.ndarray) -> np.ndarray:
        """The 0/1 design of rows ``x`` (n, features) -> (n, sum of widths)."""
        x32 = as_float32(x)
        cols: list[np.ndarray] = []
        for part in self.parts:
            v = x32[:, part.feature]
            if not part.edges and part.missing is None:
                cols.append((v > 0.5).astype(np.float64))
                continue
            absent = x32[:, part.missing] > 0.5 if part.missing is not None else np.zeros(len(v), dtype=bool)
            # Bin k holds edge[k-1] < v <= edge[k]: the runtime goes left when v <= edge.
            index = np.searchsorted(np.asarray(part.edges), v, side="left")
            for k in range(len(part.edges) + 1):
                cols.append(((index == k) & ~absent).astype(np.float64))
            if part.missing is not None:
                cols.append(absent.astype(np.float64))
        return np.column_stack(cols) if cols else np.zeros((len(x32), 0))


def _edges(values: np.ndarray, min_size: int) -> tuple[float, ...]:
    """Edges halfway between distinct float32 values, each bin holding at least ``min_size`` rows."""
    if values.size < 2 * min_size:
        return ()
    distinct, counts = np.unique(values, return_counts=True)
    target = max(min_size, int(np.ceil(values.size / MAX_BINS)))
    edges: list[float] = []
    filled = 0
    left = values.size
    for i in range(len(distinct) - 1):
        filled += int(counts[i])
        left -= int(counts[i])
        if filled >= target and left >= target:
            edges.append(float((distinct[i] + distinct[i + 1]) / 2.0))
            filled = 0
    return tuple(edges)


def fit_binning(specs: t.Sequence[FeatureSpec], x: np.ndarray, rows: np.ndarray, *, min_size: int) -> Binning:
    """Terms for every feature of ``specs``, binned on training ``rows`` of ``x`` (no labels used)."""
    x32 = as_float32(x[rows])
    flag = {(f.group, f.property): j for j, f in enumerate(specs) if f.kind == "missing"}
    taken: set[int] = set()
    parts: list[_Part] = []
    for j, spec in enumerate(specs):
        if spec.kind not in _NUMERIC:
            continue
        missing = flag.get((spec.group, spec.property)) if spec.kind == "number" else None
        present = x32[:, missing] < 0.5 if missing is not None else np.ones(len(x32), dtype=bool)
        edges = _edges(x32[present, j], min_size)
        if edges or missing is not None:
            parts.append(_Part(j, edges, missing))
        if missing is not None:
            taken.add(missing)
    for j, spec in enumerate(specs):
        if spec.kind not in _NUMERIC and j not in taken:
            parts.append(_Part(j, (), None))
    parts.sort(key=lambda p: p.feature)
    return Binning(tuple(parts))


@dc.dataclass(frozen=True)
class AdditiveModel:
    """``raw = intercept + sum of the coefficients of the bins a row falls in``."""

    binning: Binning
    intercept: float
    coef: np.ndarray
    #: Training rows per indicator column, and in all: the weights of the exported trees' expected values.
    counts: np.ndarray
    rows: int

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Raw log-odds of rows ``x``."""
        return self.intercept + self.binning.indicators(x) @ self.coef

    def export(self, *, scale: float = 1.0) -> tuple[float, list[TreeArrays]]:
        """``(bias, trees)`` computing ``scale * raw`` with the runtime's tree walk."""
        trees = []
        k = 0
        for part in self.binning.parts:
            beta = self.coef[k : k + part.width] * scale
            weight = self.counts[k : k + part.width]
            k += part.width
            if not np.any(beta):
                continue
            trees.append(_part_tree(part, beta, weight, self.rows))
        return self.intercept * scale, trees


class _Builder:
    """Nodes in pre-order (children after their parent, as the runtime requires)."""

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.value: list[float] = []
        self.weight: list[float] = []

    def node(self) -> int:
        for column in (self.feature, self.left, self.right):
            column.append(0)
        self.threshold.append(0.0)
        self.value.append(0.0)
        self.weight.append(0.0)
        return len(self.feature) - 1

    def leaf(self, value: float, weight: float) -> int:
        i = self.node()
        self.left[i] = self.right[i] = -1
        self.value[i] = value
        self.weight[i] = weight
        return i

    def split(self, feature: int, threshold: float, make_left: t.Callable[[], int], make_right: t.Callable[[], int]) -> int:
        i = self.node()
        self.feature[i] = feature
        self.threshold[i] = threshold
        self.left[i] = make_left()
        self.right[i] = make_right()
        return i

    def bins(self, feature: int, edges: t.Sequence[float], beta: np.ndarray, weight: np.ndarray, lo: int, hi: int) -> int:
        """A balanced tree over bins ``lo..hi`` (bin k: edges[k-1] < x <= edges[k])."""
        if lo == hi:
            return self.leaf(float(beta[lo]), float(weight[lo]))
        mid = (lo + hi) // 2
        return self.split(
            feature, edges[mid], lambda: self.bins(feature, edges, beta, weight, lo, mid), lambda: self.bins(feature, edges, beta, weight, mid + 1, hi)
        )

    def arrays(self) -> TreeArrays:
        left, right = np.asarray(self.left), np.asarray(self.right)
        mean = node_means(left, right, np.asarray(self.value), np.asarray(self.weight))
        return TreeArrays(feature=self.feature, threshold=self.threshold, left=self.left, right=self.right, value=self.value, mean=mean.tolist())


def _part_tree(part: _Part, beta: np.ndarray, weight: np.ndarray, rows: int) -> TreeArrays:
    b = _Builder()
    if not part.edges and part.missing is None:  # a 0/1 feature: a stump, 0 on the left
        b.split(part.feature, 0.5, lambda: b.leaf(0.0, rows - float(weight[0])), lambda: b.leaf(float(beta[0]), float(weight[0])))
        return b.arrays()
    n_bins = len(part.edges) + 1

    def present() -> int:
        return b.bins(part.feature, part.edges, beta, weight, 0, n_bins - 1)

    if part.missing is None:
        present()
    else:
        b.split(part.missing, 0.5, present, lambda: b.leaf(float(beta[n_bins]), float(weight[n_bins])))
    return b.arrays()


def fit_additive(binning: Binning, x: np.ndarray, y: np.ndarray, *, regularisation: float) -> AdditiveModel:
    """The L2-regularised logistic regression over ``binning``'s indicators of training rows ``x``."""
    from sklearn.linear_model import LogisticRegression

    design = binning.indicators(x)
    with single_thread():
        fit = LogisticRegression(C=regularisation, solver="newton-cholesky", max_iter=200).fit(design, y)
    counts = design.sum(axis=0)
    return AdditiveModel(binning, float(fit.intercept_[0]), fit.coef_[0].astype(np.float64), counts, len(design))
