"""A state store filled with known rows, and the report's figures worked out from the same rows by hand.

The generator keeps what it wrote (each contact's stage path with the time of every move, its
score, grade, matrix cell, reasons, outcome), so the tests compare the report with numbers counted
here in plain Python, never by the code under test.
"""

from __future__ import annotations

import collections
import dataclasses as dc
import datetime as dt
import itertools
import pathlib
import random
import statistics

import sqlalchemy as sa

from connector.scoring.loader import load_model
from connector.scoring.model import ScoringModel
from connector.sync.db import open_database
from connector.sync.tables import contacts, firings, outcomes, quarantine, runs, score_snapshots, scores, stage_history

REPO = pathlib.Path(__file__).resolve().parents[2]
MODEL_PATH = REPO / "mappings" / "models" / "b2b-saas.yaml"
CRM = "hs"
T0 = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
RULES = [("title_marketing", "fit", 25), ("target_industry", "fit", 20), ("company_tiny", "fit", -10), ("pricing_views", "engagement", 10), ("meetings", "engagement", 20)]


@dc.dataclass
class Seeded:
    """What was written, and the model it was written for."""

    model: ScoringModel
    stage_order: list[str]
    #: contact -> list of (stage, entered at)
    paths: dict[str, list[tuple[str, dt.datetime]]] = dc.field(default_factory=dict)
    score: dict[str, float] = dc.field(default_factory=dict)
    grade: dict[str, str] = dc.field(default_factory=dict)
    cell: dict[str, str] = dc.field(default_factory=dict)
    excluded: set[str] = dc.field(default_factory=set)
    converted: set[str] = dc.field(default_factory=set)
    rule_points: dict[str, float] = dc.field(default_factory=lambda: collections.defaultdict(float))
    rule_contacts: collections.Counter[str] = dc.field(default_factory=collections.Counter)
    fired_days: collections.Counter[tuple[str, dt.date]] = dc.field(default_factory=collections.Counter)
    api_calls: int = 0
    run_status: collections.Counter[str] = dc.field(default_factory=collections.Counter)
    quarantine_open: collections.Counter[str] = dc.field(default_factory=collections.Counter)


