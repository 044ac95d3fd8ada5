"""SQLite's write-ahead log stays bounded under a run's commits, and a reader in it only defers that (connector.sync.db.bound_wal)."""

from __future__ import annotations

import os
import pathlib
import sqlite3
import time

import pytest
import sqlalchemy as sa

from connector.sync import db
from connector.sync.db import open_database
from connector.sync.store import Store
from connector.sync.tables import contacts


def _write(store: Store, start: int, n: int) -> None:
    with store.bulk_transaction() as conn:
        conn.execute(sa.insert(contacts), [{"crm": "hs", "id": f"c{i}", "email": None, "properties": {"x": "y" * 200}, "needs_score": True} for i in range(start, start + n)])


def test_a_commit_past_the_limit_empties_the_log_and_a_reader_only_defers_it(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.db"
    engine = open_database(f"sqlite:///{path}")
    store = Store(engine, "hs")
    wal = pathlib.Path(f"{path}-wal")
    try:
        _write(store, 0, 500)
        assert wal.stat().st_size > 100_000  # under the real limit the log is left alone
        monkeypatch.setattr(db, "WAL_LIMIT", 100_000)

        # A reader in the middle of a read transaction holds the log: the checkpoint waits a second
        # at most, gives up, and the commit still stands.
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM contacts").fetchone() == (500,)
        started = time.monotonic()
        _write(store, 500, 500)
        assert time.monotonic() - started < 10
        assert wal.stat().st_size > 100_000
        reader.rollback()
        reader.close()

        # With the reader gone, the next commit past the limit empties the log, and nothing is lost.
        _write(store, 1000, 10)
        assert os.path.getsize(wal) == 0
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar_one() == 1010
    finally:
        engine.dispose()

