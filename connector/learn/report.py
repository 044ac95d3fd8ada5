"""The learning report: what was learned, how well it does on held-out contacts, where to cut.

Writes ``report.md`` (figures, thresholds, excluded columns, rules), ``thresholds.csv`` (every
threshold of both scores: contacts above, conversion rate, share of conversions captured) and
``lift_gain.png`` (cumulative gain, and conversion/capture by threshold). All figures come from
out-of-fold predictions, so they estimate how the model does on leads it has not seen.
"""

from __future__ import annotations

import csv
import pathlib
import typing as t

import numpy as np

from connector.learn.pipeline import Learned
from connector.learn.thresholds import Row, threshold_table

__all__ = ["summary_lines", "write_report"]


def summary_lines(learned: Learned) -> list[str]:
    """The cross-validated figures, one per line (printed by the CLI, and the report's core)."""
    ev = learned.evaluation
    th = ev.thresholds
    pt = ev.points_thresholds
    y = learned.y
    lines = [
        f"labelled contacts: {len(y)} ({int(y.sum())} converted, {y.mean():.1%}); columns used: {len(learned.used)}; "
        f"activity types with points: {len({r.term.type for r in learned.points.rules if r.term is not None})}",
        f"cross-validated ROC AUC: probability {ev.auc_probability:.3f}, points model {ev.auc_points:.3f}",
        f"calibration error (ECE, 10 bins): {ev.ece:.3f}",
        f"hot threshold (probability >= {th.hot:g}): precision {ev.precision_at_hot:.1%}, recall {ev.recall_at_hot:.1%}, "
        f"{th.hot_row.share_above:.1%} of leads" + ("" if th.reached else f" (target {th.target:.0%} NOT reached)"),
        f"MQL threshold (probability >= {th.mql:g}): precision {th.mql_row.conversion:.1%}, recall {th.mql_row.captured:.1%}",
        f"points model alone: hot at points >= {pt.hot:g}: precision {pt.hot_row.conversion:.1%}, recall {pt.hot_row.captured:.1%}"
        + ("" if pt.reached else f" (target {pt.target:.0%} NOT reached)"),
        f"training time: {learned.seconds:.1f} s",
    ]
    return lines


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
    left.set_title("Cumulative gain (cross-validated)")
    left.legend(loc="lower right")
    th = [r.threshold for r in prob_rows]
    right.plot(th, [r.conversion if r.above else np.nan for r in prob_rows], label="conversion rate at or above threshold")
    right.plot(th, [r.captured for r in prob_rows], label="share of all conversions at or above threshold")
    right.plot(th, [r.share_above for r in prob_rows], ":", label="share of leads at or above threshold")
    right.axvline(ev.thresholds.hot, color="red", linestyle="--", label=f"hot {ev.thresholds.hot:g}")
    right.axvline(ev.thresholds.mql, color="orange", linestyle="--", label=f"MQL {ev.thresholds.mql:g}")
    right.axhline(ev.thresholds.target, color="grey", linewidth=0.8, label=f"target {ev.thresholds.target:.0%}")
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
    prob_rows = threshold_table(y, np.floor(100.0 * ev.oof_probability * 100 + 0.5) / 100, [float(v) for v in range(0, 101)])
    lo, hi = int(np.floor(ev.oof_points.min())), int(np.ceil(ev.oof_points.max()))
    point_rows = threshold_table(y, ev.oof_points, [float(v) for v in range(lo, hi + 1)])
    csv_path, png_path, md_path = directory / "thresholds.csv", directory / "lift_gain.png", directory / "report.md"
    _write_csv(csv_path, prob_rows, point_rows)
    _plot(png_path, learned, prob_rows)
    opts = learned.options
    md = [
        "# Learned lead-scoring model",
        "",
        f"Learned from `{opts.contacts}` (label `{opts.label}`, seed {opts.seed}, {opts.folds}-fold cross-validation, "
        f"{opts.boosting.trees} trees)" + (f" and activities `{opts.activities}` (as of {learned.data.as_of.isoformat()})" if opts.activities else "") + ".",
        f"Model: `{model_path}`." if model_path else "",
        "",
        "## Cross-validated figures (held-out folds)",
        "",
        *[f"- {line}" for line in summary_lines(learned)],
        "",
        f"The hot (sql) threshold is the lowest probability score at and above which leads convert at {_th_target(learned)} or better "
        "with 95% confidence (lower Wilson bound on the held-out leads above it); "
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
