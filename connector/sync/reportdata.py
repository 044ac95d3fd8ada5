"""The numbers of the KPI report, read from the state store (read-only; the report layer only draws).

Every figure is computed here from stored rows, so the HTML report, the PNG charts and the terminal
summary show the same numbers, and a test can recompute them from the same rows. Definitions (also
in ``docs/report.md``):

* **Score distribution**: current scores (``scores`` table) of contacts not excluded, in 10 equal
  bins over the model's bounds ([floor, ceiling] of the total or of the dimension).
* **Funnel**: contacts per current stage, in the model's stage order.
* **Stage-to-stage conversion**: of the contacts whose stage history reached stage *S* (entered
  it, or a higher stage), the share that reached the next stage of the model's order.
* **Median time in stage**: over completed stays (the contact entered the stage and later left it,
  by the stage history), in days. Stays still open are counted, not timed.
* **Conversion by score band / grade**: contacts with an outcome (any kind, see ``outcomes``) per
  band of 5 equal-width bands of the total's bounds, and per grade. Scores are the current ones.
* **Fit x engagement matrix**: contacts per matrix cell (row label + column label).
* **Top rules**: per rule, the points it gives over all scored contacts (from the stored reasons)
  and how many contacts it gave points to.
* **Trigger firings**: per day and trigger. **Sync health**: runs, API calls, quarantine.
* **Drift**: the weekly snapshots of :mod:`connector.sync.drift`.

``since`` limits the dated things (stage history, firings, runs, quarantine, outcomes) to on or after
it; current scores and stages are the current state either way.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import itertools
import statistics
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.model import ScoringModel
from connector.sync.tables import firings, outcomes, quarantine, runs, score_snapshots, scores, stage_history

__all__ = [
    "BandRate",
    "Histogram",
    "ModelReport",
    "ReportData",
    "RuleTotal",
    "StageStep",
    "SyncHealth",
    "band_edges",
    "histogram",
    "report_data",
]

#: Bins of a score distribution, bands of the conversion-by-score chart.
BINS = 10
BANDS = 5


@dc.dataclass(frozen=True)
class Histogram:
    """Counts of values per bin; ``edges`` has one more item than ``counts``; the last bin is closed."""

    edges: list[float]
    counts: list[int]


@dc.dataclass(frozen=True)
class StageStep:
    """Contacts that reached ``from_stage`` and, of them, those that reached ``to_stage``."""

    from_stage: str
    to_stage: str
    reached_from: int
    reached_to: int

    @property
    def rate(self) -> float | None:
        """``reached_to / reached_from`` (``None`` when no contact reached ``from_stage``)."""
        return self.reached_to / self.reached_from if self.reached_from else None


@dc.dataclass(frozen=True)
class StageTime:
    """Completed stays in a stage (median length in days) and stays still open."""

    stage: str
    completed: int
    median_days: float | None
    open: int


@dc.dataclass(frozen=True)
class BandRate:
    """Contacts in a band (or grade) and those of them with an outcome."""

    label: str
    contacts: int
    converted: int

    @property
    def rate(self) -> float | None:
        """``converted / contacts`` (``None`` for an empty band)."""
        return self.converted / self.contacts if self.contacts else None


@dc.dataclass(frozen=True)
class RuleTotal:
    """A rule's points summed over all scored contacts, and how many contacts it scored for."""

    rule: str
    label: str
    dimension: str
    points: float
    contacts: int


@dc.dataclass
class ModelReport:
    """Every figure of one model."""

    model: str
    scored: int
    excluded: int
    #: ``total`` first, then each dimension
    distributions: dict[str, Histogram]
    funnel: list[tuple[str, int]]
    steps: list[StageStep]
    times: list[StageTime]
    by_band: list[BandRate]
    by_grade: list[BandRate]
    matrix_rows: list[str]
    matrix_columns: list[str]
    #: (row, column) -> contacts
    matrix: dict[tuple[str, str], int]
    top_rules: list[RuleTotal]
    #: weekly snapshots, oldest first: (week, count, mean, p10, p50, p90)
    drift: list[tuple[str, int, float | None, float | None, float | None, float | None]]


