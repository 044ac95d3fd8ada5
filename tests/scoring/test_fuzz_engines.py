"""Property-based test of both scoring engines: random models (every schema feature, ``gt``/``gte``
levels) on contacts and activities whose values hypothesis draws from the odd corners (huge integers,
NaN and infinities, odd Unicode, lists, objects, far past and future instants): the batch engine
gives the per-contact engine's results field by field."""

from __future__ import annotations

import datetime as dt
import random
import typing as t

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.records import Activity, Adjustment, Contact
from connector.scoring.result import ScoringState
from tests.scoring.test_batch_equivalence import AS_OF, ATTRIBUTE_VALUES, PROPERTY_VALUES, TYPES, explain_difference, random_model

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

odd = st.one_of(
    st.none() | st.booleans() | st.integers(min_value=-(10**400), max_value=10**400) | st.floats(),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=10),
    st.sampled_from(["Select", " select ", "n/a", "250", " 1e3 ", "VP Marketing", "ann@acme.com", "x@RIVAL.io.", "/pricing", "ß", "İ", "\u202e"]),
)
odd_value = odd | st.lists(odd, max_size=3) | st.dictionaries(st.text(max_size=3), odd, max_size=2)


def _pool(pools: dict[str, list[t.Any]]) -> st.SearchStrategy[dict[str, t.Any]]:
    """Values from the pools the random models' rules test (so rules match), or odd ones."""
    return st.fixed_dictionaries({}, optional={k: st.sampled_from(v) | odd_value for k, v in pools.items()})


instant = st.one_of(
    st.sampled_from([0, 0.5, 1, 7, 30, 45.25, 90, -1, -0.25]).map(lambda days: AS_OF - dt.timedelta(days=days)),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC) | st.none()),
)


@st.composite
def data(draw: st.DrawFn) -> tuple[t.Any, ...]:
    seed = draw(st.integers(0, 10**6))
    model = random_model(random.Random(seed), seed)
    n = draw(st.integers(1, 6))
    contacts = [Contact(f"c{i}", email=draw(st.none() | st.sampled_from(["a@acme.com", "b@rival.io", "bad"])), properties=draw(_pool(PROPERTY_VALUES))) for i in range(n)]
    acts = [
        Activity(f"a{draw(st.integers(0, 30))}", draw(st.sampled_from(TYPES)), draw(instant), contact_id=f"c{draw(st.integers(0, n))}", attributes=draw(_pool(ATTRIBUTE_VALUES)))
        for _ in range(draw(st.integers(0, 14)))
    ]
    dims = [*model.dimensions, "unknown"]
    adjs = [
        Adjustment(f"c{draw(st.integers(0, n - 1))}", draw(st.sampled_from(dims)), draw(st.sampled_from([5, -3, 2.5, 10.005, 0.015])), "why", "rep", draw(instant).replace(tzinfo=dt.UTC))
        for _ in range(draw(st.integers(0, 3)))
    ]
    stages = [s.name for s in model.stages.order] if model.stages else []
    previous = {}
    for c in contacts:
        if draw(st.booleans()):
            stage = draw(st.none() | st.sampled_from([*stages, "retired"])) if stages else None
            armed = {tr.id: draw(st.booleans()) for tr in model.triggers}
            previous[c.id] = ScoringState(stage, AS_OF - dt.timedelta(days=draw(st.integers(0, 90))) if stage else None, armed)
    return model, contacts, acts, adjs, previous


@FAST
@given(data())
def test_both_engines_agree_on_odd_inputs(case: tuple[t.Any, ...]) -> None:
    model, contacts, acts, adjs, previous = case
    scorer = Scorer(model)
    expected = [scorer.score(c, [a for a in acts if a.contact_id == c.id], adjs, AS_OF, previous.get(c.id)) for c in contacts]
    got = BatchScorer(model).score(contacts, acts, adjs, AS_OF, previous)
    for want, have in zip(expected, got, strict=True):
        assert have == want, explain_difference(want, have)
