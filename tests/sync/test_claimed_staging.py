"""Rows a run stages while its pusher runs are claimed by the scoring's transaction: read, not claimed again.

Why it matters: claiming each staged row (an update per contact) was a tenth of a million-contact
rescore's CPU. What must still hold: each row is sent once per run, a halt or a crash leaves
nothing behind for good, a row staged behind one in flight can take that row's values if it fails,
and a contact never has two pending rows.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connector.sync.db import open_database
from connector.sync.outbox import SENDING, release_unsent, stage_changes
from connector.sync.pipeline import run_sync
from connector.sync.push import Pusher
from connector.sync.tables import outbox
from tests.fakecrm import FakeAdapter
from tests.sync.test_outbox import _rows, _seed  # the same portal and query helper as the outbox's tests


def test_a_runs_rows_are_staged_claimed_and_pushed_without_a_claim(sync_config, fake_crm, factory, clock):
    _seed(fake_crm, 6)
    engine = open_database(sync_config.effective_database_url())
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    assert summary.status == "ok" and summary.written == 6
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO OUTBOX")]
    claims = [s for s in statements if s.lstrip().upper().startswith("UPDATE OUTBOX") and "RETURNING" in s.upper()]
    assert inserts and not claims  # staged sending; the pusher read them and claimed nothing
    with engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all() == [("done", 6)]
    engine.dispose()


def test_a_failed_row_of_the_run_is_not_claimed_again_in_the_same_run(sync_config, fake_crm, factory, clock, monkeypatch):
    _seed(fake_crm, 6)
    fake_crm.refuse["c1"] = ("busy", True)
    tried: list[str] = []
    original = FakeAdapter.push

    def counting(self, updates):
        tried.extend(u.contact_id for u in updates)
        return original(self, updates)

    monkeypatch.setattr(FakeAdapter, "push", counting)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert (summary.written, summary.failed) == (5, 1)
    assert tried.count("c1") == 1
    assert _rows(sync_config, "SELECT status, attempts FROM outbox WHERE contact_id = 'c1'") == [("pending", 1)]


def test_rows_a_dead_run_staged_claimed_are_sent_by_the_next(sync_config, fake_crm, factory, clock, monkeypatch):
    """The run dies after staging claimed rows and before its pusher read them: the next run releases and sends them."""

    class Crash(BaseException):
        pass

    def dead(self, *, flush):
        raise Crash

    _seed(fake_crm, 5)
    with monkeypatch.context() as m:
        m.setattr(Pusher, "_own", lambda self, *, only_full: None)  # never read them
        m.setattr(Pusher, "finish", dead)
        with pytest.raises(Crash):
            run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert _rows(sync_config, "SELECT status, COUNT(*) FROM outbox GROUP BY status") == [(SENDING, 5)]
    assert not fake_crm.fields
    second = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert second.status == "ok" and second.written == 5
    assert set(fake_crm.fields) == {f"c{i}" for i in range(5)}
    assert _rows(sync_config, "SELECT status, COUNT(*) FROM outbox GROUP BY status") == [("done", 5)]


def test_a_row_staged_behind_one_in_flight_stays_pending(sync_config, clock):
    engine = open_database(sync_config.effective_database_url())
    with engine.begin() as conn:
        stage_changes(conn, "main", {"c0": {"score": 1}, "c1": {"score": 1}}, clock.now, 7, claimed=True)
        assert {cid: status for cid, status in conn.execute(sa.select(outbox.c.contact_id, outbox.c.status))} == {"c0": SENDING, "c1": SENDING}
        stage_changes(conn, "main", {"c0": {"score": 2}, "c2": {"score": 2}}, clock.now, 7, claimed=True)
        rows = conn.execute(sa.select(outbox.c.contact_id, outbox.c.status).order_by(outbox.c.id)).all()
    assert [tuple(r) for r in rows] == [("c0", SENDING), ("c1", SENDING), ("c2", SENDING), ("c0", "pending")]
    engine.dispose()


def test_release_keeps_one_pending_row_per_contact_with_every_value_newest_winning(sync_config, clock):
    engine = open_database(sync_config.effective_database_url())
    with engine.begin() as conn:
        stage_changes(conn, "main", {"c0": {"score": 1, "grade": "C"}, "c1": {"score": 5}, "c2": {"score": 7, "grade": "A"}}, clock.now, 7, claimed=True)
        # Staged again by later runs while the first rows are still sending: rows behind them
        # (pending), then claimed as well; c0 has a pending row behind both, c2 only two in flight.
        stage_changes(conn, "main", {"c0": {"score": 2, "stage": "MQL"}, "c2": {"score": 8}}, clock.now, 8, claimed=True)
        conn.execute(sa.update(outbox).where(outbox.c.status == "pending").values(status=SENDING))
        stage_changes(conn, "main", {"c0": {"score": 3}}, clock.now, 9, claimed=True)
        assert release_unsent(conn, "main", run_id=9) == 0  # that run's rows only: none in flight
        assert release_unsent(conn, "main") == 5
        rows = conn.execute(sa.select(outbox.c.contact_id, outbox.c.status, outbox.c["values"]).order_by(outbox.c.id)).all()
    pending = [(cid, values) for cid, status, values in rows if status == "pending"]
    assert sorted(pending) == [("c0", {"score": 3, "grade": "C", "stage": "MQL"}), ("c1", {"score": 5}), ("c2", {"score": 8, "grade": "A"})]
    assert [status for cid, status, _ in rows if cid == "c0"] == ["superseded", "superseded", "pending"]
    assert [status for cid, status, _ in rows if cid == "c2"] == ["superseded", "pending"]
    engine.dispose()


def test_rows_the_pusher_did_not_get_to_are_pending_again_at_the_end_of_its_run(sync_config, fake_crm, factory, clock, monkeypatch):
    _seed(fake_crm, 4)
    monkeypatch.setattr(Pusher, "_own", lambda self, *, only_full: None)  # as if stopped before reading them
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.written == 0
    assert _rows(sync_config, "SELECT status, attempts, COUNT(*) FROM outbox GROUP BY status, attempts") == [("pending", 0, 4)]


def test_staging_claimed_returns_each_rows_text_and_values(sync_config, clock):
    engine = open_database(sync_config.effective_database_url())
    with engine.begin() as conn:
        staged = stage_changes(conn, "main", {"c0": {"score": 1.5, "grade": "B"}, "c1": {"score": 2}}, clock.now, 7, claimed=True)
        stored = {cid: text for cid, text in conn.execute(sa.select(outbox.c.contact_id, sa.cast(outbox.c["values"], sa.Text)))}
    assert staged.changed == 2
    assert staged.claimed == {"c0": (stored["c0"], {"score": 1.5, "grade": "B"}), "c1": (stored["c1"], {"score": 2})}
    engine.dispose()


def test_the_pusher_takes_kept_values_only_for_the_very_text_it_read(sync_config, fake_crm, factory, clock):
    from connector.sync import push
    from connector.sync.store import Store

    engine = open_database(sync_config.effective_database_url())
    pusher = Pusher(Store(engine, "main"), factory(None, None), batch_size=10, max_attempts=3, clock=clock, run_id=7)
    pusher.known({"c0": ('{"score": 1}', {"score": "kept"}), "c1": ('{"score": 1}', {"score": "kept"})})
    assert pusher._values("c0", '{"score": 1}') == {"score": "kept"}
    assert pusher._values("c1", '{"score": 2}') == {"score": 2}  # another text: decoded
    assert pusher._values("c0", '{"score": 1}') == {"score": 1}  # taken once
    pusher.known({f"x{i}": ("{}", {}) for i in range(push.KNOWN + 5)})
    pusher.known({"late": ("{}", {})})
    assert len(pusher._known) == push.KNOWN + 5 and "late" not in pusher._known  # no more once full
    engine.dispose()
