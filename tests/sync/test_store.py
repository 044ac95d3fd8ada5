"""The state store on both databases: pulls, dedup, email resolution, what needs scoring."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.scoring.records import Activity, Contact
from connector.scoring.result import ScoreResult, ScoringState
from connector.sync.db import open_database
from connector.sync.scorers import score_row
from connector.sync.store import Store
from connector.sync.tables import identities

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str):
    engine = open_database(database_url)
    yield Store(engine, "hs")
    engine.dispose()


def _result(cid: str, changes_at: dt.datetime | None = None, model: str = "m") -> ScoreResult:
    return ScoreResult(cid, model, 10.0, {"fit": 10.0}, None, None, "lead", None, (), (), ScoringState(stage="lead", stage_entered_at=T), T, changes_at)


def _scored(store: Store, *results: ScoreResult) -> None:
    with store.transaction() as conn:
        store.save_scores(conn, [score_row(r) for r in results])
        store.clear_needs_score(conn, [r.contact_id for r in results])


def test_new_and_changed_contacts_need_scoring_unchanged_do_not(store: Store) -> None:
    assert store.save_contacts([Contact("c1", "A@X.com", {"t": 1}, T), Contact("c2", None, {}, T)], T) == ["c1", "c2"]
    assert store.ids_to_score(T, ["m"]) == ["c1", "c2"]
    _scored(store, _result("c1"), _result("c2"))
    assert store.ids_to_score(T, ["m"]) == []
    assert store.save_contacts([Contact("c1", "a@x.com", {"t": 1}, T)], T) == []  # same data (email case aside)
    assert store.save_contacts([Contact("c2", None, {"t": 2}, T)], T) == ["c2"]
    assert store.ids_to_score(T, ["m"]) == ["c2"]


def test_activities_are_stored_once_per_id(store: Store) -> None:
    store.save_contacts([Contact("c1", None, {}, T)], T)
    acts = [Activity("a1", "page_view", T, "c1"), Activity("a2", "page_view", T, "c1")]
    assert store.save_activities(acts, T) == 2
    assert store.save_activities([*acts, Activity("a3", "page_view", T, "c1")], T) == 1
    data = store.load_for_scoring(["c1"])
    assert sorted(a.id for a in data.activities["c1"]) == ["a1", "a2", "a3"]


def test_email_activity_resolves_to_the_contact_with_that_email(store: Store) -> None:
    store.save_contacts([Contact("c1", "Ann@Example.com", {}, T), Contact("c2", "bob@example.com", {}, T)], T)
    _scored(store, _result("c1"), _result("c2"))
    store.save_activities([Activity("e1", "email_open", T, anonymous_id="email:ANN@example.com")], T)
    assert store.ids_to_score(T, ["m"]) == ["c1"]
    data = store.load_for_scoring(["c1", "c2"])
    assert [(a.id, a.contact_id) for a in data.activities["c1"]] == [("e1", "c1")]
    assert data.activities["c2"] == []


def test_email_activity_pulled_before_its_contact_counts_once_the_contact_arrives(store: Store) -> None:
    store.save_activities([Activity("e1", "email_open", T, anonymous_id="email:late@example.com")], T)
    store.save_contacts([Contact("c9", "late@example.com", {}, T)], T)
    assert [a.id for a in store.load_for_scoring(["c9"]).activities["c9"]] == ["e1"]


def test_identities_link_anonymous_history(store: Store) -> None:
    store.save_contacts([Contact("c1", None, {}, T)], T)
    store.save_activities([Activity("v1", "page_view", T, anonymous_id="visitor-7")], T)
    _scored(store, _result("c1"))
    with store.transaction() as conn:  # no adapter pulls identities yet: the table is filled by hand
        conn.execute(sa.insert(identities), [{"crm": "hs", "anonymous_id": "visitor-7", "contact_id": "c1"}])
    assert [a.id for a in store.load_for_scoring(["c1"]).activities["c1"]] == ["v1"]
    store.save_activities([Activity("v2", "page_view", T, anonymous_id="visitor-7")], T)
    assert store.ids_to_score(T, ["m"]) == ["c1"]  # new activity of a known visitor marks the contact


def test_passed_changes_at_needs_scoring(store: Store) -> None:
    store.save_contacts([Contact("c1", None, {}, T), Contact("c2", None, {}, T)], T)
    _scored(store, _result("c1", T + dt.timedelta(days=1)), _result("c2", None))
    assert store.ids_to_score(T + dt.timedelta(hours=23), ["m"]) == []
    assert store.ids_to_score(T + dt.timedelta(days=1), ["m"]) == ["c1"]
    assert store.ids_to_score(T, ["m"], full=True) == ["c1", "c2"]


def test_a_new_model_scores_everyone(store: Store) -> None:
    store.save_contacts([Contact("c1", None, {}, T)], T)
    _scored(store, _result("c1"))
    assert store.ids_to_score(T, ["m", "other"]) == ["c1"]


def test_previous_state_round_trips_with_aware_datetimes(store: Store) -> None:
    store.save_contacts([Contact("c1", None, {}, T)], T)
    _scored(store, _result("c1", T + dt.timedelta(days=2)))
    data = store.load_for_scoring(["c1"])
    assert data.previous[("c1", "m")] == ScoringState(stage="lead", stage_entered_at=T)
    assert data.previous_stage[("c1", "m")] == "lead"


def test_cursor_check_in(store: Store) -> None:
    assert store.cursor_state() == {}
    store.check_in_cursor("contacts", T, T)
    assert store.cursor_state() == {"contacts": {"value": T.isoformat(), "progress": None}}


def test_crms_do_not_see_each_other(store: Store) -> None:
    other = Store(store.engine, "sf")
    store.save_contacts([Contact("c1", None, {}, T)], T)
    assert other.ids_to_score(T, ["m"]) == []


def test_value_keys_compare_what_is_written_with_what_comes_back() -> None:
    from connector.sync.store import dumps, jsonable

    assert dumps(25) == dumps(25.0) != dumps("25.0")
    assert dumps(True) != dumps(1.0)
    assert dumps(T) == dumps(jsonable(T))  # a datetime equals the ISO text stored for it
    assert dumps(["a", 1]) == dumps(["a", 1.0])
    assert dumps(None) != dumps("")


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-3, 3, allow_nan=False), st.sampled_from(["", "a", "1", "1.0", "true"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner, max_size=2), max_leaves=5)


@settings(max_examples=400, deadline=None)
@given(_VALUES, _VALUES)
def test_same_value_is_equality_of_the_value_keys(a: object, b: object) -> None:
    from connector.sync.store import dumps, same_value

    assert same_value(a, b) == (dumps(a) == dumps(b))
    assert same_value(a, a)


@given(when=st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 12, 30)))
def test_stored_instants_read_as_the_column_type_reads_them(when: dt.datetime) -> None:
    """``stored_instant`` on SQLite's stored text gives what ``UTCDateTime`` gives (aware UTC, microseconds kept)."""
    from sqlalchemy.dialects import sqlite

    from connector.sync.store import stored_instant
    from connector.sync.tables import activities

    dialect = sqlite.dialect()
    column = activities.c.occurred_at.type
    bind = column.dialect_impl(dialect).bind_processor(dialect)
    read = column.dialect_impl(dialect).result_processor(dialect, None)
    assert bind is not None and read is not None
    text = bind(when)
    assert stored_instant(text) == read(text) and stored_instant(text).tzinfo is dt.UTC
    aware = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert stored_instant(aware) == aware and stored_instant(aware).tzinfo is dt.UTC
