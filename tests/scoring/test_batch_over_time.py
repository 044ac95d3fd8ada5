"""Both engines agree run after run, each carrying its own state forward (triggers, stages, resets).

A sync scores the same contacts every few hours with the state of the previous run. Here each
engine feeds its *own* previous states back in, over a sequence of ``as_of`` instants with new
activities and adjustments arriving in between, so re-arming triggers, stage entries,
``reset_on_enter`` windows and regression are exercised with states the engines produced
themselves, not random ones.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.records import Activity
from tests.scoring.test_batch_equivalence import AS_OF, explain_difference, random_data, random_model


@pytest.mark.parametrize("seed", range(100, 112))
def test_engines_agree_over_successive_runs(seed: int) -> None:
    rng = random.Random(seed)
    model = random_model(rng, seed)
    stage_names = [s.name for s in model.stages.order] if model.stages else []
    contacts, activities, adjustments, _ = random_data(rng, 30, [tr.id for tr in model.triggers], stage_names, list(model.dimensions))
    # Spread the history over the runs: each run sees what happened up to its as_of.
    instants = [AS_OF + dt.timedelta(days=d, hours=rng.randrange(24)) for d in (-120, -60, -30, -7, 0, 3, 40)]
    scorer, batch = Scorer(model), BatchScorer(model)
    loop_states: dict = {}
    batch_states: dict = {}
    for as_of in instants:
        per_contact: dict[str | None, list[Activity]] = {}
        for act in activities:
            per_contact.setdefault(act.contact_id, []).append(act)
        expected = [scorer.score(c, per_contact.get(c.id, []), adjustments, as_of, loop_states.get(c.id)) for c in contacts]
        got = batch.score(contacts, activities, adjustments, as_of, batch_states)
        for want, have in zip(expected, got, strict=False):
            assert have == want, f"seed {seed}, as_of {as_of}, contact {want.contact_id}\n{explain_difference(want, have)}"
        loop_states = {r.contact_id: r.state for r in expected}
        batch_states = {r.contact_id: r.state for r in got}
