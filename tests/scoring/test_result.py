"""Result shapes: the JSON written by ``connector score`` and read back by the sync engine."""

from __future__ import annotations

import dataclasses as dc

from connector.scoring.result import Reason
from tests.scoring._build import act, model, score


def test_reason_to_dict_drops_empty_fields_in_field_order() -> None:
    for reason in (Reason("a", "fit", 1.0, "l"), Reason("a", "fit", 1.0, "l", count=2, kind="activity", detail="by")):
        expected = {k: v for k, v in dc.asdict(reason).items() if v is not None}
        assert reason.to_dict() == expected
        assert list(reason.to_dict()) == list(expected)


def test_result_to_dict_has_the_documented_keys() -> None:
    m = model(
        """
        model: m
        dimensions: {e: {}}
        rules: [{id: v, dimension: e, points: 5, activity: {types: [page_view], within_days: 3}}]
        """
    )
    data = score(m, activities=[act("page_view", 1)]).to_dict()
    assert list(data) == ["contact_id", "model", "score", "dimensions", "grade", "matrix", "stage", "excluded", "triggers", "reasons", "as_of", "changes_at", "state"]
    assert data["reasons"] == [{"rule": "v", "dimension": "e", "points": 5.0, "label": "v", "count": 1, "kind": "activity"}]
    assert data["changes_at"] is not None and data["state"]["armed"] == {}
