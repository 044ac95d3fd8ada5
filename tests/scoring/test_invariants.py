"""Properties every result must have, checked over the example data at several instants."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import math
import pathlib

import pytest

from connector.scoring.engine import Scorer
from connector.scoring.identity import resolve
from connector.scoring.readers import read_activities, read_adjustments, read_contacts, read_identities
from connector.scoring.result import round2

REPO = pathlib.Path(__file__).resolve().parents[2]
EX = REPO / "mappings" / "examples"
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("name", ["b2b-saas", "product-line-b"])
def test_reasons_add_up_results_are_deterministic_and_changes_at_is_honest(name: str) -> None:
    scorer = Scorer.from_file(REPO / "mappings" / "models" / f"{name}.yaml")
    model = scorer.model
    contacts = list(read_contacts(EX / "contacts.jsonl"))
    acts = resolve(read_activities(EX / "activities.jsonl"), read_identities(EX / "identities.jsonl"))
    adjs = list(read_adjustments(EX / "adjustments.jsonl"))
    for days in (0, 17, 95):
        as_of = START + dt.timedelta(days=days, hours=5)
        for contact in contacts:
            result = scorer.score(contact, acts, adjs, as_of)
            assert result == scorer.score(contact, acts, adjs, as_of)  # pure: same inputs, same result
            weighted = sum(model.dimensions[d].weight * v for d, v in result.dimensions.items())
            assert result.score == round2(min(max(weighted, model.total.floor), model.total.ceiling))
            for dim, spec in model.dimensions.items():
                value = result.dimensions[dim]
                assert spec.floor <= value <= spec.ceiling
                if result.excluded is None:
                    parts = sum(r.points for r in result.reasons if r.dimension == dim)
                    assert math.isclose(parts, value, abs_tol=1e-9), (contact.id, dim)
            if result.changes_at is None or result.excluded:
                continue
            assert result.changes_at > as_of
            # just before changes_at nothing differs from now
            before = scorer.score(contact, acts, adjs, result.changes_at - dt.timedelta(microseconds=1))
            assert (before.dimensions, before.reasons) == (result.dimensions, result.reasons), contact.id


def test_previous_state_round_trips_through_json() -> None:
    scorer = Scorer.from_file(REPO / "mappings" / "models" / "b2b-saas.yaml")
    contact = next(c for c in read_contacts(EX / "contacts.jsonl") if c.id == "c001")
    first = scorer.score(contact, [], [], START)
    from connector.scoring.result import ScoringState

    again = ScoringState.from_dict(first.state.to_dict())
    assert again == dc.replace(first.state, armed=dict(first.state.armed))
