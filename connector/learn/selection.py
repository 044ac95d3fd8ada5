"""Honest model selection: everything that is tuned is tuned inside the folds that judge it.

:func:`fit_procedure` is the whole learner on a set of training rows. Inside those rows only it
screens columns for leaks, fits buckets, points, features and bins, and runs an inner
cross-validation that chooses the number of trees (early stopping on held-out folds), the weight
of the additive logistic part and its regularisation (:data:`BLEND_WEIGHTS`, :data:`REGULARISATION`),
cross-fits the Platt calibration and picks the stage thresholds on the inner out-of-fold scores.

:func:`nested_evaluation` runs that procedure once per outer fold and judges each fitted model on
the outer fold it never saw -- including the hot threshold it picked itself. Those are the figures
the learner reports. The inner-CV score of the configuration it chose is in-sample for that choice
(the maximum of many noisy estimates is biased upwards) and is shown only as such.

Label-free steps (which levels are frequent, medians, quantile bin edges) are fitted on the whole
training part of an outer fold and shared by its inner folds; every step that reads a label is
refitted inside each inner fold.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import numpy as np

from connector.learn.additive import AdditiveModel, fit_additive, fit_binning
from connector.learn.columns import Column
from connector.learn.dataset import DataError
from connector.learn.features import ActivityTable, design_matrix, fit_features
from connector.learn.metrics import expected_calibration_error, fit_platt, platt, roc_auc
from connector.learn.points import PointsModel, fit_points
from connector.learn.probability import BoostingParams, FittedTrees, export_trees, fit_boosting
from connector.learn.screen import Screened, screen
from connector.learn.thresholds import Thresholds, pick_thresholds
from connector.scoring.predictive import FeatureSpec, GradientTrees, TreeArrays

__all__ = [
    "BLEND_WEIGHTS",
    "REGULARISATION",
    "TREE_STEP",
    "AboveHot",
    "Choice",
    "Context",
    "Evaluation",
    "Fitted",
    "fit_procedure",
    "min_size_for",
    "nested_evaluation",
    "score100",
    "stratified_folds",
]

#: Weights of the additive logistic part in the blended log-odds (0: trees only, 1: additive only).
BLEND_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Inverse L2 strengths (scikit-learn's ``C``) tried for the additive logistic part.
REGULARISATION: tuple[float, ...] = (1.0, 3.0, 10.0)
#: The number of trees is chosen in steps of this many.
TREE_STEP = 10


@dc.dataclass(frozen=True)
class Choice:
    """What the inner folds chose. ``trees`` is 0 when the blend is the additive part alone."""

    trees: int
    blend: float
    regularisation: float

    def describe(self) -> str:
        """For people: ``140 trees + additive part (weight 0.25, C 1)``."""
        if self.blend >= 1.0:
            return f"additive part alone (C {self.regularisation:g})"
        if self.blend <= 0.0:
            return f"{self.trees} trees alone"
        return f"{self.trees} trees + additive part (weight {self.blend:g}, C {self.regularisation:g})"


@dc.dataclass(frozen=True)
class Context:
    """What stays fixed for one run of the learner: all contacts and the user's options."""

    columns: t.Sequence[Column]
    table: ActivityTable
    y: np.ndarray
    exclude: tuple[str, ...]
    allow_leaky: tuple[str, ...]
    boosting: BoostingParams
    target: float
    folds: int
    seed: int


@dc.dataclass
class Fitted:
    """The procedure's result on one set of training rows."""

    screened: Screened
    points: PointsModel
    specs: list[FeatureSpec]
    #: Every contact (not just the training rows) encoded with ``specs``.
    x: np.ndarray
    trees: FittedTrees | None
    additive: AdditiveModel | None
    choice: Choice
    calibration: tuple[float, float]
    thresholds: Thresholds
    points_thresholds: Thresholds
    #: Inner-CV ROC AUC of the chosen configuration: in-sample for the choice, so optimistic.
    selection_auc: float
    selection_points_auc: float

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Blended log-odds of encoded rows ``x``."""
        w = self.choice.blend
        out = np.zeros(len(x))
        if self.trees is not None:
            out += (1.0 - w) * self.trees.decision_function(x)
        if self.additive is not None:
            out += w * self.additive.decision_function(x)
        return out

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability of encoded rows ``x``."""
        return platt(self.raw(x), *self.calibration)

    def points_score(self, rows: np.ndarray) -> np.ndarray:
        """The points model's sum for ``rows``."""
        by_name = {c.name: c for c in self.screened.used}
        return self.points.score(by_name, self.screened.table.counts, rows)

    def ensemble(self) -> GradientTrees:
        """The blend as one sum of trees for the runtime (``raw = bias + sum of leaf values``)."""
        w = self.choice.blend
        bias = 0.0
        trees: list[TreeArrays] = []
        if self.trees is not None:
            part = export_trees(self.trees, scale=1.0 - w)
            bias += part.bias
            trees += part.trees
        if self.additive is not None:
            add_bias, add_trees = self.additive.export(scale=w)
            bias += add_bias
            trees += add_trees
        if not trees:  # nothing varies: one leaf worth 0
            trees = [TreeArrays(feature=[0], threshold=[0.0], left=[-1], right=[-1], value=[0.0], mean=[0.0])]
        return GradientTrees(bias=bias, trees=trees)


