"""connector.sync.bulk on both databases: bulk_upsert stores exactly what upsert stores (values, JSON of every shape, UTC times); among finds what IN finds."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from connector.sync import tables as T
from connector.sync.bulk import among, bulk_upsert, upsert
from connector.sync.db import open_database

written = T.written
AT = dt.datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 1, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
VALUES = [25, 25.5, "A", "", None, True, {"a": [1, "x"]}, [1, 2], "2026-01-01T00:00:00+00:00", "+25 job title · −10 unsubscribed"]


def _rows(crm: str, at: dt.datetime, shift: int = 0) -> list[dict[str, object]]:
    return [{"crm": crm, "contact_id": f"c{i % 3}", "field": f"f{i}", "value": VALUES[(i + shift) % len(VALUES)], "written_at": at} for i in range(len(VALUES))]


@pytest.fixture
def engine(database_url: str):
    eng = open_database(database_url)
    yield eng
    eng.dispose()


def _read(engine: sa.Engine, crm: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(written.c.contact_id, written.c.field, written.c.value, written.c.written_at).where(written.c.crm == crm).order_by(written.c.field))]


def test_bulk_upsert_inserts_and_updates_like_upsert(engine: sa.Engine) -> None:
    keys, update = ["crm", "contact_id", "field"], ["value", "written_at"]
    for crm, fn in (("slow", upsert), ("fast", bulk_upsert)):
        with engine.begin() as conn:
            fn(conn, written, _rows(crm, AT), keys, update)
        with engine.begin() as conn:  # the same keys again: values and times replaced
            fn(conn, written, _rows(crm, LATER, shift=3)[:6], keys, update)
    slow, fast = _read(engine, "slow"), _read(engine, "fast")
    assert fast == slow
    assert len(fast) == len(VALUES)
    assert {r[3] for r in fast} == {AT, LATER}
    assert all(r[3].tzinfo is not None for r in fast)
    assert [r[2] for r in fast][6:] == VALUES[6:]


def test_bulk_upsert_of_nothing_does_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        bulk_upsert(conn, written, [], ["crm", "contact_id", "field"], ["value", "written_at"])
    assert _read(engine, "fast") == []


def test_bulk_insert_stores_what_insert_stores(engine: sa.Engine) -> None:
    from connector.sync.bulk import bulk_insert

    history = T.stage_history
    rows = [{"crm": crm, "contact_id": f"c{i}", "model": "m", "from_stage": None if i % 2 else "MQL", "to_stage": "SQL", "at": LATER} for i in range(5) for crm in ("slow", "fast")]
    with engine.begin() as conn:
        conn.execute(sa.insert(history), [r for r in rows if r["crm"] == "slow"])
        bulk_insert(conn, history, [r for r in rows if r["crm"] == "fast"])
        bulk_insert(conn, history, [])
    cols = (history.c.contact_id, history.c.model, history.c.from_stage, history.c.to_stage, history.c.at)
    with engine.connect() as conn:
        slow, fast = ([tuple(r) for r in conn.execute(sa.select(*cols).where(history.c.crm == crm).order_by(history.c.contact_id))] for crm in ("slow", "fast"))
    assert fast == slow and len(fast) == 5
    assert fast[0][4] == LATER


def test_a_key_twice_in_one_call_acts_as_one_write_after_the_other(engine: sa.Engine) -> None:
    """A pulled page may hold a record twice: updating, the last row wins; not updating, the first stays."""
    keys = ["crm", "contact_id", "field"]
    twice = [{"crm": "dup", "contact_id": "c1", "field": "f", "value": v, "written_at": AT} for v in ("first", "second")]
    with engine.begin() as conn:
        bulk_upsert(conn, written, twice, keys, ["value", "written_at"])
        bulk_upsert(conn, written, [{**r, "field": "g"} for r in twice], keys, [])
    assert [(r[1], r[2]) for r in _read(engine, "dup")] == [("f", "second"), ("g", "first")]


def test_columns_given_once_store_what_rows_holding_them_store(engine: sa.Engine) -> None:
    """``same``: a column bound once for every row (the CRM) -- with keys repeated -- writes what the rows themselves would."""
    keys = ["crm", "contact_id", "field"]
    rows = [{"contact_id": f"c{i % 4}", "field": "f", "value": VALUES[i % len(VALUES)], "written_at": LATER if i % 2 else AT} for i in range(10)]
    with engine.begin() as conn:
        upsert(conn, written, [{"crm": "rows", **r} for r in rows], keys, ["value", "written_at"])
        bulk_upsert(conn, written, rows, keys, ["value", "written_at"], same={"crm": "once"})
        bulk_upsert(conn, written, [{**r, "field": "g"} for r in rows], keys, [], same={"crm": "once"})
        upsert(conn, written, [{"crm": "rows", **r, "field": "g"} for r in rows], keys, [])
    once, by_rows = _read(engine, "once"), _read(engine, "rows")
    assert once == by_rows and len(once) == 8


def test_encoded_json_and_columns_of_nothing_but_nulls(engine: sa.Engine) -> None:
    """JSON text bound as it is (``encoded``) and a column whose every value is NULL, in a batch of thousands."""
    from connector.sync.store import SCORE_JSON

    rows = [
        {
            "crm": "enc", "contact_id": f"c{i:05}", "model": "m", "score": i / 3, "dimensions": '{"fit": 1.5}', "grade": None,
            "matrix": None, "stage": "MQL" if i % 2 else None, "excluded": None, "reasons": '[{"rule": "r", "points": 2.5}]',
            "state": None, "as_of": AT, "changes_at": None, "digest": "d" * 32, "fingerprint": None,
        }
        for i in range(5_000)
    ]  # fmt: skip
    scores = T.scores
    with engine.begin() as conn:
        bulk_upsert(conn, scores, rows, ["crm", "contact_id", "model"], [c for c in rows[0] if c not in ("crm", "contact_id", "model")], encoded=SCORE_JSON)
    with engine.connect() as conn:
        got = conn.execute(sa.select(scores).where(scores.c.crm == "enc").order_by(scores.c.contact_id)).mappings().all()
    assert len(got) == 5_000
    assert got[7]["dimensions"] == {"fit": 1.5} and got[7]["reasons"] == [{"rule": "r", "points": 2.5}] and got[7]["state"] is None
    assert got[7]["score"] == pytest.approx(7 / 3) and got[7]["stage"] == "MQL" and got[8]["stage"] is None
    assert got[7]["as_of"] == AT and got[7]["changes_at"] is None and got[7]["grade"] is None


def test_odd_value_types_are_stored_as_row_by_row_writes_store_them(engine: sa.Engine) -> None:
    """Whole numbers in a float column, and a text column given a number, on both databases' paths."""
    scores = T.scores
    rows = [
        {"crm": "odd", "contact_id": f"c{i}", "model": "m", "score": score, "grade": grade, "as_of": AT}
        for i, (score, grade) in enumerate([(25, "A"), (25.5, None), (0, 7)])
    ]
    with engine.begin() as conn:
        bulk_upsert(conn, scores, rows, ["crm", "contact_id", "model"], ["score", "grade", "as_of"])
    with engine.connect() as conn:
        got = conn.execute(sa.select(scores.c.score, scores.c.grade).where(scores.c.crm == "odd").order_by(scores.c.contact_id)).all()
    assert [tuple(r) for r in got] == [(25.0, "A"), (25.5, None), (0.0, "7")]


