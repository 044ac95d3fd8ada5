"""Sent outbox rows are deleted once no echo reads their contacts again; nothing else is."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from connector.sync.db import open_database
from connector.sync.echo import MARGIN, forget_sent, plan_echo
from connector.sync.tables import outbox, runs

T = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _run(conn: sa.Connection, run_id: int, status: str, *, window_end: dt.datetime | None, echo_run: int | None = None, crm: str = "a") -> None:
    window = {"pushed_from": window_end - dt.timedelta(minutes=10), "pushed_until": window_end, "as_of": window_end - HOUR} if window_end else {}
    conn.execute(sa.insert(runs).values(id=run_id, crm=crm, started_at=T - 10 * HOUR, status=status, echo_run=echo_run, **window))


def _row(conn: sa.Connection, contact: str, status: str, run_id: int | None, crm: str = "a") -> None:
    conn.execute(sa.insert(outbox).values(crm=crm, contact_id=contact, values={"score": 1}, status=status, run_id=run_id, created_at=T))


def test_only_rows_that_are_over_and_whose_echo_is_settled_are_deleted(database_url: str) -> None:
    engine = open_database(database_url)
    checked = T - 3 * HOUR  # the contact cursor, as the next run's pull will start from it
    with engine.begin() as conn:
        _run(conn, 1, "ok", window_end=T - 9 * HOUR)  # window long before the cursor: pulled again since
        _run(conn, 2, "ok", window_end=T - 2 * HOUR)  # window after the cursor: its contacts wait to be read again
        _run(conn, 3, "ok", window_end=T - HOUR - MARGIN / 2)  # the same, ...
        _run(conn, 4, "ok", window_end=None, echo_run=3)  # ... but a finished run read them again
        _run(conn, 5, "failed", window_end=T - HOUR / 2, echo_run=2)  # a failed run's reading does not count
        _run(conn, 6, "running", window_end=T, crm="a")  # the run forgetting
        _run(conn, 7, "ok", window_end=T - 9 * HOUR, crm="b")  # another CRM's
        _row(conn, "over-1", "done", 1)
        _row(conn, "superseded-1", "superseded", 1)
        _row(conn, "pending-1", "pending", 1)
        _row(conn, "sending-1", "sending", 1)
        _row(conn, "quarantined-1", "quarantined", 1)
        _row(conn, "wait-2", "done", 2)
        _row(conn, "wait-2b", "superseded", 2)
        _row(conn, "read-3", "done", 3)
        _row(conn, "nowindow-4", "done", 4)
        _row(conn, "unknown-run", "done", None)
        _row(conn, "mine-6", "done", 6)
        _row(conn, "other-crm", "done", 7, crm="b")
        assert forget_sent(conn, "a", 6, checked, limit=3) == 3  # a slice at a time
        assert forget_sent(conn, "a", 6, checked, limit=3) == 2
        assert forget_sent(conn, "a", 6, checked, limit=3) == 0
    with engine.connect() as conn:
        left = set(conn.execute(sa.select(outbox.c.contact_id)).scalars())
        # What the next run's echo reads: unchanged by the deletion.
        plan = plan_echo(conn, "a", checked - HOUR, checked, T, "scored_at")
    engine.dispose()
    assert left == {"pending-1", "sending-1", "quarantined-1", "wait-2", "wait-2b", "mine-6", "other-crm"}
    assert plan is not None and plan.run_id == 6 and plan.ids == ["mine-6"]


def test_without_a_contact_cursor_only_rows_read_again_are_deleted(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.begin() as conn:
        _run(conn, 1, "ok", window_end=T - 9 * HOUR)
        _run(conn, 2, "partial", window_end=T - 8 * HOUR, echo_run=1)
        _row(conn, "read-1", "done", 1)
        _row(conn, "wait-2", "done", 2)
        assert forget_sent(conn, "a", None, None, limit=10) == 1
        assert set(conn.execute(sa.select(outbox.c.contact_id)).scalars()) == {"wait-2"}
    engine.dispose()


def test_a_full_rescore_deletes_the_rows_no_echo_needs(sync_config, fake_crm, factory, clock) -> None:
    """End to end: a run's pusher deletes the first run's rows once a later run has read its contacts again."""
    from connector.sync.pipeline import run_sync
    from tests.sync.test_outbox import _seed

    _seed(fake_crm, 6)
    engine = open_database(sync_config.effective_database_url())
    first = run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    assert first.status == "ok" and first.written == 6
    for _ in range(2):  # the second run reads the first one's contacts again; the third may forget its rows
        clock.advance(days=1)
        assert run_sync(sync_config, "main", full=True, clock=clock, adapter_factory=factory, engine=engine).status == "ok"
    with engine.connect() as conn:
        kept = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.run_id == first.run_id)).scalar_one()
    engine.dispose()
    assert kept == 0
