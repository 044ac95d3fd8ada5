"""Benchmark ``connector learn`` on the public X Education leads (../shared/data/x-education-leads).

Prints the cross-validated figures the issue sets targets for, and the training time:

    .venv/bin/python bench/bench_learn.py [--trees 300] [--folds 5] [--seed 0] [--write DIR]

The outcome-leaking columns named in the data set's README are excluded. Every figure comes from
held-out folds (bins, points, trees fitted inside each fold; calibration cross-fitted; thresholds
picked on held-out scores), so it estimates performance on leads the model has not seen.
Exit code 0 even when a target is missed: the figures are the point; MISS lines say which.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

from connector.learn.pipeline import LearnOptions, learn
from connector.learn.probability import BoostingParams
from connector.learn.report import write_report
from connector.learn.writer import write_model

REPO = pathlib.Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "x-education-leads" / "leads_train.csv"
LEAKY = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Last Notable Activity",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DATA)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=pathlib.Path, default=None, help="also write model + report here")
    parser.add_argument("--holdout", type=float, default=0.0, help="also: learn on the rest, then score this stratified share with the engine")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"SKIP: {args.data} not found (the shared data set must sit beside the project)")
        return 0
    options = LearnOptions(
        contacts=args.data,
        label="Converted",
        id_column="Prospect ID",
        exclude=LEAKY,
        seed=args.seed,
        folds=args.folds,
        boosting=BoostingParams(trees=args.trees),
    )
    started = time.perf_counter()
    learned = learn(options)
    seconds = time.perf_counter() - started
    ev = learned.evaluation
    th = ev.thresholds
    figures = [
        ("ROC AUC, probability score (CV)", ev.auc_probability, 0.90, "{:.4f}"),
        ("ROC AUC, integer points model alone (CV)", ev.auc_points, 0.88, "{:.4f}"),
        (f"conversion rate at probability >= {th.hot:g} (hot)", th.hot_row.conversion, 0.80, "{:.1%}"),
        ("share of all conversions above hot threshold", th.hot_row.captured, 0.65, "{:.1%}"),
    ]
    print(f"data: {args.data} ({len(learned.y)} leads, {int(learned.y.sum())} converted); {args.folds}-fold CV, {args.trees} trees, seed {args.seed}")
    print(f"excluded: {', '.join(e.column for e in learned.excluded)}")
    for name, value, target, fmt in figures:
        verdict = "ok  " if value >= target else "MISS"
        print(f"{verdict} {name}: {fmt.format(value)} (target >= {fmt.format(target)})")
    print(f"     MQL threshold {th.mql:g}: conversion {th.mql_row.conversion:.1%}, share of conversions {th.mql_row.captured:.1%}")
    pt = ev.points_thresholds
    print(f"     points model hot threshold {pt.hot:g}: conversion {pt.hot_row.conversion:.1%}, share of conversions {pt.hot_row.captured:.1%}")
    print(f"     calibration error (ECE, 10 bins, CV): {ev.ece:.4f}")
    print(f"     rules in the points model: {len(learned.points.rules)}")
    print(f"     training time (CV + final fit, one process): {seconds:.1f} s")
    if args.write is not None:
        written = write_model(learned, args.write / "x-education.yaml")
        write_report(learned, args.write / "report", written.yaml)
        print(f"     wrote {written.yaml}, {written.json}, {args.write / 'report'}")
    if args.holdout > 0:
        _holdout(options, args.holdout)
    return 0


def _holdout(options: LearnOptions, share: float) -> None:
    """Learn on (1 - share) of the leads, then score the rest with the written model and the engine."""
    import tempfile

    import numpy as np
    from sklearn.model_selection import train_test_split

    from connector.learn.metrics import roc_auc
    from connector.learn.pipeline import load_data
    from connector.scoring.engine import Scorer

    data = load_data(options)
    index = np.arange(len(data.labels))
    train, test = train_test_split(index, test_size=share, stratify=data.labels, random_state=options.seed)
    part = dataclasses.replace(data, contacts=[data.contacts[i] for i in train], labels=[data.labels[i] for i in train])
    learned = learn(options, data=part)
    with tempfile.TemporaryDirectory() as tmp:
        written = write_model(learned, pathlib.Path(tmp) / "holdout.yaml")
        scorer = Scorer.from_file(written.yaml)
        results = [scorer.score(data.contacts[i], [], [], data.as_of) for i in test]
    y = np.array([data.labels[i] for i in test])
    prob = np.array([r.dimensions["probability"] for r in results])
    pts = np.array([r.dimensions["points"] for r in results])
    hot = learned.evaluation.thresholds.hot
    above = prob >= hot
    print(f"held-out check: learned on {len(train)} leads, scored {len(test)} unseen leads with `connector score`'s engine")
    print(f"     ROC AUC probability {roc_auc(y, prob):.4f}, points {roc_auc(y, pts):.4f}")
    print(f"     probability >= {hot:g} (hot, picked on the training leads): {above.sum()} leads, conversion {y[above].mean():.1%}, share of conversions {y[above].sum() / y.sum():.1%}")


if __name__ == "__main__":
    sys.exit(main())
