"""``connector learn`` end to end: read, guard, cross-validate, fit, pick thresholds, write.

One reading, top-down: every step is a call into a small module of this package, so a reader can
follow a labelled contact from the input file to the rule that gives it points.

Cross-validation is honest: bins, levels, points, features and trees are all fitted inside each
fold and judged on the held-out fold; the calibration is cross-fitted on the out-of-fold scores,
and the thresholds are picked from those held-out scores too.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import pathlib
import time
import typing as t

import numpy as np

from connector.learn.columns import Column, profile_columns
from connector.learn.dataset import DataError, LearningData, Skipped, read_activities, read_labelled_contacts
from connector.learn.features import ActivityTable, activity_table, design_matrix, fit_features
from connector.learn.guards import LEAKY_AUC, Leak, check_labels, find_leaks
from connector.learn.metrics import expected_calibration_error, fit_platt, platt, roc_auc
from connector.learn.points import PointsModel, fit_points
from connector.learn.probability import BoostingParams, export_trees, fit_boosting
from connector.learn.thresholds import Thresholds, pick_thresholds
from connector.scoring.predictive import FORMAT, Calibration, ModelFile, TreePredictor
from connector.scoring.records import utc

__all__ = ["DEFAULT_PLACEHOLDERS", "Evaluation", "Excluded", "LearnOptions", "Learned", "learn", "load_data"]

#: Values that mean "not answered" unless the user says otherwise.
DEFAULT_PLACEHOLDERS: tuple[str, ...] = ("Select",)


@dc.dataclass(frozen=True)
class LearnOptions:
    """Everything ``connector learn`` was asked to do."""

    contacts: pathlib.Path
    label: str
    activities: pathlib.Path | None = None
    id_column: str | None = None
    exclude: tuple[str, ...] = ()
    allow_leaky: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    target_conversion: float = 0.8
    seed: int = 0
    folds: int = 5
    boosting: BoostingParams = dc.field(default_factory=BoostingParams)
    as_of: dt.datetime | None = None


@dc.dataclass(frozen=True)
class Excluded:
    """A column left out, and why."""

    column: str
    reason: str


@dc.dataclass
class Evaluation:
    """Cross-validated figures, all computed on held-out folds."""

    auc_probability: float
    auc_points: float
    ece: float
    precision_at_hot: float
    recall_at_hot: float
    thresholds: Thresholds
    points_thresholds: Thresholds
    oof_probability: np.ndarray
    oof_points: np.ndarray


@dc.dataclass
class Learned:
    """What learning produced: the fitted models and everything the report shows."""

    data: LearningData
    y: np.ndarray
    columns: list[Column]
    used: list[str]
    excluded: list[Excluded]
    leaks: list[Leak]
    points: PointsModel
    model_file: ModelFile
    predictor: TreePredictor
    evaluation: Evaluation
    warnings: list[str]
    seconds: float
    options: LearnOptions


def load_data(options: LearnOptions) -> LearningData:
    """Read contacts (and activities); ``as_of`` defaults to the latest activity (or now)."""
    contacts, labels, columns, skipped, unlabelled = read_labelled_contacts(options.contacts, label=options.label, id_column=options.id_column)
    activities: dict[str, list] = {}
    notes: list[str] = []
    if options.activities is not None:
        activities, act_skipped = read_activities(options.activities, options.placeholders)
        skipped = skipped + [Skipped(s.line, f"{options.activities.name}: {s.reason}") for s in act_skipped]
        known = {c.id for c in contacts}
        total = sum(len(v) for v in activities.values())
        stray = sum(len(v) for k, v in activities.items() if k not in known)
        if total and stray == total:
            raise DataError(
                f"{options.activities}: none of its {total} activities belongs to a labelled contact; "
                f"their contact_id must match the contacts' ids (--id-column{' ' + options.id_column if options.id_column else ''})"
            )
        if stray:
            notes.append(f"{stray} of {total} activities belong to no labelled contact and were not used")
        activities = {k: v for k, v in activities.items() if k in known}
    if options.as_of is not None:
        as_of = utc(options.as_of)
    else:
        latest = [a.occurred_at for acts in activities.values() for a in acts]
        as_of = max(latest) if latest else dt.datetime.now(dt.UTC)
    return LearningData(contacts, labels, columns, activities, as_of, skipped, unlabelled, notes)


def _folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    k = max(2, min(k, int(min(y.sum(), len(y) - y.sum()))))
    return [(tr, te) for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)]


def _choose_columns(columns: list[Column], y: np.ndarray, options: LearnOptions, folds: list, min_size: int) -> tuple[list[Column], list[Excluded], list[Leak], list[str]]:
    names = {c.name for c in columns}
    own = [c for c in (*options.exclude, *options.allow_leaky) if c.startswith(ACTIVITY_PREFIX)]  # checked with activities
    warnings = [f"--exclude {c}: no such column (ignored)" for c in options.exclude if c not in names and c not in own]
    warnings += [f"--allow-leaky {c}: no such column (ignored)" for c in options.allow_leaky if c not in names and c not in own]
    excluded: list[Excluded] = []
    candidates = []
    for col in columns:
        if col.name in options.exclude and col.name not in options.allow_leaky:
            excluded.append(Excluded(col.name, "excluded by --exclude"))
        elif col.kind == "identifier":
            excluded.append(Excluded(col.name, "a different value on almost every contact (an identifier, not a signal)"))
        elif col.kind == "constant":
            excluded.append(Excluded(col.name, "the same value (or none) on every contact"))
        else:
            candidates.append(col)
    leaks = find_leaks(candidates, y, folds, min_size)
    leaky = {leak.column: leak for leak in leaks}
    used = []
    for col in candidates:
        leak = leaky.get(col.name)
        if leak is None:
            used.append(col)
        elif col.name in options.allow_leaky:
            used.append(col)
            warnings.append(f"column '{col.name}' alone predicts the label (ROC AUC {leak.auc:.3f}); kept because of --allow-leaky")
        else:
            excluded.append(Excluded(col.name, f"leaks the outcome: alone it predicts the label with ROC AUC {leak.auc:.3f} (keep it with --allow-leaky '{col.name}')"))
    return used, excluded, leaks, warnings


#: How ``--exclude`` / ``--allow-leaky`` name an activity type.
ACTIVITY_PREFIX = "activity:"


def _choose_activities(table: ActivityTable, y: np.ndarray, options: LearnOptions) -> tuple[ActivityTable, list[Excluded], list[Leak], list[str]]:
    """Drop activity types the user excluded (``activity:TYPE``) or whose count alone predicts the label.

    A ``purchase`` or ``contract_signed`` activity logged after the outcome leaks it just like a column.
    """
    excluded: list[Excluded] = []
    leaks: list[Leak] = []
    warnings: list[str] = []
    keep = {}
    for typ, counts in table.counts.items():
        name = f"{ACTIVITY_PREFIX}{typ}"
        auc = roc_auc(y, counts.total)
        auc = max(auc, 1.0 - auc)
        if name in options.exclude and name not in options.allow_leaky:
            excluded.append(Excluded(name, "excluded by --exclude"))
        elif auc >= LEAKY_AUC and name not in options.allow_leaky:
            leaks.append(Leak(name, auc))
            excluded.append(Excluded(name, f"leaks the outcome: its count alone predicts the label with ROC AUC {auc:.3f} (keep it with --allow-leaky '{name}')"))
        else:
            if auc >= LEAKY_AUC:
                warnings.append(f"'{name}' alone predicts the label (ROC AUC {auc:.3f}); kept because of --allow-leaky")
            keep[typ] = counts
    return ActivityTable(keep, {k: table.days_since[k] for k in keep}), excluded, leaks, warnings


def _score100(p: np.ndarray) -> np.ndarray:
    """The dimension value the engine shows: round2(100 * p)."""
    return np.floor(100.0 * p * 100 + 0.5) / 100


def learn(options: LearnOptions, data: LearningData | None = None) -> Learned:
    """Learn the points model and the probability model; nothing is written here."""
    started = time.perf_counter()
    if not 0.0 < options.target_conversion < 1.0:
        raise DataError(f"--target-conversion must be between 0 and 1 (exclusive), got {options.target_conversion}")
    data = data or load_data(options)
    y = np.asarray(data.labels, dtype=np.int64)
    warnings = check_labels(y, options.label) + list(data.notes)
    if data.unlabelled:
        warnings.append(f"{data.unlabelled} contacts have no outcome in '{options.label}' yet and were not used")
    if data.skipped:
        warnings.append(f"{len(data.skipped)} rows set aside (see the report); first: line {data.skipped[0].line}: {data.skipped[0].reason}")
    n = len(y)
    min_size = max(10, round(0.005 * n))
    columns = profile_columns(data.contacts, data.columns, options.placeholders)
    folds = _folds(y, options.folds, options.seed)
    used, excluded, leaks, more = _choose_columns(columns, y, options, folds, min_size)
    warnings += more
    by_name = {c.name: c for c in used}
    table, act_excluded, act_leaks, more = _choose_activities(activity_table(data.contacts, data.activities, data.as_of), y, options)
    excluded += act_excluded
    leaks += act_leaks
    warnings += more
    if not used and not table.counts:
        raise DataError("no usable column left to learn from (all were excluded, constant or identifiers)")

    oof_points = np.zeros(n)
    oof_raw = np.zeros(n)
    for train, test in folds:
        pts = fit_points(used, table.counts, y, train, min_size=min_size)
        oof_points[test] = pts.score(by_name, table.counts, test)
        specs = fit_features(used, table, train, min_size=min_size)
        x = design_matrix(specs, by_name, table)
        gb = fit_boosting(x[train], y[train], options.boosting, options.seed)
        oof_raw[test] = gb.decision_function(x[test])
    oof_prob = np.zeros(n)
    for train, test in folds:  # cross-fitted calibration: each fold calibrated by the others
        a, b = fit_platt(oof_raw[train], y[train])
        oof_prob[test] = platt(oof_raw[test], a, b)
    score = _score100(oof_prob)
    chosen = pick_thresholds(y, score, target=options.target_conversion)
    lo, hi = int(np.floor(oof_points.min())), int(np.ceil(oof_points.max()))
    points_chosen = pick_thresholds(y, oof_points, target=options.target_conversion, grid=[float(v) for v in range(lo, hi + 1)])
    evaluation = Evaluation(
        auc_probability=roc_auc(y, oof_prob),
        auc_points=roc_auc(y, oof_points),
        ece=expected_calibration_error(y, oof_prob),
        precision_at_hot=chosen.hot_row.conversion,
        recall_at_hot=chosen.hot_row.captured,
        thresholds=chosen,
        points_thresholds=points_chosen,
        oof_probability=oof_prob,
        oof_points=oof_points,
    )
    if not chosen.reached:
        warnings.append(
            f"no probability threshold reaches the target conversion of {options.target_conversion:.0%}; "
            f"the hot threshold {chosen.hot:g} is the best found ({chosen.hot_row.conversion:.1%})"
        )

    everyone = np.arange(n)
    points = fit_points(used, table.counts, y, everyone, min_size=min_size)
    specs = fit_features(used, table, everyone, min_size=min_size)
    x = design_matrix(specs, by_name, table)
    gb = fit_boosting(x, y, options.boosting, options.seed)
    a, b = fit_platt(oof_raw, y)
    model_file = ModelFile(
        format=FORMAT,
        label=options.label,
        placeholders=list(options.placeholders),
        features=specs,
        ensemble=export_trees(gb),
        calibration=Calibration(a=a, b=b),
        trained={
            "contacts": n,
            "converted": int(y.sum()),
            "seed": options.seed,
            "trees": options.boosting.trees,
            "cv_roc_auc": round(evaluation.auc_probability, 4),
            "cv_calibration_error": round(evaluation.ece, 4),
            **({"activities_as_of": data.as_of.isoformat()} if data.activities else {}),
        },
    )
    predictor = TreePredictor(model_file, "probability")
    _check_parity(predictor, gb, x, data, options.seed)
    return Learned(
        data=data,
        y=y,
        columns=columns,
        used=[c.name for c in used],
        excluded=excluded,
        leaks=leaks,
        points=points,
        model_file=model_file,
        predictor=predictor,
        evaluation=evaluation,
        warnings=warnings,
        seconds=time.perf_counter() - started,
        options=options,
    )


def _check_parity(predictor: TreePredictor, gb: t.Any, x: np.ndarray, data: LearningData, seed: int) -> None:
    """The exported runtime must reproduce scikit-learn on the training contacts, from raw records."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(data.contacts), size=min(200, len(data.contacts)), replace=False)
    contacts = [data.contacts[i] for i in sample]
    rows = predictor.encoding.matrix(contacts, data.activities, data.as_of)
    if not np.array_equal(rows, x[sample]):
        bad = int(np.argwhere(~np.all(rows == x[sample], axis=1))[0][0])
        raise RuntimeError(f"internal error: runtime encoding differs from training for contact {contacts[bad].id}")
    expected = gb.decision_function(x[sample])
    got = predictor.raw(rows)
    if not np.allclose(got, expected, rtol=0, atol=1e-9):
        raise RuntimeError(f"internal error: exported trees differ from the fitted model by {np.max(np.abs(got - expected)):.3g}")
