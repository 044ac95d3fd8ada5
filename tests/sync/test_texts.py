"""The texts a chunk's score rows share (:class:`connector.sync.scorers.Texts`) are exactly ``json.dumps``'s.

Why it matters: a score row's digest hashes these texts, so a text that differed from what the
per-contact path encodes would make every contact look changed (or, worse, unchanged).
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from connector.scoring.result import Reason
from connector.sync.scorers import _SLOT, Texts

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**20), 10**20), st.booleans(), st.sampled_from([0.0, -0.0, 2.5, 1e-7]))
texts = st.one_of(st.text(max_size=12), st.sampled_from(["page views", 'a "quoted" label', "ü \\ /", _SLOT, f"x{_SLOT}y"]))


@given(
    points=numbers,
    rule=texts,
    dimension=texts,
    label=texts,
    count=st.one_of(st.none(), st.integers(0, 10**6)),
    kind=st.sampled_from(["activity", "rule", "exclusion", "adjustment"]),
    detail=st.one_of(st.none(), texts),
)
def test_a_reasons_json_is_json_dumps_of_its_dict(points: float, rule: str, dimension: str, label: str, count: int | None, kind: str, detail: str | None) -> None:
    made = Texts()
    reason = Reason(rule=rule, dimension=dimension, points=points, label=label, count=count, kind=kind, detail=detail)
    other = Reason(rule=rule, dimension=dimension, points=1.25, label=label, count=count, kind=kind, detail=detail)
    assert made.reasons([other, reason]) == json.dumps([other.to_dict(), reason.to_dict()])
    assert made.reasons([reason]) == json.dumps([reason.to_dict()])  # from the cache, and from the frame the first call made


@given(values=st.dictionaries(texts, numbers, max_size=4))
def test_dimensions_json_is_json_dumps(values: dict[str, float]) -> None:
    made = Texts()
    assert made.dimensions(values) == json.dumps(values)
    assert made.dimensions(values) == json.dumps(values)