def seed(url: str, n: int = 120, random_seed: int = 7) -> Seeded:
    """Write ``n`` contacts with scores, stage history, firings, runs, quarantine and outcomes."""
    rnd = random.Random(random_seed)
    model = load_model(MODEL_PATH)
    assert model.stages is not None
    order = [s.name for s in model.stages.order]
    out = Seeded(model, order)
    engine = open_database(url)
    contact_rows, score_rows, history_rows, outcome_rows = [], [], [], []
    for i in range(n):
        cid = f"c{i}"
        contact_rows.append({"crm": CRM, "id": cid, "email": f"{cid}@x.test", "properties": {}, "needs_score": False})
        excluded = i % 17 == 0
        total = round(rnd.uniform(0, 200), 2)
        fit, eng = round(rnd.uniform(0, 100), 2), round(rnd.uniform(0, 100), 2)
        grade = rnd.choice("ABCD")
        cell = rnd.choice("ABC") + rnd.choice("123")
        reasons = []
        for rule, dim, points in RULES:
            if rnd.random() < 0.5:
                reasons.append({"rule": rule, "dimension": dim, "points": points, "label": rule, "kind": "rule"})
        stage = None
        if excluded:
            out.excluded.add(cid)
        else:
            out.score[cid], out.grade[cid], out.cell[cid] = total, grade, cell
            for r in reasons:
                out.rule_points[r["rule"]] += r["points"]
                out.rule_contacts[r["rule"]] += 1
            at = T0 + dt.timedelta(hours=rnd.randint(0, 200))
            path: list[tuple[str, dt.datetime]] = []
            prev = None
            for s in order[: rnd.randint(1, len(order))]:
                if path and rnd.random() < 0.2:
                    continue  # a skipped stage (jumped over)
                path.append((s, at))
                history_rows.append({"crm": CRM, "contact_id": cid, "model": model.model, "from_stage": prev, "to_stage": s, "at": at})
                prev = s
                at += dt.timedelta(hours=rnd.randint(1, 400))
            out.paths[cid] = path
            stage = path[-1][0]
            if rnd.random() < 0.3:
                out.converted.add(cid)
                outcome_rows.append({"crm": CRM, "contact_id": cid, "kind": rnd.choice(["customer", "closed_won"]), "source_id": f"d{i}", "occurred_at": at})
        score_rows.append(
            {"crm": CRM, "contact_id": cid, "model": model.model, "score": 0.0 if excluded else total, "dimensions": {"fit": fit, "engagement": eng},
             "grade": None if excluded else grade, "matrix": None if excluded else cell, "stage": stage, "excluded": "competitor" if excluded else None,
             "reasons": reasons, "state": {}, "as_of": T0}
        )
    fire_rows = []
    for j in range(40):
        trig = rnd.choice(["mql_reached", "hot_engagement"])
        at = T0 + dt.timedelta(days=rnd.randint(0, 9), hours=rnd.randint(0, 23))
        out.fired_days[(f"{model.model}/{trig}", at.date())] += 1
        fire_rows.append({"key": f"k{j}", "crm": CRM, "contact_id": f"c{j}", "model": model.model, "trigger": trig, "watched": "stage", "value": 1, "fired_at": at})
    run_rows = []
    for j in range(6):
        status = rnd.choice(["ok", "ok", "partial", "failed"])
        calls = rnd.randint(10, 300)
        out.api_calls += calls
        out.run_status[status] += 1
        run_rows.append({"crm": CRM, "started_at": T0 + dt.timedelta(hours=j), "status": status, "api_calls": calls, "pulled_contacts": j, "written": j, "quarantined": 0})
    quar_rows = []
    for j in range(9):
        stream, status = rnd.choice(["contacts", "outbox", "actions"]), rnd.choice(["open", "open", "retried"])
        if status == "open":
            out.quarantine_open[stream] += 1
        quar_rows.append({"crm": CRM, "stream": stream, "record_id": f"r{j}", "reason": "bad", "raw": {}, "status": status, "created_at": T0})
    snaps = [{"crm": CRM, "model": model.model, "week": w, "count": 100, "mean": 50.0 + k, "p10": 10.0, "p50": 48.0 + k, "p90": 120.0, "histogram": {}, "recorded_at": T0} for k, w in enumerate(["2026-08-24", "2026-08-31"])]
    with engine.begin() as conn:
        for table, rows in ((contacts, contact_rows), (scores, score_rows), (stage_history, history_rows), (outcomes, outcome_rows), (firings, fire_rows), (runs, run_rows), (quarantine, quar_rows), (score_snapshots, snaps)):
            if rows:
                conn.execute(sa.insert(table), rows)
        # A second CRM's rows must never be counted.
        conn.execute(sa.insert(scores), [{**score_rows[1], "crm": "other"}])
        conn.execute(sa.insert(runs), [{**run_rows[0], "crm": "other"}])
    engine.dispose()
    return out


def expected_steps(s: Seeded) -> list[tuple[str, str, int, int]]:
    """(from, to, reached from, reached to): a contact reached a stage when its path got there or higher."""
    best = [max(s.stage_order.index(st) for st, _ in path) for path in s.paths.values()]
    return [(a, b, sum(1 for h in best if h >= i), sum(1 for h in best if h > i)) for i, (a, b) in enumerate(zip(s.stage_order, s.stage_order[1:], strict=False))]


def expected_medians(s: Seeded) -> dict[str, float | None]:
    """Median days of completed stays per stage."""
    stays: dict[str, list[float]] = {st: [] for st in s.stage_order}
    for path in s.paths.values():
        for (st, at), (_, nxt) in itertools.pairwise(path):
            stays[st].append((nxt - at) / dt.timedelta(days=1))
    return {st: (statistics.median(v) if v else None) for st, v in stays.items()}
