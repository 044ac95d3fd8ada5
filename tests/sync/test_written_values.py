"""What was written to the CRM: one row per contact, merged on each push, read together with per-field rows."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from connector.sync import tables as T
from connector.sync.bulk import upsert
from connector.sync.db import open_database
from connector.sync.outbox import ALL_FIELDS, read_written, record_written, stage_changes

written = T.written
AT = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(hours=1)


@pytest.fixture
def engine(database_url: str):
    eng = open_database(database_url)
    yield eng
    eng.dispose()


def test_a_push_merges_into_the_contacts_one_row(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        record_written(conn, "hs", {"c1": {"score": 25, "grade": "B"}, "c2": {"score": 5}}, AT)
    with engine.begin() as conn:
        record_written(conn, "hs", {"c1": {"score": 40.5}}, LATER)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(written.c.contact_id, written.c.field, written.c.written_at).where(written.c.crm == "hs").order_by(written.c.contact_id)).all()
        assert [(r[0], r[1]) for r in rows] == [("c1", ALL_FIELDS), ("c2", ALL_FIELDS)]
        assert rows[0][2] == LATER and rows[1][2] == AT
        assert read_written(conn, "hs", ["c1", "c2", "c3"]) == {"c1": {"score": 40.5, "grade": "B"}, "c2": {"score": 5}}


def test_per_field_rows_are_read_and_the_merged_row_wins(engine: sa.Engine) -> None:
    with engine.begin() as conn:  # rows of the earlier one-row-per-field shape
        upsert(conn, written, [{"crm": "hs", "contact_id": "c1", "field": f, "value": v, "written_at": AT} for f, v in (("score", 10), ("stage", "MQL"))], ["crm", "contact_id", "field"], ["value", "written_at"])
        record_written(conn, "hs", {"c1": {"score": 30}}, LATER)
    with engine.connect() as conn:
        assert read_written(conn, "hs", ["c1"]) == {"c1": {"score": 30, "stage": "MQL"}}


def test_staging_diffs_against_what_was_written(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        record_written(conn, "hs", {"c1": {"score": 30, "stage": "MQL"}}, AT)
        changed = stage_changes(conn, "hs", {"c1": {"score": 30.0, "stage": "MQL"}, "c2": {"score": 1}}, LATER, None).changed
        assert changed == 1  # c1 holds the same values already; c2 is new
        changed = stage_changes(conn, "hs", {"c1": {"score": 31, "stage": "MQL"}}, LATER, None).changed
        assert changed == 1


def test_the_database_merges_a_push_as_the_dicts_would_nulls_and_objects_included(engine: sa.Engine) -> None:
    """Plain values are merged by the database; a null, an object or a stored value that is no object give the same result."""
    with engine.begin() as conn:
        upsert(conn, written, [{"crm": "hs", "contact_id": "odd", "field": ALL_FIELDS, "value": [1, 2], "written_at": AT}], ["crm", "contact_id", "field"], ["value", "written_at"])
        record_written(conn, "hs", {"c1": {"score": 25, "grade": "B", "tags": ["a", "b"], "big": 12345678901234567890}, "c2": {"score": 5, "meta": {"x": 1, "y": 2}}}, AT)
    with engine.begin() as conn:
        record_written(
            conn, "hs",
            {"c1": {"score": 40.5, "grade": None, "ok": True}, "c2": {"meta": {"x": 3}}, "c3": {"n": 0.1}, "odd": {"score": 1}},
            LATER,
        )  # fmt: skip
    with engine.connect() as conn:
        assert read_written(conn, "hs", ["c1", "c2", "c3", "odd"]) == {
            "c1": {"score": 40.5, "grade": None, "tags": ["a", "b"], "big": 12345678901234567890, "ok": True},
            "c2": {"score": 5, "meta": {"x": 3}},
            "c3": {"n": 0.1},
            "odd": {"score": 1},
        }
        stamps = dict(conn.execute(sa.select(written.c.contact_id, written.c.written_at).where(written.c.crm == "hs")).all())
        assert stamps == {"c1": LATER, "c2": LATER, "c3": LATER, "odd": LATER}
