"""Outcomes through the pipeline: pulled after the writes, stored once per contact/kind/record, cursor kept."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from connector.sync.db import make_engine
from connector.sync.outcomes import converted_contacts
from connector.sync.pipeline import run_sync
from connector.sync.tables import cursors, outcomes


def _rows(url: str) -> list[tuple[str, str, str, dt.datetime | None, float | None]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(outcomes.c.contact_id, outcomes.c.kind, outcomes.c.source_id, outcomes.c.occurred_at, outcomes.c.amount).order_by(outcomes.c.contact_id, outcomes.c.kind))]
    engine.dispose()
    return rows  # type: ignore[return-value]


def test_outcomes_are_pulled_stored_and_never_doubled(sync_config, fake_crm, factory, clock) -> None:
    url = sync_config.effective_database_url()
    won = clock.now - dt.timedelta(days=3)
    fake_crm.add_contact("c1", clock.now - dt.timedelta(days=9), email="a@example.com")
    fake_crm.add_contact("c2", clock.now - dt.timedelta(days=9), email="b@example.com")
    fake_crm.add_outcome("c1", "customer", won)
    fake_crm.add_outcome("c1", "closed_won", won, source_id="d7", amount=900.0)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    assert _rows(url) == [("c1", "closed_won", "d7", won, 900.0), ("c1", "customer", "c1", won, None)]
    clock.advance(hours=1)
    fake_crm.add_outcome("c2", "closed_won", clock.now - dt.timedelta(minutes=5), source_id="d8")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory, resync=True).status == "ok"  # everything pulled again
    rows = _rows(url)
    assert len(rows) == 3 and [r[0] for r in rows] == ["c1", "c1", "c2"]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(cursors.c.value).where(cursors.c.stream == "outcomes")).scalar_one() == clock.now
        assert converted_contacts(conn, "main") == {"c1": won, "c2": clock.now - dt.timedelta(minutes=5)}
        assert converted_contacts(conn, "main", ["customer"]) == {"c1": won}
    engine.dispose()