@dc.dataclass
class SyncHealth:
    """Runs and what they cost; the quarantine."""

    runs_by_status: dict[str, int]
    api_calls: int
    retries: int
    rate_limited: int
    #: per run, oldest first: (started_at, status, api_calls, pulled_contacts, written, quarantined)
    runs: list[tuple[dt.datetime, str, int, int, int, int]]
    #: open quarantine per stream
    quarantine_open: dict[str, int]
    quarantine_retried: int


@dc.dataclass
class ReportData:
    """The whole report of one CRM."""

    crm: str
    generated_at: dt.datetime
    since: dt.datetime | None
    models: list[ModelReport]
    #: trigger ("model/trigger") -> day -> firings
    firings: dict[str, dict[dt.date, int]]
    #: outcome kind -> contacts
    outcomes: dict[str, int]
    health: SyncHealth


def histogram(values: t.Sequence[float] | np.ndarray, low: float, high: float, bins: int = BINS) -> Histogram:
    """Counts of ``values`` in ``bins`` equal bins over [low, high]; values outside go to the end bins."""
    width = (high - low) / bins if high > low else 1.0
    edges = [low + i * width for i in range(bins + 1)]
    # numpy's floor_divide of floats is Python's ``//`` (a million scores: milliseconds, not a second)
    at = np.clip(np.floor_divide(np.asarray(values, dtype=float) - low, width), 0, bins - 1).astype(np.int64)
    return Histogram(edges, np.bincount(at, minlength=bins).tolist())


def band_edges(model: ScoringModel, bands: int = BANDS) -> list[float]:
    """Equal-width band edges over the model's total bounds."""
    low, high = model.total.floor, model.total.ceiling
    return [low + (high - low) * i / bands for i in range(bands + 1)]


def _band_label(edges: list[float], i: int) -> str:
    return f"{edges[i]:g}-{edges[i + 1]:g}"


