"""Score drift: each model's score distribution recorded once per ISO week, for the report.

A model's scores drift when the contacts or their activity change, or when a rule stops matching
(a renamed form, a new page path): the distribution then moves week over week while the model file
stays the same. At the end of every run that scored, :func:`record_week` stores the current
distribution of the total (count, mean, 10th/50th/90th percentile, 10 bins over the model's
bounds) under the Monday of the run's week; a later run of the same week replaces it, so each week
keeps its last state. Excluded contacts are left out (they sit at the floor by definition).
"""

from __future__ import annotations

import datetime as dt
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.sync.bulk import upsert
from connector.sync.driverread import chunks
from connector.sync.reportdata import histogram
from connector.sync.scoresscan import scores_scan
from connector.sync.tables import score_snapshots

if t.TYPE_CHECKING:
    from connector.scoring.model import ScoringModel

__all__ = ["record_week", "week_of"]


def week_of(when: dt.datetime) -> str:
    """The ISO week of ``when`` as the date of its Monday (``YYYY-MM-DD``, sorts as text)."""
    day = when.date()
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def record_week(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel], now: dt.datetime) -> None:
    """Store (or replace) this week's snapshot of every model's current scores.

    One sequential scan of the scores table for all models (:func:`~connector.sync.scoresscan.scores_scan`):
    a query per model through the primary key read each wide score row at random, once per model
    -- 11.6 s at the end of every run of a million-contact portal, after everything else.
    """
    per_model: dict[str, list[float]] = {m.model: [] for m in models}
    with engine.connect() as conn:
        for chunk in chunks(conn, scores_scan(conn, "model, score", "AND excluded IS NULL"), [crm]):
            for name, score in chunk:
                found = per_model.get(name)
                if found is not None:  # a model no longer configured: left out
                    found.append(score)
    rows = []
    for model in models:
        values = np.array(per_model[model.model], dtype=float)
        hist = histogram(values, model.total.floor, model.total.ceiling)
        p10, p50, p90 = (float(x) for x in np.percentile(values, [10, 50, 90])) if values.size else (None, None, None)
        rows.append(
            {
                "crm": crm, "model": model.model, "week": week_of(now), "count": int(values.size),
                "mean": float(values.mean()) if values.size else None, "p10": p10, "p50": p50, "p90": p90,
                "histogram": {"edges": hist.edges, "counts": hist.counts}, "recorded_at": now,
            }
        )
    with engine.begin() as conn:
        upsert(conn, score_snapshots, rows, ["crm", "model", "week"], ["count", "mean", "p10", "p50", "p90", "histogram", "recorded_at"])
