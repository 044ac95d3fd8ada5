"""bulk_upsert stores exactly what upsert stores (values, JSON of every shape, UTC times), on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from connector.sync import tables as T
from connector.sync.db import open_database
from connector.sync.store import bulk_upsert, upsert

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
    from connector.sync.store import bulk_insert

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