@pytest.mark.parametrize("grades", [("A", "B"), ("A", 7)], ids=["one-statement", "row-by-row"])
def test_a_merged_json_column_adds_the_new_members_to_the_stored_object(engine: sa.Engine, grades: tuple[object, object]) -> None:
    """``merged``: ``{**stored, **new}`` by the database, on both databases' paths (a text column given a number takes the row-by-row one)."""
    scores = T.scores
    keys, update = ["crm", "contact_id", "model"], ["grade", "dimensions"]
    first = [
        {"contact_id": "c0", "model": "m", "score": 1.0, "grade": "A", "as_of": AT, "dimensions": {"fit": 10, "engagement": 5}},
        {"contact_id": "c1", "model": "m", "score": 1.0, "grade": "A", "as_of": AT, "dimensions": [1, 2]},
    ]
    later = [
        {"contact_id": "c0", "grade": grades[0], "dimensions": '{"engagement": 7.5, "big": 12345678901234567890}'},
        {"contact_id": "c1", "grade": grades[1], "dimensions": '{"fit": "x"}'},
        {"contact_id": "c2", "grade": grades[1], "dimensions": '{"fit": 1}'},
    ]
    with engine.begin() as conn:
        bulk_upsert(conn, scores, first, keys, update, same={"crm": "merge"})
        bulk_upsert(conn, scores, later, keys, update, encoded={"dimensions"}, merged={"dimensions"}, same={"crm": "merge", "model": "m", "score": 2.0, "as_of": AT})
    with engine.connect() as conn:
        got = conn.execute(sa.select(scores.c.contact_id, scores.c.grade, scores.c.dimensions).where(scores.c.crm == "merge").order_by(scores.c.contact_id)).all()
    assert [tuple(r) for r in got] == [
        ("c0", str(grades[0]), {"fit": 10, "engagement": 7.5, "big": 12345678901234567890}),
        ("c1", str(grades[1]), {"fit": "x"}),
        ("c2", str(grades[1]), {"fit": 1}),
    ]


