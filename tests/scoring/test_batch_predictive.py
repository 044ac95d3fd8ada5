"""Predictive dimensions: the batch scorer asks the predictor per contact and agrees with the engine.

The predictor sees the same contact and the same (de-duplicated, UTC) activities in both engines;
its probability becomes ``round2(100 * p)``, adjustments add to it, clamping and stage thresholds
and triggers read it like any dimension.
"""

from __future__ import annotations

import datetime as dt
import random
import typing as t

import pytest

from connector.scoring.batch import BatchScorer
from connector.scoring.columns import ActivityColumns, ContactColumns
from connector.scoring.engine import Scorer
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity, Contact
from connector.scoring.result import Reason
from tests.scoring.test_batch_equivalence import AS_OF, explain_difference, random_data, random_model


class FakePredictor:
    """A deterministic stand-in for a learned model: reads properties and activity history."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def predict(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> tuple[float, list[Reason]]:
        self.calls.append((contact.id, tuple(sorted(a.id for a in activities))))
        past = [a for a in activities if a.occurred_at <= as_of]
        p = min(1.0, 0.013 * len(past) + (0.2 if contact.properties.get("job_title") else 0.0) + 0.001 * (len(contact.id) % 7))
        return p, [Reason("propensity_model", "propensity", round(100 * p, 2), "learned propensity", kind="predictive")]


def _with_predictive(model: ScoringModel) -> ScoringModel:
    data = model.model_dump(exclude_none=True)
    data["dimensions"]["propensity"] = {"floor": 0, "ceiling": 80, "weight": 0.5, "predictive": {"model_file": "propensity.json"}}
    data["triggers"] = [*data.get("triggers", []), {"id": "likely", "watch": {"dimension": "propensity", "above": 30}, "actions": [{"type": "add_to_list", "list": "likely"}]}]
    if data.get("stages"):
        data["stages"]["order"].append({"name": "predicted", "thresholds": {"propensity": 40}})
    return ScoringModel.model_validate(data)


@pytest.mark.parametrize("seed", range(200, 206))
def test_predictive_dimension_matches_engine(seed: int) -> None:
    rng = random.Random(seed)
    model = _with_predictive(random_model(rng, seed))
    stage_names = [s.name for s in model.stages.order] if model.stages else []
    contacts, activities, adjustments, previous = random_data(rng, 30, [tr.id for tr in model.triggers], stage_names, list(model.dimensions))
    per_contact: dict[str | None, list[Activity]] = {}
    for act in activities:
        per_contact.setdefault(act.contact_id, []).append(act)
    loop_predictor, batch_predictor = FakePredictor(), FakePredictor()
    scorer = Scorer(model, {"propensity": loop_predictor})
    expected = [scorer.score(c, per_contact.get(c.id, []), adjustments, AS_OF, previous.get(c.id)) for c in contacts]
    got = BatchScorer(model, {"propensity": batch_predictor}).score(contacts, activities, adjustments, AS_OF, previous)
    for want, have in zip(expected, got, strict=False):
        assert have == want, f"seed {seed}, contact {want.contact_id}\n{explain_difference(want, have)}"
    # The predictor saw the same contacts with the same activities (order of calls aside).
    assert set(batch_predictor.calls) <= set(loop_predictor.calls)
    assert any(r.kind == "predictive" for res in got for r in res.reasons)


def test_missing_predictor_is_a_clear_error() -> None:
    model = _with_predictive(random_model(random.Random(1), 1))
    with pytest.raises(ValueError, match="propensity"):
        BatchScorer(model)


def test_columns_without_records_cannot_feed_a_predictor() -> None:
    model = _with_predictive(random_model(random.Random(2), 2))
    contacts = [Contact(id="c1", properties={"job_title": "CTO"})]
    columns = ContactColumns(ids=["c1"], properties=ContactColumns.from_records(contacts).properties)
    with pytest.raises(ValueError, match="predictive dimensions"):
        BatchScorer(model, {"propensity": FakePredictor()}).score_columns(columns, ActivityColumns.from_records([], {"c1": 0}), AS_OF)


def test_out_of_range_probability_is_reported() -> None:
    class Broken(FakePredictor):
        def predict(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> tuple[float, list[Reason]]:
            return 1.5, []

    model = _with_predictive(random_model(random.Random(3), 3))
    with pytest.raises(ValueError, match="not a probability"):
        BatchScorer(model, {"propensity": Broken()}).score([Contact(id="c1")], [], [], AS_OF)
