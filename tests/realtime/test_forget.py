"""``connector forget`` and HubSpot privacy deletions: afterwards no row of any table mentions the person.

The check scans every table the database has (not a list kept here), so a table added later by
any part of the connector is covered: a person-bearing table that ``forget`` misses fails this test.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.adapters.base import Reject
from connector.cli import app
from connector.sync.config import load_config
from connector.sync.db import open_database
from connector.sync.events import EventQueue, NewEvent
from connector.sync.pipeline import run_sync
from connector.sync.realtime import RealtimeWorker
from connector.sync.store import Store
from connector.sync.tables import contacts, identities
from tests.fakecrm import T0, FakeAdapter, FakeCRM
from tests.sync.conftest import write_config

ID = "c-7f3q"
EMAIL = "forget.me@example.com"
COOKIE = "cookie-9x8y7z"


def _seed(crm: FakeCRM) -> None:
    crm.add_contact(ID, T0, email="Forget.Me@Example.com", job_title="Marketing Manager")
    crm.add_contact("keep", T0, email="keep@example.com", job_title=f"Marketing {ID[:1]}")
    crm.add_activity("a1", "demo_request", T0, contact_id=ID)
    crm.add_activity("a2", "page_view", T0, anonymous_id=f"email:{EMAIL}")
    crm.add_activity("a3", "page_view", T0, anonymous_id=COOKIE)
    crm.add_activity("a4", "demo_request", T0, contact_id="keep")
    crm.rejects.append(Reject("activities", "bad-1", "unreadable", {"recipient": EMAIL, "type": "OPEN"}))


def _mentions(engine: sa.Engine) -> list[str]:
    """Every cell of every table that names the person: equal to the id, or containing the e-mail or an anonymous id.

    Sorted: PostgreSQL lists tables, and rows without ORDER BY, in no fixed order.
    """
    found = []
    with engine.connect() as conn:
        for name in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')).mappings():
                for column, value in row.items():
                    text = str(value).lower()
                    if value == ID or EMAIL in text or COOKIE in text or f'"{ID}"' in text:
                        found.append(f"{name}.{column}")
    return sorted(found)


@pytest.fixture
def state(tmp_path, database_url, monkeypatch) -> t.Iterator[tuple[t.Any, FakeCRM, sa.Engine]]:
    crm = FakeCRM()
    _seed(crm)
    path = write_config(tmp_path, database_url)
    monkeypatch.setenv("CONNECTOR_CONFIG", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config(path)
    engine = open_database(config.effective_database_url())
    clock = lambda: T0 + dt.timedelta(days=1)  # noqa: E731
    factory = lambda c, gate: FakeAdapter(crm, gate)  # noqa: E731
    with engine.begin() as conn:
        conn.execute(sa.insert(identities).values(crm="main", anonymous_id=COOKIE, contact_id=ID))
    summary = run_sync(config, "main", clock=clock, adapter_factory=factory, engine=engine)
    assert summary.status in ("ok", "partial"), summary.error
    queue = EventQueue(engine, "main")
    queue.accept("api", [NewEvent("e1", "identify", ID, clock(), {"anonymous_id": COOKIE, "email": EMAIL})], clock())
    Store(engine, "main").add_quarantine("outbox", ID, "refused", {"email": EMAIL}, clock(), None)
    before = {m.split(".")[0] for m in _mentions(engine)}  # the person is all over the store
    assert {"contacts", "activities", "identities", "scores", "written_values", "outbox", "quarantine", "trigger_firings", "trigger_actions", "stage_history", "realtime_events"} <= before, before
    yield config, crm, engine
    engine.dispose()


def _kept(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.select(contacts.c.email).where(contacts.c.id == "keep")).scalar_one() == "keep@example.com"
    loaded = Store(engine, "main").load_for_scoring(["keep"])
    assert [a.id for a in loaded.activities["keep"]] == ["a4"]


def test_forget_by_email_from_the_cli(state) -> None:
    _, _, engine = state
    result = CliRunner().invoke(app, ["forget", EMAIL.upper()])
    assert result.exit_code == 0, result.output
    assert "forgot 1 contact(s)" in result.output
    assert _mentions(engine) == []
    _kept(engine)


def test_hubspot_privacy_deletion_forgets_by_id(state) -> None:
    config, crm, engine = state
    EventQueue(engine, "main").accept("webhook", [NewEvent("p1", "privacy_deleted", ID, T0 + dt.timedelta(days=1))], T0 + dt.timedelta(days=1))
    worker = RealtimeWorker(config, "main", engine=engine, factory=lambda c, gate: FakeAdapter(crm, gate), clock=lambda: T0 + dt.timedelta(days=1))
    batch = worker.run_once()
    assert batch is not None and batch.summary.status == "ok", batch.summary.error
    assert _mentions(engine) == []
    _kept(engine)


def test_forget_someone_unknown_changes_nothing(state) -> None:
    _, _, engine = state
    before = _mentions(engine)
    result = CliRunner().invoke(app, ["forget", "nobody@example.com"])
    assert result.exit_code == 0 and "forgot 0 contact(s)" in result.output
    assert _mentions(engine) == before
