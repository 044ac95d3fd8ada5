"""The columnar API the benchmark and bulk rescoring use: hand-built columns, hand-checked results."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from connector.scoring.batch import BatchScorer
from connector.scoring.columns import (
    NO_TIME,
    ActivityColumns,
    AdjustmentColumns,
    Categorical,
    ContactColumns,
    PreviousColumns,
    from_micros,
    to_micros,
)
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity, Adjustment, Contact
from connector.scoring.result import ScoringState

AS_OF = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

MODEL = ScoringModel.model_validate(
    {
        "model": "cols",
        "dimensions": {"fit": {}, "engagement": {}},
        "total": {"ceiling": 200},
        "placeholders": ["Select"],
        "rules": [
            {"id": "title", "dimension": "fit", "points": 25, "when": {"property": "job_title", "op": "contains", "value": "marketing"}},
            {"id": "size", "dimension": "fit", "points": 10, "when": {"property": "company_size", "op": "gte", "value": 100}},
            {
                "id": "pricing",
                "dimension": "engagement",
                "points": 10,
                "activity": {"types": ["page_view"], "where": [{"attribute": "url", "op": "contains", "value": "/pricing"}], "max_times": 2, "decay": {"half_life_days": 10}},
            },
            {"id": "opens", "dimension": "engagement", "points": 2, "activity": {"types": ["email_open"], "max_points": 3}},
        ],
        "exclusions": [{"id": "rival", "reason": "competitor", "when": {"property": "email", "op": "email_domain_in", "value": ["rival.io"]}}],
        "grade": {"dimension": "fit", "bands": [{"label": "A", "min": 30}, {"label": "B"}]},
        "stages": {"order": [{"name": "lead"}, {"name": "mql", "thresholds": {"fit": 30, "engagement": 10}}]},
        "triggers": [{"id": "mql", "watch": {"stage": "mql"}, "actions": [{"type": "add_to_list", "list": "MQL"}]}],
    }
)


def _columns() -> tuple[ContactColumns, ActivityColumns]:
    """Three contacts: a marketer at a 250-person company, a CTO of 5, a competitor."""
    contacts = ContactColumns(
        ids=["c0", "c1", "c2"],
        properties={
            "job_title": Categorical(np.array([0, 1, 0], dtype=np.int32), ["Marketing Lead", "CTO"]),
            "company_size": Categorical(np.array([0, 1, -1], dtype=np.int32), ["250", 5]),
            "email": Categorical(np.array([0, 1, 2], dtype=np.int32), ["a@acme.com", "Select", "x@rival.io"]),
        },
    )
    now = to_micros(AS_OF)
    day = 86_400_000_000
    activities = ActivityColumns(
        contact=np.array([0, 0, 0, 1, 1, 1, 2], dtype=np.int32),
        type=Categorical(np.array([0, 0, 0, 1, 1, 1, 0], dtype=np.int32), ["page_view", "email_open"]),
        occurred=np.array([now, now - 10 * day, now - 20 * day, now - day, now - 2 * day, now - 3 * day, now], dtype=np.int64),
        order=np.arange(7, dtype=np.int64),
        attributes={"url": Categorical(np.array([0, 1, 0, -1, -1, -1, 0], dtype=np.int32), ["/pricing", "/Pricing/plans"])},
    )
    return contacts, activities


def test_columns_in_columns_out() -> None:
    contacts, activities = _columns()
    out = BatchScorer(MODEL).score_columns(contacts, activities, AS_OF)
    assert out.dimensions["fit"].tolist() == [35.0, 0.0, 0.0]
    # c0: the two newest pricing views, worth 10 (today) and 5 (one half-life ago); c1: 3 opens capped at 3.
    assert out.dimensions["engagement"].tolist() == [15.0, 3.0, 0.0]
    assert out.score.tolist() == [50.0, 3.0, 0.0]
    assert out.rule_points[:, 2].tolist() == [15.0, 0.0, 0.0] and out.rule_counts[:, 2].tolist() == [2, 0, 0]
    assert out.rule_points[:, 3].tolist() == [0.0, 3.0, 0.0] and out.rule_counts[:, 3].tolist() == [0, 3, 0]
    assert out.excluded.tolist() == [-1, -1, 0] and out.exclusion_ids == ["rival"]
    assert [out.stage_names[s] if s >= 0 else None for s in out.stage.tolist()] == ["mql", "lead", None]
    assert [out.grade_labels[g] for g in out.grade.tolist()] == ["A", "B", "B"]
    assert out.fired["mql"].tolist() == [True, False, False]
    assert out.armed["mql"].tolist() == [False, True, True]
    # c0's newest view loses worth at the next whole-day boundary; c1's opens never change; c2 is excluded.
    assert [from_micros(v) if v != NO_TIME else None for v in out.changes_at.tolist()] == [AS_OF + DAY, None, None]
    assert out.stage_entered[0] == to_micros(AS_OF)


def test_materialised_results_equal_the_record_path() -> None:
    contacts = [
        Contact(id="c0", email="a@acme.com", properties={"job_title": "Marketing Lead", "company_size": "250"}),
        Contact(id="c1", properties={"job_title": "CTO", "company_size": 5}),
    ]
    acts = [
        Activity(id="a1", type="page_view", occurred_at=AS_OF - 3 * DAY, contact_id="c0", attributes={"url": "/pricing"}),
        Activity(id="a1", type="page_view", occurred_at=AS_OF - 3 * DAY, contact_id="c0", attributes={"url": "/pricing"}),  # duplicate id
        Activity(id="a2", type="email_open", occurred_at=AS_OF - DAY, contact_id="c1"),
        Activity(id="a3", type="email_open", occurred_at=AS_OF - DAY, contact_id="stranger"),
        Activity(id="a4", type="email_open", occurred_at=AS_OF - DAY, anonymous_id="anon-1"),
    ]
    adjs = [Adjustment(contact_id="c1", dimension="fit", points=5, reason="met at event", by="rep@x.com", at=AS_OF - DAY)]
    scorer = BatchScorer(MODEL)
    results = scorer.score(contacts, acts, adjs, AS_OF, {"c1": ScoringState(stage="lead", stage_entered_at=AS_OF - 9 * DAY)})
    assert [r.contact_id for r in results] == ["c0", "c1"]
    pricing = next(r for r in results[0].reasons if r.rule == "pricing")
    assert pricing.count == 1 and pricing.points == round(10 * 0.5 ** 0.3, 2)
    assert any(r.kind == "adjustment" and r.label == "met at event" for r in results[1].reasons)
    assert results[1].state.stage_entered_at == AS_OF - 9 * DAY  # stayed a lead: entry time kept

    rows = {"c0": 0, "c1": 1}
    columns = scorer.score_columns(
        ContactColumns.from_records(contacts),
        ActivityColumns.from_records([acts[0], acts[2]], rows),
        AS_OF,
        AdjustmentColumns.from_records(adjs, rows),
        PreviousColumns.from_states(["c0", "c1"], {"c1": ScoringState(stage="lead", stage_entered_at=AS_OF - 9 * DAY)}, ["mql"]),
    )
    assert scorer.results(columns, adjs, {"c1": ScoringState(stage="lead", stage_entered_at=AS_OF - 9 * DAY)}, AS_OF) == results
    assert scorer.results(columns.take([1]), adjs, {"c1": ScoringState(stage="lead", stage_entered_at=AS_OF - 9 * DAY)}, AS_OF) == results[1:]


def test_repeated_contact_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="repeat"):
        BatchScorer(MODEL).score([Contact(id="c0"), Contact(id="c0")], [], [], AS_OF)


def test_no_contacts_no_results() -> None:
    assert BatchScorer(MODEL).score([], [], [], AS_OF) == []


def test_mismatched_columns_are_named() -> None:
    contacts, activities = _columns()
    broken = ActivityColumns(
        contact=np.array([0, 5], dtype=np.int32),
        type=activities.type,
        occurred=activities.occurred[:2],
        order=activities.order[:2],
        attributes={},
    )
    with pytest.raises(ValueError, match=r"activity column 'type' has 7 rows, not 2.*contact row 5"):
        BatchScorer(MODEL).score_columns(contacts, broken, AS_OF)
