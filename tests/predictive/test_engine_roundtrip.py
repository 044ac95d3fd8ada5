"""The learned YAML is an ordinary model: the engine loads it and reproduces the learner's numbers."""

from __future__ import annotations

import numpy as np

from connector.learn.columns import profile_columns
from connector.learn.features import activity_table, design_matrix
from connector.learn.pipeline import Learned
from connector.learn.writer import Written
from connector.scoring import readers
from connector.scoring.engine import Scorer
from connector.scoring.loader import load_model
from connector.scoring.records import Activity
from connector.scoring.result import round2
from tests.predictive._synth import AS_OF


def _score_all(written: Written, learned: Learned) -> dict[str, dict[str, float]]:
    """Every synthetic contact scored by the engine from the written files, as `connector score` reads them."""
    assert learned.options.activities is not None
    scorer = Scorer.from_file(written.yaml)
    contacts = list(readers.read_contacts(learned.options.contacts, id_column="id"))
    acts: dict[str, list[Activity]] = {}
    for a in readers.read_activities(learned.options.activities):
        acts.setdefault(a.contact_id or "", []).append(a)
    return {c.id: dict(scorer.score(c, acts.get(c.id, []), [], AS_OF).dimensions) for c in contacts}


def test_points_dimension_equals_learner_points(written: Written, learned: Learned) -> None:
    scored = _score_all(written, learned)
    used = [c for c in profile_columns(learned.data.contacts, learned.data.columns, learned.options.placeholders) if c.name in learned.used]
    table = activity_table(learned.data.contacts, learned.data.activities, learned.data.as_of)
    expected = learned.points.score({c.name: c for c in used}, table.counts, np.arange(len(learned.y)))
    got = np.array([scored[c.id]["points"] for c in learned.data.contacts])
    assert np.array_equal(got, expected)
    assert any(r.term is not None for r in learned.points.rules), "activity rules were learned"


def test_probability_dimension_equals_training_prediction(written: Written, learned: Learned) -> None:
    scored = _score_all(written, learned)
    by_name = {c.name: c for c in profile_columns(learned.data.contacts, learned.data.columns, learned.options.placeholders)}
    table = activity_table(learned.data.contacts, learned.data.activities, learned.data.as_of)
    x = design_matrix(learned.model_file.features, by_name, table)
    p = learned.predictor.probabilities(x)
    got = [scored[c.id]["probability"] for c in learned.data.contacts]
    assert got == [round2(100 * v) for v in p]


def test_model_validates_and_has_stages_from_thresholds(written: Written, learned: Learned) -> None:
    model = load_model(written.yaml)
    th = learned.thresholds
    stages = {s.name: s.thresholds for s in model.stages.order} if model.stages else {}
    assert stages["sql"] == {"probability": th.hot} and stages["mql"] == {"probability": th.mql}
    assert th.mql < th.hot
    assert model.dimensions["probability"].predictive is not None
    assert model.placeholders == ["Select"]
    assert any(r.points < 0 for r in model.rules) and any(r.points > 0 for r in model.rules)
    assert all(float(r.points).is_integer() for r in model.rules)


def test_every_rule_carries_an_evidence_comment(written: Written) -> None:
    lines = written.yaml.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  - id:"):
            assert lines[i - 1].startswith("  # evidence: ") and "converted" in lines[i - 1]
