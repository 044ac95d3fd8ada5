"""The report's terminal summary: the same numbers as the page, as rich tables."""

from __future__ import annotations

import typing as t

from rich.table import Table

if t.TYPE_CHECKING:
    from rich.console import Console

    from connector.sync.reportdata import ReportData

__all__ = ["print_summary"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_summary(data: ReportData, console: Console) -> None:
    """Per model: stages with conversion and time, conversion by band and grade, top rules; then sync health."""
    for m in data.models:
        stages = Table(title=f"{m.model}: {m.scored:,} contacts scored, {m.excluded:,} excluded")
        for col in ("stage", "contacts", "reached next", "median days in stage", "still in stage"):
            stages.add_column(col, justify="left" if col == "stage" else "right")
        for i, (stage, n) in enumerate(m.funnel):
            step = m.steps[i] if i < len(m.steps) else None
            time = m.times[i]
            stages.add_row(
                stage, f"{n:,}", f"{_pct(step.rate)} ({step.reached_to}/{step.reached_from})" if step else "",
                "-" if time.median_days is None else f"{time.median_days:.1f}", f"{time.open:,}",
            )
        console.print(stages)
        if data.outcomes:
            bands = Table(title=f"{m.model}: conversion by score band and grade")
            for col in ("band / grade", "contacts", "converted", "rate"):
                bands.add_column(col, justify="left" if col == "band / grade" else "right")
            for b in m.by_band + m.by_grade:
                bands.add_row(b.label, f"{b.contacts:,}", f"{b.converted:,}", _pct(b.rate))
            console.print(bands)
        rules = Table(title=f"{m.model}: rules giving the most points")
        for col in ("rule", "dimension", "points", "contacts"):
            rules.add_column(col, justify="left" if col in ("rule", "dimension") else "right")
        for r in m.top_rules[:10]:
            rules.add_row(r.label, r.dimension, f"{r.points:,.1f}", f"{r.contacts:,}")
        console.print(rules)
    h = data.health
    health = Table(title="Sync health")
    health.add_column("what")
    health.add_column("value", justify="right")
    for status, n in sorted(h.runs_by_status.items()):
        health.add_row(f"runs {status}", f"{n:,}")
    health.add_row("API calls", f"{h.api_calls:,}")
    health.add_row("retries / 429s", f"{h.retries:,} / {h.rate_limited:,}")
    for stream, n in h.quarantine_open.items():
        health.add_row(f"quarantine open: {stream}", f"{n:,}")
    health.add_row("outcomes known", ", ".join(f"{k} {n:,}" for k, n in data.outcomes.items()) or "none")
    health.add_row("trigger firings", f"{sum(sum(d.values()) for d in data.firings.values()):,}")
    console.print(health)
