"""The learning report: what was learned, how well it does on held-out contacts, where to cut.

Writes ``report.md`` (figures, thresholds, excluded columns, rules), ``thresholds.csv`` (every
threshold of both scores: contacts above, conversion rate, share of conversions captured) and
``lift_gain.png`` (cumulative gain, and conversion/capture by threshold). The tables, the chart and
every line marked "out-of-fold" come from nested cross-validation, so they estimate how the model does
on leads it has not seen; the two in-sample figures (the selection score, the written thresholds'
rates) say so where they are printed.
"""

from __future__ import annotations

import csv
import pathlib
import typing as t

import numpy as np

from connector.learn.pipeline import Learned
from connector.learn.selection import score100
from connector.learn.thresholds import Row, threshold_table

__all__ = ["summary_lines", "write_report"]


def summary_lines(learned: Learned) -> list[str]:
    """The figures, one per line (printed by the CLI, and the report's core); each says where it comes from."""
    ev = learned.evaluation
    th, pt = learned.thresholds, learned.points_thresholds
    final = learned.final
    y = learned.y
    how = f"nested {ev.folds}-fold CV" + (f" x {ev.repeats} repeats" if ev.repeats > 1 else "")
    target = f"{th.target:.0%}"

    def cut_range(low: float, high: float) -> str:
        return f"{low:g}" if low == high else f"{low:g}..{high:g}"

    return [
        f"labelled contacts: {len(y)} ({int(y.sum())} converted, {y.mean():.1%}); columns used: {len(learned.used)}; "
        f"activity types with points: {len({r.term.type for r in learned.points.rules if r.term is not None})}",
        f"out-of-fold ROC AUC ({how}; folds {min(ev.fold_auc):.3f}..{max(ev.fold_auc):.3f}): probability {ev.auc_probability:.3f}, points model {ev.auc_points:.3f}",
        f"out-of-fold calibration error (ECE, 10 bins): {ev.ece:.3f}",
        f"out-of-fold hot stage (each fold's own threshold, {cut_range(ev.hot.lowest, ev.hot.highest)}): precision {ev.hot.conversion:.1%}, "
        f"recall {ev.hot.captured:.1%}, {ev.hot.share:.1%} of leads" + ("" if ev.hot.conversion >= th.target else f" (target {target} NOT reached)"),
        f"out-of-fold points model alone, hot stage (points >= {cut_range(ev.points_hot.lowest, ev.points_hot.highest)}): "
        f"precision {ev.points_hot.conversion:.1%}, recall {ev.points_hot.captured:.1%}" + ("" if ev.points_hot.conversion >= pt.target else f" (target {target} NOT reached)"),
        f"chosen by inner CV on all contacts: {final.choice.describe()}; its inner-CV ROC AUC {final.selection_auc:.3f} (in-sample for that choice: optimistic)",
        f"written hot threshold (probability >= {th.hot:g}): {th.hot_row.conversion:.1%} convert, {th.hot_row.captured:.1%} of conversions, "
        f"on the inner out-of-fold scores it was picked on" + ("" if th.reached else f" (target {target} NOT reached)"),
        f"written MQL threshold (probability >= {th.mql:g}): precision {th.mql_row.conversion:.1%}, recall {th.mql_row.captured:.1%}",
        f"training time: {learned.seconds:.1f} s",
    ]


