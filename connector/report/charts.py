"""The report's charts, drawn with matplotlib (Agg backend: no display, same PNG everywhere).

One function per chart, each taking numbers already computed by :mod:`connector.sync.reportdata`
and returning a :class:`Chart` (PNG bytes). A chart with nothing to show yet is still drawn, with a
line saying why, so the report always has the same charts and a reader sees what is missing.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import io
import typing as t

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

if t.TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from connector.sync.reportdata import ModelReport, ReportData

__all__ = ["Chart", "all_charts"]

_BLUE = "#2b6cb0"
_ORANGE = "#dd6b20"
_GREEN = "#2f855a"
_GREY = "#718096"


@dc.dataclass(frozen=True)
class Chart:
    """One chart: file name stem, title, a sentence saying what it shows, and the PNG."""

    slug: str
    title: str
    caption: str
    png: bytes


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=_GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def distribution(m: ModelReport) -> Chart:
    """Score distribution of the total and each dimension, one panel each."""
    names = list(m.distributions)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names, strict=True):
        h = m.distributions[name]
        if not sum(h.counts):
            _empty(ax, "no scored contacts")
        else:
            widths = [b - a for a, b in zip(h.edges, h.edges[1:], strict=False)]
            ax.bar(h.edges[:-1], h.counts, width=widths, align="edge", color=_BLUE, edgecolor="white")
            ax.set_xlabel("score")
            ax.set_ylabel("contacts")
        ax.set_title(name)
    fig.suptitle(f"{m.model}: score distribution")
    return Chart(f"scores-{m.model}", f"{m.model}: score distribution", "Contacts per score bin, for the total and each dimension (excluded contacts left out).", _png(fig))


def funnel(m: ModelReport) -> Chart:
    """Contacts per current stage, lowest stage at the top."""
    fig, ax = plt.subplots(figsize=(7, 0.5 * max(len(m.funnel), 3) + 1), layout="constrained")
    if not m.funnel:
        _empty(ax, "the model has no stages")
    else:
        labels = [s for s, _ in m.funnel][::-1]
        counts = [n for _, n in m.funnel][::-1]
        bars = ax.barh(labels, counts, color=_BLUE)
        ax.bar_label(bars, labels=[f"{n:,}" for n in counts], padding=3)
        ax.margins(x=0.12)  # room for the count after the longest bar
        ax.set_xlabel("contacts")
    ax.set_title(f"{m.model}: contacts per stage")
    return Chart(f"funnel-{m.model}", f"{m.model}: contacts per stage", "Contacts at each stage now, in the model's stage order.", _png(fig))


def stage_flow(m: ModelReport) -> Chart:
    """Stage-to-stage conversion rates and the median time spent in each stage."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), layout="constrained")
    steps = [s for s in m.steps if s.rate is not None]
    if not steps:
        _empty(left, "no stage history yet")
    else:
        labels = [f"{s.from_stage}\u2192{s.to_stage}" for s in steps]
        rates = [100 * (s.rate or 0.0) for s in steps]
        bars = left.bar(labels, rates, color=_GREEN)
        left.bar_label(bars, labels=[f"{r:.0f}%" for r in rates], padding=2)
        left.set_ylim(0, 110)
        left.set_ylabel("% reaching the next stage")
        left.tick_params(axis="x", rotation=30)
    left.set_title("stage-to-stage conversion")
    timed = [s for s in m.times if s.median_days is not None]
    if not timed:
        _empty(right, "no completed stay in a stage yet")
    else:
        bars = right.bar([s.stage for s in timed], [s.median_days or 0.0 for s in timed], color=_ORANGE)
        right.bar_label(bars, labels=[f"{s.median_days:.1f} d" for s in timed], padding=2)
        right.set_ylabel("median days in stage")
        right.tick_params(axis="x", rotation=30)
    right.set_title("median time in stage")
    fig.suptitle(f"{m.model}: movement between stages")
    return Chart(f"stages-{m.model}", f"{m.model}: stage conversion and time in stage", "From the stored stage history: share of contacts reaching the next stage, and median days of completed stays.", _png(fig))


