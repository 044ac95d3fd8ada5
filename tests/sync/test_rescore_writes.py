"""A rescoring writes only what changed: unchanged scores and already-clear contacts are not rewritten."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.tables import scores
from tests.sync.test_pipeline import _seed


class Writes:
    """Rows changed per table through one engine (INSERT/UPDATE/DELETE row counts)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.rows: dict[str, int] = {}
        sa.event.listen(engine, "after_cursor_execute", self._count)

    def _count(self, conn: t.Any, cursor: t.Any, statement: str, params: t.Any, context: t.Any, many: bool) -> None:
        words = statement.split()
        verb = words[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and (cursor.rowcount or 0) > 0:
            table = words[2] if verb in ("INSERT", "DELETE") else words[1]
            self.rows[table.strip('"')] = self.rows.get(table.strip('"'), 0) + cursor.rowcount


def _scores(engine: sa.Engine) -> dict[str, tuple[t.Any, ...]]:
    with engine.connect() as conn:
        return {cid: (as_of, digest, score) for cid, as_of, digest, score in conn.execute(sa.select(scores.c.contact_id, scores.c.as_of, scores.c.digest, scores.c.score))}


def test_full_rescore_with_nothing_changed_writes_no_score_and_no_contact(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    first = _scores(engine)
    assert len(first) == 3 and all(digest for _, digest, _ in first.values())
    clock.advance(minutes=30)  # no decay step: every score is the same
    writes = Writes(engine)
    summary = run_sync(sync_config, "main", full=True, clock=clock, adapter_factory=factory, engine=engine)
    assert summary.status == "ok" and summary.scored == 3
    assert _scores(engine) == first  # as_of kept: the rows were not written
    assert "scores" not in writes.rows
    assert "contacts" not in writes.rows
    engine.dispose()


def test_full_rescore_rewrites_exactly_the_changed_scores(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    first = _scores(engine)
    clock.advance(days=1)  # c1 and c2 have decaying page views; c3 has only a property rule
    writes = Writes(engine)
    summary = run_sync(sync_config, "main", full=True, clock=clock, adapter_factory=factory, engine=engine)
    assert summary.scored == 3
    after = _scores(engine)
    assert writes.rows.get("scores") == 2
    assert after["c3"] == first["c3"]
    for cid in ("c1", "c2"):
        assert after[cid][0] == clock.now and after[cid][1] != first[cid][1] and after[cid][2] < first[cid][2]
    engine.dispose()


def test_score_row_written_before_the_digest_existed_is_written_once_more(sync_config, fake_crm, factory, clock):
    _seed(fake_crm)
    engine = open_database(sync_config.effective_database_url())
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory, engine=engine)
    with engine.begin() as conn:
        conn.execute(sa.update(scores).where(scores.c.contact_id == "c3").values(digest=None))
    clock.advance(minutes=30)
    writes = Writes(engine)
    run_sync(sync_config, "main", full=True, clock=clock, adapter_factory=factory, engine=engine)
    assert writes.rows.get("scores") == 1
    assert _scores(engine)["c3"][0] == clock.now and _scores(engine)["c3"][1]
    engine.dispose()
