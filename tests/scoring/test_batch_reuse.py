"""One ``BatchScorer`` scoring chunk after chunk (as the sync does) equals the per-contact engine.

The batch scorer remembers condition answers per distinct value and decay tables across calls;
nothing remembered may change a later result: not values that are equal in Python but read
differently (``1``/``1.0``/``True``, ``0.0``/``-0.0``), not a memo that fills up and starts afresh.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from connector.scoring.batch import BatchScorer, memo
from connector.scoring.engine import Scorer
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity, Contact
from tests.scoring.test_batch_equivalence import AS_OF, explain_difference, random_data, random_model


def _check_chunks(seed: int, chunks: int = 6, n_contacts: int = 40) -> None:
    rng = random.Random(seed)
    model = random_model(rng, seed)
    stage_names = [s.name for s in model.stages.order] if model.stages else []
    scorer, engine = BatchScorer(model), Scorer(model)
    for k in range(chunks):
        contacts, activities, adjustments, previous = random_data(rng, n_contacts, [tr.id for tr in model.triggers], stage_names, list(model.dimensions))
        as_of = AS_OF + dt.timedelta(days=rng.choice([0, 3, 40, 400]))  # older activity in later chunks
        per_contact: dict[str | None, list[Activity]] = {}
        for act in activities:
            per_contact.setdefault(act.contact_id, []).append(act)
        expected = [engine.score(c, per_contact.get(c.id, []), adjustments, as_of, previous.get(c.id)) for c in contacts]
        got = scorer.score(contacts, activities, adjustments, as_of, previous)
        for want, have in zip(expected, got, strict=True):
            assert have == want, f"seed {seed}, chunk {k}, contact {want.contact_id}:\n{explain_difference(want, have)}"


@pytest.mark.parametrize("seed", range(2000, 2012))
def test_one_scorer_over_many_chunks(seed: int) -> None:
    _check_chunks(seed)


@pytest.mark.parametrize("seed", range(3000, 3004))
def test_a_full_memo_starts_afresh(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "MEMO_LIMIT", 7)  # smaller than one chunk's distinct values
    _check_chunks(seed)


def test_values_equal_in_python_but_read_differently() -> None:
    model = ScoringModel.model_validate({
        "model": "keys",
        "dimensions": {"fit": {"floor": -100, "ceiling": 100}},
        "rules": [
            {"id": "minus", "dimension": "fit", "points": 1, "when": {"property": "x", "op": "contains", "value": "-"}},
            {"id": "dot", "dimension": "fit", "points": 2, "when": {"property": "x", "op": "contains", "value": "."}},
            {"id": "true", "dimension": "fit", "points": 4, "when": {"property": "x", "op": "eq", "value": "true"}},
            {"id": "num", "dimension": "fit", "points": 8, "when": {"property": "x", "op": "gte", "value": 1}},
        ],
    })  # fmt: skip
    scorer = BatchScorer(model)
    for value in [0.0, -0.0, 1, 1.0, True, "1", [1], [True], (1.0,), -0.0]:  # one chunk each, same scorer
        contacts = [Contact(id="c1", properties={"x": value}), Contact(id="c2", properties={})]
        # A fresh engine each time: Scorer's own memo keys by (type, value), so it would answer
        # -0.0 as it answered 0.0 before; conditions.test tells them apart ("-0.0" contains "-").
        engine = Scorer(model)
        want = [engine.score(c, [], [], AS_OF, None) for c in contacts]
        assert scorer.score(contacts, [], [], AS_OF) == want, repr(value)


def test_threads_sharing_one_scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``connector run`` keeps scorers between runs on worker threads: concurrent calls stay exact."""
    import concurrent.futures

    monkeypatch.setattr(memo, "MEMO_LIMIT", 50)  # memos fill up and start afresh while threads race
    rng = random.Random(77)
    model = random_model(rng, 77)
    stage_names = [s.name for s in model.stages.order] if model.stages else []
    jobs = [random_data(rng, 30, [tr.id for tr in model.triggers], stage_names, list(model.dimensions)) for _ in range(16)]
    engine, scorer = Scorer(model), BatchScorer(model)
    expected = []
    for contacts, activities, adjustments, previous in jobs:
        per_contact: dict[str | None, list[Activity]] = {}
        for act in activities:
            per_contact.setdefault(act.contact_id, []).append(act)
        expected.append([engine.score(c, per_contact.get(c.id, []), adjustments, AS_OF, previous.get(c.id)) for c in contacts])
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda job: scorer.score(job[0], job[1], job[2], AS_OF, job[3]), jobs))
    assert got == expected
