"""Score drift: each run that scores records the week's distribution; a later run of the week replaces it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from connector.sync.db import make_engine
from connector.sync.drift import week_of
from connector.sync.pipeline import run_sync
from connector.sync.reportdata import BINS, histogram
from connector.sync.tables import score_snapshots, scores


def test_week_of_is_its_monday() -> None:
    assert week_of(dt.datetime(2026, 11, 28, 23, 0, tzinfo=dt.UTC)) == "2026-11-23"  # a Saturday
    assert week_of(dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)) == "2026-11-23"


def test_runs_record_one_snapshot_per_week(sync_config, fake_crm, factory, clock) -> None:
    for i in range(5):
        fake_crm.add_contact(f"c{i}", clock.now - dt.timedelta(hours=1), email=f"p{i}@example.com", job_title="Marketing Manager" if i % 2 else "Engineer")
        fake_crm.add_activity(f"a{i}", "page_view", clock.now - dt.timedelta(hours=1), contact_id=f"c{i}")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    clock.advance(hours=1)
    fake_crm.add_activity("a9", "demo_request", clock.now - dt.timedelta(minutes=5), contact_id="c0")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).scored == 1
    clock.advance(days=7)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory, full=True).status == "ok"
    engine = make_engine(sync_config.effective_database_url())
    with engine.connect() as conn:
        snaps = conn.execute(sa.select(score_snapshots).order_by(score_snapshots.c.week)).all()
        values = np.array([s for (s,) in conn.execute(sa.select(scores.c.score).where(scores.c.excluded.is_(None)))])
    engine.dispose()
    assert [s.week for s in snaps] == sorted({week_of(clock.now - dt.timedelta(days=7)), week_of(clock.now)})
    last = snaps[-1]
    assert last.count == 5 and sum(last.histogram["counts"]) == 5
    assert last.mean == pytest.approx(values.mean())
    assert last.p50 == pytest.approx(float(np.median(values)))


@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=60), low=st.sampled_from([0.0, -20.0, 5.0]), span=st.sampled_from([0.0, 1.0, 100.0, 7.3]))
def test_histogram_counts_as_the_definition_says(values: list[float], low: float, span: float) -> None:
    """Bin ``i`` holds the values with ``(v - low) // width == i``; values outside go to the end bins."""
    high = low + span
    got = histogram(values, low, high)
    width = (high - low) / BINS if high > low else 1.0
    expected = [0] * BINS
    for v in values:
        expected[min(max(int((v - low) // width), 0), BINS - 1)] += 1
    assert got.counts == expected and len(got.edges) == BINS + 1
