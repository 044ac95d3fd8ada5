"""Alembic: head matches the tables, and upgrading a first-revision database keeps its state."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from connector.sync.db import current_revision, make_engine, open_database, upgrade_to
from connector.sync.tables import metadata

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_head_schema_matches_the_tables(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []
    assert current_revision(engine) == "0011"
    engine.dispose()


def test_upgrade_from_the_first_revision_keeps_state(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_to(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO contacts (crm, id, email, properties, needs_score) VALUES ('hs', 'c1', 'a@b.c', '{\"x\": 1}', false)"))
        conn.execute(sa.text("INSERT INTO cursors (crm, stream, value) VALUES ('hs', 'contacts', :v)"), {"v": T.replace(tzinfo=None)})
        conn.execute(sa.text('''INSERT INTO runs (crm, started_at, status, "full", pulled_contacts, pulled_activities, rejected, scored, changed, written, failed, quarantined, actions, api_calls, retries, rate_limited) VALUES ('hs', :t, 'ok', false, 5, 0, 0, 5, 5, 5, 0, 0, 0, 7, 0, 0)'''), {"t": T.replace(tzinfo=None)})
    engine.dispose()

    engine = open_database(database_url)  # what every start does
    assert current_revision(engine) == "0011"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT email FROM contacts WHERE id = 'c1'")).scalar_one() == "a@b.c"
        assert conn.execute(sa.text("SELECT pulled_contacts, owner FROM runs")).one() == (5, None)
        assert conn.execute(sa.text("SELECT COUNT(*) FROM cursors")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT COUNT(*) FROM leases")).scalar_one() == 0
    engine.dispose()


def test_upgrading_twice_is_harmless(database_url: str) -> None:
    open_database(database_url).dispose()
    engine = open_database(database_url)
    assert current_revision(engine) == "0011"
    engine.dispose()