def test_among_finds_what_in_finds(engine: sa.Engine) -> None:
    """One parameter for any number of values: text with quotes, commas and accents, whole numbers, none at all."""
    ids = ['o\'brien', 'a,b', '"quoted"', "é", "plain", *(f"c{i}" for i in range(2_000))]
    with engine.begin() as conn:
        bulk_upsert(conn, written, [{"crm": "among", "contact_id": cid, "field": "f", "value": i, "written_at": AT} for i, cid in enumerate(ids)], ["crm", "contact_id", "field"], ["value"])
    wanted = [*ids[:4], "missing", *ids[100:1_600]]
    with engine.connect() as conn:
        query = sa.select(written.c.contact_id).where(written.c.crm == "among")
        found = {r[0] for r in conn.execute(query.where(among(conn, written.c.contact_id, wanted)))}
        assert found == {r[0] for r in conn.execute(query.where(written.c.contact_id.in_(wanted)))} and len(found) == 1_504
        assert list(conn.execute(query.where(among(conn, written.c.contact_id, [])))) == []
        history = T.stage_history
        conn.execute(sa.insert(history), [{"crm": "among", "contact_id": f"h{i}", "model": "m", "to_stage": "SQL", "at": AT} for i in range(5)])
        numbers = list(conn.execute(sa.select(history.c.id).where(history.c.crm == "among").order_by(history.c.id)).scalars())
        picked = numbers[1:4]
        assert list(conn.execute(sa.select(history.c.id).where(among(conn, history.c.id, picked)).order_by(history.c.id)).scalars()) == picked


@given(
    when=st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    offset=st.none() | st.just(dt.UTC) | st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
)
def test_sqlite_times_bind_as_the_column_type_renders_them(when: dt.datetime, offset: dt.timezone | None) -> None:
    """The bulk path's own SQLite rendering of UTC times is the text SQLAlchemy's processor gives (naive and any offset)."""
    from sqlalchemy.dialects import sqlite

    from connector.sync.bulk import _bind_processor

    value = when.replace(tzinfo=offset)
    dialect = sqlite.dialect()
    column = written.c.written_at
    expected = column.type.dialect_impl(dialect).bind_processor(dialect)
    got = _bind_processor(column, dialect)
    assert expected is not None and got is not None
    assert got(value) == expected(value)
    assert got(None) is None