def conversion(m: ModelReport, known: bool) -> Chart:
    """Share of contacts with an outcome, per score band and per grade."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), layout="constrained")
    for ax, rows, what in ((left, m.by_band, "score band"), (right, m.by_grade, "grade")):
        shown = [r for r in rows if r.contacts]
        if not known:
            _empty(ax, "no outcomes known yet")
        elif not shown:
            _empty(ax, f"no contact has a {what}")
        else:
            rates = [100 * (r.rate or 0.0) for r in shown]
            bars = ax.bar([r.label for r in shown], rates, color=_GREEN)
            ax.bar_label(bars, labels=[f"{r:.0f}% of {c.contacts:,}" for r, c in zip(rates, shown, strict=True)], padding=2, fontsize=8)
            ax.set_ylim(0, max(rates) * 1.25 + 1)
            ax.set_ylabel("% converted")
        ax.set_title(f"conversion by {what}")
    fig.suptitle(f"{m.model}: conversion rate")
    return Chart(f"conversion-{m.model}", f"{m.model}: conversion by score band and grade", "Share of contacts with an outcome (customer, closed-won deal, converted lead) per band of the current score and per grade.", _png(fig))


def matrix(m: ModelReport) -> Chart:
    """Fit x engagement matrix: contacts per cell, as a heat map with the counts written in."""
    fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
    if not m.matrix_rows or not m.matrix_columns:
        _empty(ax, "the model has no matrix")
    else:
        grid = [[m.matrix.get((r, c), 0) for c in m.matrix_columns] for r in m.matrix_rows]
        ax.imshow(grid, cmap="Blues")
        top = max(max(row) for row in grid) or 1
        for i, row in enumerate(grid):
            for j, n in enumerate(row):
                ax.text(j, i, f"{m.matrix_rows[i]}{m.matrix_columns[j]}\n{n:,}", ha="center", va="center", color="white" if n > top / 2 else "black")
        ax.set_xticks(range(len(m.matrix_columns)), m.matrix_columns)
        ax.set_yticks(range(len(m.matrix_rows)), m.matrix_rows)
        ax.set_xlabel("engagement band")
        ax.set_ylabel("fit band")
    ax.set_title(f"{m.model}: fit x engagement")
    return Chart(f"matrix-{m.model}", f"{m.model}: fit x engagement matrix", "Contacts per matrix cell (row: fit band, column: engagement band).", _png(fig))


def rules(m: ModelReport) -> Chart:
    """The rules that give (or take) the most points over all contacts."""
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(m.top_rules), 3) + 1), layout="constrained")
    if not m.top_rules:
        _empty(ax, "no rule gave points yet")
    else:
        shown = m.top_rules[::-1]
        bars = ax.barh([r.label for r in shown], [r.points for r in shown], color=[_BLUE if r.points >= 0 else _ORANGE for r in shown])
        ax.bar_label(bars, labels=[f"{r.points:,.0f} ({r.contacts:,})" for r in shown], padding=3, fontsize=8)
        ax.axvline(0, color=_GREY, linewidth=0.8)
        ax.margins(x=0.2)
        ax.set_xlabel("points given over all contacts (contacts scored)")
    ax.set_title(f"{m.model}: rules giving the most points")
    return Chart(f"rules-{m.model}", f"{m.model}: rules giving the most points", "Sum of each rule's points over all scored contacts, from the stored reasons; in brackets, the contacts it scored for.", _png(fig))


def drift(m: ModelReport) -> Chart:
    """The live model's score distribution week over week (10th, 50th, 90th percentile and mean)."""
    fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
    if not m.drift:
        _empty(ax, "no weekly snapshot yet (recorded by each sync)")
    else:
        weeks = [d[0] for d in m.drift]
        ax.fill_between(weeks, [d[3] or 0.0 for d in m.drift], [d[5] or 0.0 for d in m.drift], color=_BLUE, alpha=0.2, label="10th-90th percentile")
        ax.plot(weeks, [d[4] or 0.0 for d in m.drift], marker="o", color=_BLUE, label="median")
        ax.plot(weeks, [d[2] or 0.0 for d in m.drift], marker=".", linestyle="--", color=_ORANGE, label="mean")
        ax.set_ylabel("score")
        ax.set_xlabel("week (Monday)")
        ax.legend(loc="best", fontsize=8)
        ax.tick_params(axis="x", rotation=30)
    ax.set_title(f"{m.model}: score drift")
    return Chart(f"drift-{m.model}", f"{m.model}: score drift week over week", "The score distribution recorded once per ISO week by the sync.", _png(fig))


def firings(data: ReportData) -> Chart:
    """Trigger firings per day (per week over long spans), stacked by trigger."""
    fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
    if not data.firings:
        _empty(ax, "no trigger fired yet")
    else:
        days = [d for per in data.firings.values() for d in per]
        first, last = min(days), max(days)
        step = 1 if (last - first).days <= 90 else 7
        start = first - dt.timedelta(days=first.weekday()) if step == 7 else first
        slots = [start + dt.timedelta(days=i) for i in range(0, (last - start).days + 1, step)]
        labels = [s.isoformat() for s in slots]
        bottom = [0] * len(slots)
        for name, per_day in data.firings.items():
            counts = [0] * len(slots)
            for day, n in per_day.items():
                counts[(day - start).days // step] += n
            ax.bar(labels, counts, bottom=bottom, label=name)
            bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
        ax.set_ylabel("firings per day" if step == 1 else "firings per week")
        ax.legend(loc="best", fontsize=8)
        ax.tick_params(axis="x", rotation=30)
        if len(labels) > 15:
            ax.set_xticks(range(0, len(labels), len(labels) // 15 + 1))
    ax.set_title("trigger firings over time")
    return Chart("firings", "Trigger firings over time", "Firings per day (per week over spans longer than 90 days), stacked by trigger (model/trigger).", _png(fig))


def sync_health(data: ReportData) -> Chart:
    """API calls per run (coloured by status) and the open quarantine per stream."""
    h = data.health
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), gridspec_kw={"width_ratios": [3, 1]}, layout="constrained")
    if not h.runs:
        _empty(left, "no sync run yet")
    else:
        colours = {"ok": _GREEN, "partial": _ORANGE, "failed": "#c53030"}
        left.bar(range(1, len(h.runs) + 1), [r[2] for r in h.runs], color=[colours.get(r[1], _GREY) for r in h.runs])
        left.set_xlabel("run (oldest first)")
        left.set_ylabel("API calls")
    left.set_title(f"API calls per run ({h.api_calls:,} in {len(h.runs):,} runs)")
    if not h.quarantine_open:
        _empty(right, "quarantine empty")
    else:
        bars = right.bar(list(h.quarantine_open), list(h.quarantine_open.values()), color=_ORANGE)
        right.bar_label(bars, padding=2)
    right.set_title("open quarantine")
    fig.suptitle("sync health")
    return Chart("sync-health", "Sync health", "API calls per run (green ok, orange partial, red failed) and records in quarantine per stream.", _png(fig))


def all_charts(data: ReportData) -> list[Chart]:
    """Every chart of the report, per model first, then the CRM-wide ones."""
    known = bool(data.outcomes)
    out: list[Chart] = []
    for m in data.models:
        out += [distribution(m), funnel(m), stage_flow(m), conversion(m, known), matrix(m), rules(m), drift(m)]
    out += [firings(data), sync_health(data)]
    return out
