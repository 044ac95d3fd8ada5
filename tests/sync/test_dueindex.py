"""The scores' due index is set aside on SQLite while a large full rescore rewrites the scores, and always comes back.

What the index is set aside for is speed (``bench/bench_rescore.py``); what is tested here is that
nothing else changes: the same results (the side-by-side test in ``test_rescore_columnar.py`` runs
one store with it set aside), the index present after every run, after an error, and after a run
killed in between, and the due query right without it.
"""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
import sqlalchemy as sa

from connector.sync import dueindex, pipeline
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.store import Store
from tests.fakecrm import FakeAdapter
from tests.sync.conftest import T0, MovableClock
from tests.sync.test_rescore_columnar import _config, _portal


def _present(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return any(i["name"] == "ix_scores_crm_changes_at" for i in sa.inspect(conn).get_indexes("scores"))


def test_set_aside_for_the_block_and_back_after_it_also_after_an_error(database_url: str) -> None:
    engine = open_database(database_url)
    sqlite = engine.dialect.name == "sqlite"
    assert _present(engine)
    large = {"stored_contacts": lambda: dueindex.SET_ASIDE_MIN}
    with dueindex.due_index_set_aside(engine, **large) as aside:
        assert aside is sqlite and _present(engine) is not sqlite  # PostgreSQL keeps it (see the module)
        with dueindex.due_index_set_aside(engine, **large) as again:  # already aside (another run): nothing to do, nothing to restore
            assert not again
        assert _present(engine) is not sqlite
    assert _present(engine)
    with dueindex.due_index_set_aside(engine, stored_contacts=lambda: dueindex.SET_ASIDE_MIN - 1) as small:
        assert not small and _present(engine)
    with pytest.raises(RuntimeError), dueindex.due_index_set_aside(engine, **large):
        raise RuntimeError("the rescore failed")
    assert _present(engine)
    assert not dueindex.restore_due_index(engine)
    engine.dispose()


def test_a_full_rescore_commits_without_it_and_the_next_run_restores_what_a_killed_one_left_out(
    tmp_path: pathlib.Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, database_url)
    engine = open_database(database_url)
    crm = _portal(3, 60)
    clock = MovableClock(T0 + dt.timedelta(days=1))

    def run(full: bool) -> None:
        summary = run_sync(config, "main", full=full, clock=clock, adapter_factory=lambda c, g: FakeAdapter(crm, g, page_size=50, max_batch_size=50), engine=engine)
        assert summary.status == "ok", summary.error

    run(False)
    store = Store(engine, "main")
    due = store.ids_to_score(clock.now + dt.timedelta(days=30), ["b2b-saas"])
    assert due  # decay makes some contacts due within a month

    seen: list[bool] = []
    commit = pipeline._Run._commit
    monkeypatch.setattr(pipeline._Run, "_commit", lambda self, chunk: (seen.append(_present(engine)), commit(self, chunk))[1])
    monkeypatch.setattr(dueindex, "SET_ASIDE_MIN", 1)
    clock.advance(days=1)
    run(True)
    assert seen and seen[-1] is (engine.dialect.name != "sqlite"), seen  # on SQLite the rescore's chunks were committed without it
    assert _present(engine)

    # A run killed while it was set aside: the due query still answers the same (reading the
    # table), and the next run of the CRM builds the index before anything else.
    later = clock.now + dt.timedelta(days=30)
    with_index = store.ids_to_score(later, ["b2b-saas"])
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_scores_crm_changes_at"))
    assert not _present(engine)
    assert store.ids_to_score(later, ["b2b-saas"]) == with_index
    seen.clear()
    run(False)
    assert _present(engine)
    assert all(seen), seen
    engine.dispose()