def _write_csv(path: pathlib.Path, prob_rows: t.Sequence[Row], point_rows: t.Sequence[Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["score", "threshold", "contacts_above", "share_of_contacts", "conversion_rate", "share_of_conversions"])
        for name, rows in (("probability", prob_rows), ("points", point_rows)):
            for r in rows:
                out.writerow([name, f"{r.threshold:g}", r.above, f"{r.share_above:.4f}", f"{r.conversion:.4f}", f"{r.captured:.4f}"])


def _gain(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-score, kind="mergesort")
    captured = np.concatenate([[0.0], np.cumsum(y[order]) / max(y.sum(), 1)])
    contacted = np.linspace(0, 1, len(y) + 1)
    return contacted, captured


def _plot(path: pathlib.Path, learned: Learned, prob_rows: t.Sequence[Row]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = learned.evaluation
    y = learned.y.astype(np.float64)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    for name, score in (("probability", ev.oof_probability), ("points model", ev.oof_points)):
        x, g = _gain(y, score)
        left.plot(x, g, label=name)
    left.plot([0, 1], [0, 1], "k--", label="random")
    left.set_xlabel("share of leads, best scores first")
    left.set_ylabel("share of all conversions captured")
    left.set_title("Cumulative gain (out-of-fold)")
    left.legend(loc="lower right")
    cuts = [r.threshold for r in prob_rows]
    right.plot(cuts, [r.conversion if r.above else np.nan for r in prob_rows], label="conversion rate at or above threshold")
    right.plot(cuts, [r.captured for r in prob_rows], label="share of all conversions at or above threshold")
    right.plot(cuts, [r.share_above for r in prob_rows], ":", label="share of leads at or above threshold")
    th = learned.thresholds
    right.axvline(th.hot, color="red", linestyle="--", label=f"hot {th.hot:g}")
    right.axvline(th.mql, color="orange", linestyle="--", label=f"MQL {th.mql:g}")
    right.axhline(th.target, color="grey", linewidth=0.8, label=f"target {th.target:.0%}")
    right.set_xlabel("probability score threshold")
    right.set_ylim(0, 1.02)
    right.set_title("Leads at or above each threshold")
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _md_table(rows: t.Sequence[Row], every: float, base: float) -> list[str]:
    out = ["| threshold | leads at or above | share of leads | conversion rate | lift | share of conversions |", "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.threshold % every == 0:
            lift = f"{r.conversion / base:.2f}" if r.above and base else "-"
            out.append(f"| {r.threshold:g} | {r.above} | {r.share_above:.1%} | {r.conversion:.1%} | {lift} | {r.captured:.1%} |")
    return out


def write_report(learned: Learned, directory: pathlib.Path, model_path: pathlib.Path | None = None) -> list[pathlib.Path]:
    """Write report.md, thresholds.csv and lift_gain.png into ``directory``; returns their paths."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ev = learned.evaluation
    y = learned.y
    prob_rows = threshold_table(y, score100(ev.oof_probability), [float(v) for v in range(0, 101)])
    lo, hi = int(np.floor(ev.oof_points.min())), int(np.ceil(ev.oof_points.max()))
    point_rows = threshold_table(y, ev.oof_points, [float(v) for v in range(lo, hi + 1)])
    csv_path, png_path, md_path = directory / "thresholds.csv", directory / "lift_gain.png", directory / "report.md"
    _write_csv(csv_path, prob_rows, point_rows)
    _plot(png_path, learned, prob_rows)
    opts = learned.options
    md = [
        "# Learned lead-scoring model",
        "",
        f"Learned from `{opts.contacts}` (label `{opts.label}`, seed {opts.seed}, nested {opts.folds}-fold cross-validation "
        f"x {opts.repeats}, at most {opts.boosting.trees} trees)" + (f" and activities `{opts.activities}` (as of {learned.data.as_of.isoformat()})" if opts.activities else "") + ".",
        f"Model: `{model_path}`." if model_path else "",
        "",
        "## Figures",
        "",
        *[f"- {line}" for line in summary_lines(learned)],
        "",
        "**Out-of-fold** figures come from nested cross-validation: in every outer fold the whole learner -- leak screen, "
        "buckets, points, features, the inner cross-validation that chooses the trees and the blend, calibration and "
        "thresholds -- ran on the other folds only, and was judged on this fold. They estimate how the model does on "
        "new leads. The inner-CV score of the chosen configuration and the written thresholds' rates are **in-sample** "
        "for those choices (picked on the very scores they are read from), so they read a little high. The tables and the "
        "chart below use the out-of-fold scores.",
        "",
        f"The hot (sql) threshold is the lowest probability score at and above which leads convert at {_th_target(learned)} or better "
        "with 95% confidence (lower Wilson bound on the inner out-of-fold scores of the leads above it); "
        "the MQL threshold is the highest score below it that still holds 90% of all conversions. "
        "Pick another cut from the table below (full table: `thresholds.csv`).",
        "",
        "![lift and gain](lift_gain.png)",
        "",
        "## Thresholds: probability score (every 5)",
        "",
        *_md_table(prob_rows, 5, float(y.mean())),
        "",
        "## Thresholds: points model",
        "",
        *_md_table(point_rows, 5 if hi - lo > 60 else 1, float(y.mean())),
        "",
        "## Columns left out",
        "",
        *([f"- `{e.column}`: {e.reason}" for e in learned.excluded] or ["- none"]),
        "",
        "## Warnings",
        "",
        *([f"- {w}" for w in learned.warnings] or ["- none"]),
        "",
    ]
    if learned.data.skipped:
        md += ["## Rows set aside", ""] + [f"- line {s.line}: {s.reason}" for s in learned.data.skipped[:50]]
        if len(learned.data.skipped) > 50:
            md.append(f"- ... and {len(learned.data.skipped) - 50} more")
        md.append("")
    rules = sorted(learned.points.rules, key=lambda r: -abs(r.points))
    md += ["## Strongest point rules", "", "| points | rule | contacts | conversion rate |", "|---:|---|---:|---:|"]
    md += [f"| {r.points:+d} | {r.text} | {r.n} | {r.rate:.1%} |" for r in rules[:25]]
    md.append("")
    md_path.write_text("\n".join(md), encoding="utf-8")
    return [md_path, csv_path, png_path]


def _th_target(learned: Learned) -> str:
    """The target conversion rate as a percentage."""
    return f"{learned.options.target_conversion:.0%}"
