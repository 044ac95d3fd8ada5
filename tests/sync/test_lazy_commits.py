"""The sync run's bulk commits on PostgreSQL do not wait for the disk; a server restart keeps the cursor back."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from connector.scoring.records import Contact
from connector.sync import store as store_module
from connector.sync.db import open_database
from connector.sync.store import Store

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _setting(conn: sa.Connection) -> str | None:
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())


def test_only_the_runs_bulk_transactions_commit_lazily(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.connect() as conn:
        server = _setting(conn)
    lazy, plain = Store(engine, "hs", lazy_commits=True), Store(engine, "hs")
    with lazy.bulk_transaction() as conn:
        assert _setting(conn) == (None if server is None else "off")
    with lazy.transaction() as conn:  # ordinary transactions (claims, cursors, runs) keep the server's setting
        assert _setting(conn) == server
    with engine.connect() as conn:  # SET LOCAL: the pooled connection is back to the server's setting
        assert _setting(conn) == server
    with plain.bulk_transaction() as conn:  # a store that did not ask for it (the event server's)
        assert _setting(conn) == server
    engine.dispose()


def test_a_server_restart_during_the_run_keeps_the_cursor_where_it_was(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_database(database_url)
    store = Store(engine, "hs", lazy_commits=True)
    store.check_in_cursor("contacts", T, T)
    store.save_contacts([Contact(id="c1", email="a@example.com", properties={}, updated_at=T + dt.timedelta(minutes=1))], T)
    if engine.dialect.name != "postgresql":
        store.check_in_cursor("contacts", T + dt.timedelta(minutes=1), T)  # SQLite: nothing to guard (no lazy commit)
        assert store.cursor_state()["contacts"]["value"] == (T + dt.timedelta(minutes=1)).isoformat()
        engine.dispose()
        return
    store.check_in_cursor("contacts", T + dt.timedelta(minutes=1), T)  # same server: moves
    monkeypatch.setattr(store_module, "_server_started", lambda conn: T)  # as if it restarted since the first lazy commit
    with pytest.raises(RuntimeError, match="server restarted during this run"):
        store.check_in_cursor("contacts", T + dt.timedelta(minutes=2), T)
    assert store.cursor_state()["contacts"]["value"] == (T + dt.timedelta(minutes=1)).isoformat()
    engine.dispose()
