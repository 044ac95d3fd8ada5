"""The run analyzes the state database after bulk loads, so the planner never works without statistics."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from connector.scoring.records import Contact
from connector.sync import statistics
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.statistics import Statistics, _never_analyzed
from connector.sync.store import Store
from tests.sync.test_pipeline import _seed

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _contacts(n: int, start: int = 0) -> list[Contact]:
    return [Contact(id=f"c{i}", email=f"p{i}@example.com", properties={"job_title": "x"}, updated_at=T) for i in range(start, start + n)]


def _analyzed(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return not _never_analyzed(conn, "contacts")


def test_rows_stored_in_bulk_are_analyzed_on_a_geometric_schedule(database_url, monkeypatch):
    monkeypatch.setattr(statistics, "MIN_ROWS", 50)
    engine = open_database(database_url)
    store = Store(engine, "hs")
    stats = store.statistics
    assert not stats.stored(len(store.save_contacts(_contacts(40), T)), "contacts")
    assert not _analyzed(engine)
    assert stats.stored(len(store.save_contacts(_contacts(40, 40), T)), "contacts")  # 80 >= 50
    assert _analyzed(engine) and stats.runs == 1
    # Counted now: 80 contacts; the next ANALYZE waits for max(50, half of them) more rows.
    assert not stats.stored(len(store.save_contacts(_contacts(45, 80), T)), "contacts")
    assert stats.stored(len(store.save_contacts(_contacts(10, 125), T)), "contacts")
    assert stats.runs == 2
    engine.dispose()


def test_a_table_growing_from_nothing_is_analyzed_however_large_the_others(database_url, monkeypatch):
    """The first scoring of a bulk-loaded portal: ``written_values`` grows from empty beside millions of activities."""
    monkeypatch.setattr(statistics, "MIN_ROWS", 50)
    engine = open_database(database_url)
    store = Store(engine, "hs")
    store.save_contacts(_contacts(400), T)
    store.statistics.analyze()
    stats = Statistics(engine)  # a new run: 400 contacts counted, written_values empty
    assert not stats.stored(120, "contacts")  # 120 < half of 400
    assert stats.stored(60, "written_values")  # 60 >= 50, although 180 rows are few beside 400
    with engine.connect() as conn:
        counted = statistics._counted_rows(conn)
    assert counted["contacts"] == 400
    engine.dispose()


def test_a_store_never_analyzed_is_analyzed_once_at_the_start(database_url):
    engine = open_database(database_url)
    store = Store(engine, "hs")
    store.statistics.start()
    assert store.statistics.runs == 0  # empty: nothing to learn
    store.save_contacts(_contacts(5), T)
    store.statistics.start()
    assert store.statistics.runs == 1 and _analyzed(engine)
    again = Statistics(engine)
    again.start()
    assert again.runs == 0
    engine.dispose()


def test_a_run_storing_many_rows_analyzes(sync_config, fake_crm, factory, clock, monkeypatch):
    monkeypatch.setattr(statistics, "MIN_ROWS", 3)
    _seed(fake_crm)
    engine = open_database(sync_config.effective_database_url())
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    assert summary.status == "ok"
    assert _analyzed(engine)
    engine.dispose()