def _band_index(edges: list[float], value: float) -> int:
    bands = len(edges) - 1
    width = (edges[-1] - edges[0]) / bands if edges[-1] > edges[0] else 1.0
    return min(max(int((value - edges[0]) // width), 0), bands - 1)


def report_data(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel], *, since: dt.datetime | None = None, now: dt.datetime | None = None) -> ReportData:
    """Read every figure of the report for ``crm`` (see the module docstring for definitions)."""
    with engine.connect() as conn:
        converted = {cid for (cid,) in conn.execute(_since(sa.select(outcomes.c.contact_id).where(outcomes.c.crm == crm).distinct(), outcomes.c.occurred_at, since))}
        by_kind = {
            k: int(n)
            for k, n in conn.execute(_since(sa.select(outcomes.c.kind, sa.func.count(sa.distinct(outcomes.c.contact_id))).where(outcomes.c.crm == crm), outcomes.c.occurred_at, since).group_by(outcomes.c.kind))
        }
        reports = [_model_report(conn, crm, m, converted, since) for m in models]
        fired: dict[str, dict[dt.date, int]] = {}
        for model, trigger, at in conn.execute(_since(sa.select(firings.c.model, firings.c.trigger, firings.c.fired_at).where(firings.c.crm == crm), firings.c.fired_at, since)):
            day = at.date()
            per = fired.setdefault(f"{model}/{trigger}", {})
            per[day] = per.get(day, 0) + 1
        health = _health(conn, crm, since)
    return ReportData(crm, now or dt.datetime.now(dt.UTC), since, reports, {k: dict(sorted(v.items())) for k, v in sorted(fired.items())}, by_kind, health)


def _since(query: sa.Select[t.Any], column: sa.ColumnElement[t.Any], since: dt.datetime | None) -> sa.Select[t.Any]:
    return query if since is None else query.where(column >= since)


def _model_report(conn: sa.Connection, crm: str, model: ScoringModel, converted: set[str], since: dt.datetime | None) -> ModelReport:
    name = model.model
    rows = conn.execute(
        sa.select(scores.c.contact_id, scores.c.score, scores.c.dimensions, scores.c.grade, scores.c.matrix, scores.c.stage, scores.c.excluded, scores.c.reasons).where(
            scores.c.crm == crm, scores.c.model == name
        )
    ).all()
    live = [r for r in rows if r.excluded is None]
    dists = {"total": histogram([r.score for r in live], model.total.floor, model.total.ceiling)}
    for dim, spec in model.dimensions.items():
        dists[dim] = histogram([float((r.dimensions or {}).get(dim, spec.floor)) for r in live], spec.floor, spec.ceiling)
    order = [s.name for s in model.stages.order] if model.stages is not None else []
    stage_counts: dict[str, int] = {}
    for r in live:
        if r.stage is not None:
            stage_counts[r.stage] = stage_counts.get(r.stage, 0) + 1
    order += sorted(s for s in stage_counts if s not in order)
    funnel = [(s, stage_counts.get(s, 0)) for s in order]
    steps, times = _stage_flow(conn, crm, name, order, since)
    edges = band_edges(model)
    band_n = [0] * (len(edges) - 1)
    band_c = [0] * (len(edges) - 1)
    grades = [b.label for b in model.grade.bands] if model.grade is not None else []
    grade_n: dict[str, int] = {}
    grade_c: dict[str, int] = {}
    for r in live:
        i = _band_index(edges, r.score)
        band_n[i] += 1
        band_c[i] += r.contact_id in converted
        if r.grade is not None:
            grade_n[r.grade] = grade_n.get(r.grade, 0) + 1
            grade_c[r.grade] = grade_c.get(r.grade, 0) + (r.contact_id in converted)
    grades += sorted(g for g in grade_n if g not in grades)
    rows_l = [b.label for b in model.matrix.rows.bands] if model.matrix is not None else []
    cols_l = [b.label for b in model.matrix.columns.bands] if model.matrix is not None else []
    matrix: dict[tuple[str, str], int] = {(a, b): 0 for a in rows_l for b in cols_l}
    for r in live:
        cell = _split_cell(r.matrix, rows_l, cols_l)
        if cell is not None:
            matrix[cell] = matrix.get(cell, 0) + 1
    return ModelReport(
        model=name,
        scored=len(rows),
        excluded=len(rows) - len(live),
        distributions=dists,
        funnel=funnel,
        steps=steps,
        times=times,
        by_band=[BandRate(_band_label(edges, i), band_n[i], band_c[i]) for i in range(len(band_n))],
        by_grade=[BandRate(g, grade_n.get(g, 0), grade_c.get(g, 0)) for g in grades],
        matrix_rows=rows_l,
        matrix_columns=cols_l,
        matrix=matrix,
        top_rules=_top_rules(live),
        drift=[
            (w, int(n), mean, p10, p50, p90)
            for w, n, mean, p10, p50, p90 in conn.execute(
                sa.select(score_snapshots.c.week, score_snapshots.c.count, score_snapshots.c.mean, score_snapshots.c.p10, score_snapshots.c.p50, score_snapshots.c.p90)
                .where(score_snapshots.c.crm == crm, score_snapshots.c.model == name)
                .order_by(score_snapshots.c.week)
            )
        ],
    )


def _split_cell(cell: str | None, rows: list[str], cols: list[str]) -> tuple[str, str] | None:
    """``"A1"`` -> ``("A", "1")`` against the model's labels (labels may be longer than a character)."""
    if cell is None:
        return None
    for r in sorted(rows, key=len, reverse=True):
        if cell.startswith(r) and cell[len(r) :] in cols:
            return r, cell[len(r) :]
    return None


def _stage_flow(conn: sa.Connection, crm: str, model: str, order: list[str], since: dt.datetime | None) -> tuple[list[StageStep], list[StageTime]]:
    """Conversion between consecutive stages and time in each stage, from the stage history."""
    rank = {s: i for i, s in enumerate(order)}
    history: dict[str, list[tuple[dt.datetime, str | None]]] = {}
    query = sa.select(stage_history.c.contact_id, stage_history.c.to_stage, stage_history.c.at).where(stage_history.c.crm == crm, stage_history.c.model == model)
    for cid, to_stage, at in conn.execute(_since(query, stage_history.c.at, since).order_by(stage_history.c.contact_id, stage_history.c.at, stage_history.c.id)):
        history.setdefault(cid, []).append((at, to_stage))
    highest: list[int] = []
    stays: dict[str, list[float]] = {s: [] for s in order}
    still: dict[str, int] = dict.fromkeys(order, 0)
    for moves in history.values():
        best = max((rank[s] for _, s in moves if s in rank), default=-1)
        if best >= 0:
            highest.append(best)
        for (at, stage), nxt in zip(moves, [*moves[1:], None], strict=True):
            if stage not in rank:
                continue
            if nxt is None:
                still[stage] += 1
            else:
                stays[stage].append((nxt[0] - at).total_seconds() / 86400)
    steps = [StageStep(a, b, sum(h >= i for h in highest), sum(h >= i + 1 for h in highest)) for i, (a, b) in enumerate(itertools.pairwise(order))]
    times = [StageTime(s, len(stays[s]), statistics.median(stays[s]) if stays[s] else None, still[s]) for s in order]
    return steps, times


def _top_rules(rows: t.Sequence[t.Any], limit: int = 15) -> list[RuleTotal]:
    """Rules by the absolute points they give over all contacts (clamps left out: not a rule)."""
    totals: dict[str, list[t.Any]] = {}
    for r in rows:
        for reason in r.reasons or []:
            if reason.get("kind") == "clamp" or not reason.get("points"):
                continue
            key = str(reason["rule"])
            entry = totals.setdefault(key, [str(reason.get("label", key)), str(reason.get("dimension", "")), 0.0, 0])
            entry[2] += float(reason["points"])
            entry[3] += 1
    ranked = sorted(totals.items(), key=lambda kv: (-abs(kv[1][2]), kv[0]))[:limit]
    return [RuleTotal(rule, label, dim, round(points, 2), n) for rule, (label, dim, points, n) in ranked]


def _health(conn: sa.Connection, crm: str, since: dt.datetime | None) -> SyncHealth:
    run_rows = conn.execute(
        _since(
            sa.select(runs.c.started_at, runs.c.status, runs.c.api_calls, runs.c.pulled_contacts, runs.c.written, runs.c.quarantined, runs.c.retries, runs.c.rate_limited).where(runs.c.crm == crm),
            runs.c.started_at,
            since,
        ).order_by(runs.c.started_at, runs.c.id)
    ).all()
    by_status: dict[str, int] = {}
    for r in run_rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    quar = _since(sa.select(quarantine.c.stream, quarantine.c.status, sa.func.count()).where(quarantine.c.crm == crm), quarantine.c.created_at, since)
    open_by: dict[str, int] = {}
    retried = 0
    for stream, status, n in conn.execute(quar.group_by(quarantine.c.stream, quarantine.c.status)):
        if status == "open":
            open_by[stream] = int(n)
        else:
            retried += int(n)
    return SyncHealth(
        runs_by_status=by_status,
        api_calls=sum(r.api_calls for r in run_rows),
        retries=sum(r.retries for r in run_rows),
        rate_limited=sum(r.rate_limited for r in run_rows),
        runs=[(r.started_at, r.status, r.api_calls, r.pulled_contacts, r.written, r.quarantined) for r in run_rows],
        quarantine_open=dict(sorted(open_by.items())),
        quarantine_retried=retried,
    )
