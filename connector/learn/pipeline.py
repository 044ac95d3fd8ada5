"""``connector learn`` end to end: read, guard, evaluate by nested cross-validation, fit, write.

One reading, top-down: every step is a call into a small module of this package, so a reader can
follow a labelled contact from the input file to the rule that gives it points.

The figures the learner reports come from :func:`connector.learn.selection.nested_evaluation`: the
whole procedure -- leak screen, buckets, points, features, bins, the inner cross-validation that
tunes the trees and the blend, calibration, thresholds -- runs inside each outer fold and is judged
on the outer fold it never saw. The model written is the same procedure run on all contacts.
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
from connector.learn.features import activity_table
from connector.learn.guards import Leak, check_labels
from connector.learn.points import PointsModel
from connector.learn.probability import BoostingParams
from connector.learn.screen import Excluded, unknown_names
from connector.learn.selection import Context, Evaluation, Fitted, fit_procedure, nested_evaluation
from connector.learn.thresholds import Thresholds
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
    #: Times the outer cross-validation is repeated with new folds (the figures are their mean).
    repeats: int = 1
    boosting: BoostingParams = dc.field(default_factory=BoostingParams)
    as_of: dt.datetime | None = None


@dc.dataclass
class Learned:
    """What learning produced: the fitted models and everything the report shows."""

    data: LearningData
    y: np.ndarray
    columns: list[Column]
    final: Fitted
    model_file: ModelFile
    predictor: TreePredictor
    evaluation: Evaluation
    warnings: list[str]
    seconds: float
    options: LearnOptions

    @property
    def used(self) -> list[str]:
        """Columns the final model learned from."""
        return [c.name for c in self.final.screened.used]

    @property
    def excluded(self) -> list[Excluded]:
        """Columns and activity types left out of the final model, and why."""
        return self.final.screened.excluded

    @property
    def leaks(self) -> list[Leak]:
        """Columns and activity types the leak screen caught on all contacts."""
        return self.final.screened.leaks

    @property
    def points(self) -> PointsModel:
        """The readable points model written to the YAML."""
        return self.final.points

    @property
    def thresholds(self) -> Thresholds:
        """The stage thresholds written (picked on all contacts' inner out-of-fold scores)."""
        return self.final.thresholds

    @property
    def points_thresholds(self) -> Thresholds:
        """The points model's own hot/MQL cuts (reported, not written)."""
        return self.final.points_thresholds


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


def learn(options: LearnOptions, data: LearningData | None = None, on_fold: t.Callable[[int, int], None] | None = None) -> Learned:
    """Fit the procedure on everyone and evaluate it by nested cross-validation; nothing is written here.

    ``on_fold(done, total)`` is called after each of the ``folds x repeats + 1`` fits (progress bars).
    """
    started = time.perf_counter()
    if not 0.0 < options.target_conversion < 1.0:
        raise DataError(f"--target-conversion must be between 0 and 1 (exclusive), got {options.target_conversion}")
    if options.repeats < 1:
        raise DataError(f"--repeats must be at least 1, got {options.repeats}")
    data = data or load_data(options)
    y = np.asarray(data.labels, dtype=np.int64)
    warnings = check_labels(y, options.label) + list(data.notes)
    if data.unlabelled:
        warnings.append(f"{data.unlabelled} contacts have no outcome in '{options.label}' yet and were not used")
    if data.skipped:
        warnings.append(f"{len(data.skipped)} rows set aside (see the report); first: line {data.skipped[0].line}: {data.skipped[0].reason}")
    columns = profile_columns(data.contacts, data.columns, options.placeholders)
    table = activity_table(data.contacts, data.activities, data.as_of)
    warnings += unknown_names(columns, options.exclude, options.allow_leaky)
    ctx = Context(
        columns=columns,
        table=table,
        y=y,
        exclude=options.exclude,
        allow_leaky=options.allow_leaky,
        boosting=options.boosting,
        target=options.target_conversion,
        folds=options.folds,
        seed=options.seed,
    )
    final = fit_procedure(ctx, np.arange(len(y)))  # first: bad data fails fast, before the long part
    warnings += final.screened.warnings
    if on_fold is not None:  # progress counts the final fit as one more fold
        report = on_fold
        report(1, options.folds * options.repeats + 1)
        on_fold = lambda done, total: report(done + 1, total + 1)  # noqa: E731 - a one-line adapter
    evaluation = nested_evaluation(ctx, options.repeats, on_fold)
    if not final.thresholds.reached:
        warnings.append(
            f"no probability threshold reaches the target conversion of {options.target_conversion:.0%}; "
            f"the hot threshold {final.thresholds.hot:g} is the best found ({final.thresholds.hot_row.conversion:.1%})"
        )
    model_file = ModelFile(
        format=FORMAT,
        label=options.label,
        placeholders=list(options.placeholders),
        features=final.specs,
        ensemble=final.ensemble(),
        calibration=Calibration(a=final.calibration[0], b=final.calibration[1]),
        trained={
            "contacts": len(y),
            "converted": int(y.sum()),
            "seed": options.seed,
            "trees": final.choice.trees,
            "additive_weight": final.choice.blend,
            "additive_regularisation": final.choice.regularisation,
            "out_of_fold_roc_auc": round(evaluation.auc_probability, 4),
            "out_of_fold_calibration_error": round(evaluation.ece, 4),
            "out_of_fold": f"nested {evaluation.folds}-fold cross-validation x {evaluation.repeats}",
            "selection_roc_auc_in_sample": round(final.selection_auc, 4),
            **({"activities_as_of": data.as_of.isoformat()} if data.activities else {}),
        },
    )
    predictor = TreePredictor(model_file, "probability")
    _check_parity(predictor, final, data, options.seed)
    return Learned(
        data=data,
        y=y,
        columns=columns,
        final=final,
        model_file=model_file,
        predictor=predictor,
        evaluation=evaluation,
        warnings=warnings,
        seconds=time.perf_counter() - started,
        options=options,
    )


def _check_parity(predictor: TreePredictor, final: Fitted, data: LearningData, seed: int) -> None:
    """The exported runtime must reproduce the fitted blend on the training contacts, from raw records."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(data.contacts), size=min(200, len(data.contacts)), replace=False)
    contacts = [data.contacts[i] for i in sample]
    rows = predictor.encoding.matrix(contacts, data.activities, data.as_of)
    if not np.array_equal(rows, final.x[sample]):
        bad = int(np.argwhere(~np.all(rows == final.x[sample], axis=1))[0][0])
        raise RuntimeError(f"internal error: runtime encoding differs from training for contact {contacts[bad].id}")
    expected = final.raw(rows)
    got = predictor.raw(rows)
    if not np.allclose(got, expected, rtol=0, atol=1e-9):
        raise RuntimeError(f"internal error: exported trees differ from the fitted model by {np.max(np.abs(got - expected)):.3g}")
