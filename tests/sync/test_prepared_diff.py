"""The full rescore's changes compared where it scores (``diff_written``), staged where it commits.

The scoring worker compares a chunk when the run is the slower side (``compare_here``); the
commit compares whatever comes without.

What must hold: the prepared changes are the very ones the commit would have found, and a contact
whose outbox row appeared (pending or in flight) after they were prepared is compared again.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from connector.sync.db import open_database
from connector.sync.outbox import SENDING, diff_written, record_written, stage_changes
from connector.sync.tables import outbox
from connector.sync.write_policy import OutputPolicy

AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(days=1)

WRITTEN = {
    "same": {"score": 30, "grade": "B", "scored_at": "2026-03-01T00:00:00+00:00"},
    "moved": {"score": 30, "grade": "B", "scored_at": "2026-03-01T00:00:00+00:00"},
    "small": {"score": 30, "grade": "B", "scored_at": "2026-03-01T00:00:00+00:00"},
    "only_stamp": {"score": 30, "grade": "B", "scored_at": "2026-03-01T00:00:00+00:00"},
}
DESIRED = {
    "same": {"score": 30.0, "grade": "B", "scored_at": "2026-03-01T00:00:00+00:00"},
    "moved": {"score": 41.0, "grade": "A", "scored_at": "2026-03-02T00:00:00+00:00"},
    "small": {"score": 30.5, "grade": "B", "scored_at": "2026-03-02T00:00:00+00:00"},  # held back by the policy
    "only_stamp": {"score": 30, "grade": "B", "scored_at": "2026-03-02T00:00:00+00:00"},  # a companion alone
    "new": {"score": 5.0, "grade": "D", "scored_at": "2026-03-02T00:00:00+00:00"},  # never written
}
POLICY = {"score": OutputPolicy(min_change=1)}
COMPANIONS = {"scored_at"}


def _store(database_url: str) -> sa.Engine:
    engine = open_database(database_url)
    with engine.begin() as conn:
        record_written(conn, "hs", WRITTEN, AT)
    return engine


def test_prepared_changes_are_those_the_commit_would_stage(database_url):
    engine = _store(database_url)
    with engine.connect() as conn:
        prepared = diff_written(conn, "hs", DESIRED, companions=COMPANIONS, policy=POLICY)
    assert {cid: diff for cid, (_, diff) in prepared.items()} == {
        "same": {}, "moved": {"score": 41.0, "grade": "A", "scored_at": "2026-03-02T00:00:00+00:00"}, "small": {}, "only_stamp": {}, "new": DESIRED["new"],
    }  # fmt: skip
    assert all((text is None) == (not diff) for text, diff in prepared.values())
    with engine.begin() as conn:
        compared = stage_changes(conn, "hs", DESIRED, LATER, 1, companions=COMPANIONS, policy=POLICY, claimed=True)
        conn.execute(sa.delete(outbox))
        taken = stage_changes(conn, "hs", DESIRED, LATER, 1, companions=COMPANIONS, policy=POLICY, claimed=True, prepared=prepared)
    assert taken == compared and taken.changed == 2
    engine.dispose()


def test_a_contact_with_a_row_pending_or_in_flight_is_not_prepared(database_url):
    engine = _store(database_url)
    with engine.begin() as conn:
        stage_changes(conn, "hs", {"moved": {"score": 35}}, AT, 1)  # pending
        stage_changes(conn, "hs", {"small": {"score": 50}}, AT, 1, claimed=True)  # in flight
        prepared = diff_written(conn, "hs", DESIRED, companions=COMPANIONS, policy=POLICY)
    assert set(prepared) == {"same", "only_stamp", "new"}
    engine.dispose()


def test_a_row_that_appeared_after_the_changes_were_prepared_makes_the_commit_compare_again(database_url):
    engine = _store(database_url)
    wanted = {"moved": DESIRED["moved"]}
    with engine.connect() as conn:
        prepared = diff_written(conn, "hs", wanted, companions=COMPANIONS, policy=POLICY)
    assert prepared["moved"][1]["score"] == 41.0
    with engine.begin() as conn:
        # Meanwhile a row carrying the same values went out: what the CRM will hold already.
        stage_changes(conn, "hs", wanted, AT, 1, claimed=True)
        assert conn.execute(sa.select(outbox.c.status)).scalars().all() == [SENDING]
        staged = stage_changes(conn, "hs", wanted, LATER, 2, companions=COMPANIONS, policy=POLICY, claimed=True, prepared=prepared)
    assert staged.changed == 0  # the stale prepared change would have been staged again
    engine.dispose()


def test_the_worker_compares_a_chunk_only_when_no_request_of_the_run_is_waiting() -> None:
    """On SQLite, a request already waiting: the run waits for the worker, which leaves the comparison to the commit; on PostgreSQL the commit compares."""
    import multiprocessing as mp

    from connector.sync.score_worker import compare_here

    worker_end, run_end = mp.Pipe(duplex=True)
    try:
        assert compare_here(worker_end, "sqlite")  # the run is busy committing: compare here
        assert not compare_here(worker_end, "postgresql")  # there the commit always compares (measured)
        run_end.send("next-rescored")
        assert not compare_here(worker_end, "sqlite")  # the run asked again before the answer: leave it to the commit
        assert compare_here(worker_end, "sqlite") is False  # polling takes nothing from the pipe
        assert worker_end.recv() == "next-rescored"
        assert compare_here(worker_end, "sqlite")
    finally:
        worker_end.close()
        run_end.close()