def score100(p: np.ndarray) -> np.ndarray:
    """The dimension value the engine shows: round2(100 * p)."""
    return np.floor(100.0 * np.asarray(p) * 100 + 0.5) / 100


def min_size_for(rows: int) -> int:
    """Fewest contacts a bucket, level or bin needs: 0.5% of the training rows, at least 10."""
    return max(10, round(0.005 * rows))


def stratified_folds(y: np.ndarray, rows: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` stratified folds of ``rows`` (indices into ``y``), fewer when an outcome is rarer than ``k``."""
    from sklearn.model_selection import StratifiedKFold

    yr = y[rows]
    k = max(2, min(k, int(min(yr.sum(), len(yr) - yr.sum()))))
    split = StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(rows)), yr)
    return [(rows[tr], rows[te]) for tr, te in split]


def _tree_counts(most: int) -> list[int]:
    counts = list(range(TREE_STEP, most + 1, TREE_STEP))
    return counts if counts and counts[-1] == most else [*counts, most]


def _choose(y: np.ndarray, staged: np.ndarray, additive: np.ndarray, most: int) -> tuple[Choice, float]:
    """The configuration with the best pooled inner out-of-fold ROC AUC (ties: fewer trees, less blending)."""
    best: tuple[float, Choice] | None = None
    counts = _tree_counts(most)
    for trees in counts:
        gb = staged[trees - 1]
        for w in BLEND_WEIGHTS:
            if w >= 1.0 and trees != counts[0]:
                continue  # the trees do not count: judge the additive part once
            for k, c in enumerate(REGULARISATION):
                if w <= 0.0 and k > 0:
                    continue  # no additive part: its regularisation does not matter
                auc = roc_auc(y, (1.0 - w) * gb + w * additive[k])
                if best is None or auc > best[0]:
                    best = (auc, Choice(0 if w >= 1.0 else trees, w, c))
    if best is None:
        raise RuntimeError("internal error: no configuration was tried")
    return best[1], best[0]


def fit_procedure(ctx: Context, rows: np.ndarray) -> Fitted:
    """Screen, fit and tune on training ``rows`` only (indices into ``ctx.y``)."""
    y = ctx.y
    min_size = min_size_for(len(rows))
    inner = stratified_folds(y, rows, ctx.folds, ctx.seed)
    screened = screen(ctx.columns, ctx.table, y, rows, inner, min_size=min_size, exclude=ctx.exclude, allow_leaky=ctx.allow_leaky)
    if not screened.used and not screened.table.counts:
        raise DataError("no usable column left to learn from (all were excluded, constant or identifiers)")
    by_name = {c.name: c for c in screened.used}
    specs = fit_features(screened.used, screened.table, rows, min_size=min_size)
    if not specs:
        raise DataError(f"no column varies enough to learn from: every value and activity type is held by fewer than {min_size} contacts")
    x = design_matrix(specs, by_name, screened.table)
    binning = fit_binning(specs, x, rows, min_size=min_size)

    most = ctx.boosting.trees
    staged = np.zeros((most, len(y)))
    additive = np.zeros((len(REGULARISATION), len(y)))
    points = np.zeros(len(y))
    for train, test in inner:
        gb = fit_boosting(x[train], y[train], ctx.boosting, ctx.seed)
        staged[:, test] = gb.staged_decision_function(x[test])
        for k, c in enumerate(REGULARISATION):
            additive[k, test] = fit_additive(binning, x[train], y[train], regularisation=c).decision_function(x[test])
        points[test] = fit_points(screened.used, screened.table.counts, y, train, min_size=min_size).score(by_name, screened.table.counts, test)
    choice, selection_auc = _choose(y[rows], staged[:, rows], additive[:, rows], most)
    k = REGULARISATION.index(choice.regularisation)
    raw = (1.0 - choice.blend) * staged[max(choice.trees, 1) - 1] + choice.blend * additive[k]

    calibrated = np.zeros(len(y))
    for train, test in inner:  # cross-fitted: each inner fold calibrated by the others
        calibrated[test] = platt(raw[test], *fit_platt(raw[train], y[train]))
    thresholds = pick_thresholds(y[rows], score100(calibrated[rows]), target=ctx.target)
    lo, hi = int(np.floor(points[rows].min())), int(np.ceil(points[rows].max()))
    points_thresholds = pick_thresholds(y[rows], points[rows], target=ctx.target, grid=[float(v) for v in range(lo, hi + 1)])

    return Fitted(
        screened=screened,
        points=fit_points(screened.used, screened.table.counts, y, rows, min_size=min_size),
        specs=specs,
        x=x,
        trees=fit_boosting(x[rows], y[rows], ctx.boosting, ctx.seed, trees=choice.trees) if choice.blend < 1.0 else None,
        additive=fit_additive(binning, x[rows], y[rows], regularisation=choice.regularisation) if choice.blend > 0.0 else None,
        choice=choice,
        calibration=fit_platt(raw[rows], y[rows]),
        thresholds=thresholds,
        points_thresholds=points_thresholds,
        selection_auc=selection_auc,
        selection_points_auc=roc_auc(y[rows], points[rows]),
    )


@dc.dataclass(frozen=True)
class AboveHot:
    """Leads at or above the hot threshold each outer fold picked for itself, pooled over the folds."""

    conversion: float
    captured: float
    share: float
    lowest: float
    highest: float


@dc.dataclass
class Evaluation:
    """Figures from outer folds no tuning saw: means over the repeats, and the first repeat's scores."""

    folds: int
    repeats: int
    auc_probability: float
    auc_points: float
    ece: float
    hot: AboveHot
    points_hot: AboveHot
    #: ROC AUC of the probability per outer fold (all repeats) and per repeat (pooled folds).
    fold_auc: list[float]
    repeat_auc: list[float]
    choices: list[Choice]
    oof_probability: np.ndarray
    oof_points: np.ndarray


def _above(y: np.ndarray, above: np.ndarray, cuts: t.Sequence[float]) -> AboveHot:
    n = int(above.sum())
    return AboveHot(
        conversion=float(y[above].mean()) if n else 0.0,
        captured=float(y[above].sum() / max(y.sum(), 1)),
        share=n / len(y),
        lowest=min(cuts),
        highest=max(cuts),
    )


def _mean_above(items: t.Sequence[AboveHot]) -> AboveHot:
    return AboveHot(
        conversion=float(np.mean([a.conversion for a in items])),
        captured=float(np.mean([a.captured for a in items])),
        share=float(np.mean([a.share for a in items])),
        lowest=min(a.lowest for a in items),
        highest=max(a.highest for a in items),
    )


@dc.dataclass(frozen=True)
class _Repeat:
    """One pass of the outer cross-validation, every lead scored by a model that never saw it."""

    probability: np.ndarray
    points: np.ndarray
    hot: AboveHot
    points_hot: AboveHot


def _one_repeat(ctx: Context, seed: int, fold_auc: list[float], choices: list[Choice], tick: t.Callable[[], None]) -> _Repeat:
    y = ctx.y
    prob, pts = np.zeros(len(y)), np.zeros(len(y))
    hot, points_hot = np.zeros(len(y), dtype=bool), np.zeros(len(y), dtype=bool)
    cuts: list[float] = []
    point_cuts: list[float] = []
    for train, test in stratified_folds(y, np.arange(len(y)), ctx.folds, seed):
        fitted = fit_procedure(ctx, train)
        prob[test] = fitted.probability(fitted.x[test])
        pts[test] = fitted.points_score(test)
        hot[test] = score100(prob[test]) >= fitted.thresholds.hot
        points_hot[test] = pts[test] >= fitted.points_thresholds.hot
        cuts.append(fitted.thresholds.hot)
        point_cuts.append(fitted.points_thresholds.hot)
        fold_auc.append(roc_auc(y[test], prob[test]))
        choices.append(fitted.choice)
        tick()
    return _Repeat(prob, pts, _above(y, hot, cuts), _above(y, points_hot, point_cuts))


def nested_evaluation(ctx: Context, repeats: int, on_fold: t.Callable[[int, int], None] | None = None) -> Evaluation:
    """Run :func:`fit_procedure` in each outer fold (``repeats`` times, new folds each time) and judge it on the fold left out."""
    y = ctx.y
    fold_auc: list[float] = []
    choices: list[Choice] = []
    total = repeats * len(stratified_folds(y, np.arange(len(y)), ctx.folds, ctx.seed))

    def tick() -> None:
        if on_fold is not None:
            on_fold(len(fold_auc), total)

    # The outer folds use other seeds than the inner ones, so the two splits never coincide.
    runs = [_one_repeat(ctx, ctx.seed + 7919 * (r + 1), fold_auc, choices, tick) for r in range(repeats)]
    return Evaluation(
        folds=len(fold_auc) // repeats,
        repeats=repeats,
        auc_probability=float(np.mean([roc_auc(y, r.probability) for r in runs])),
        auc_points=float(np.mean([roc_auc(y, r.points) for r in runs])),
        ece=float(np.mean([expected_calibration_error(y, r.probability) for r in runs])),
        hot=_mean_above([r.hot for r in runs]),
        points_hot=_mean_above([r.points_hot for r in runs]),
        fold_auc=fold_auc,
        repeat_auc=[roc_auc(y, r.probability) for r in runs],
        choices=choices,
        oof_probability=runs[0].probability,
        oof_points=runs[0].points,
    )
