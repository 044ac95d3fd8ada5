"""Outcomes through the pipeline: pulled once the contact search is over, stored after the writes, once per contact/kind/record, cursor kept."""

from __future__ import annotations

import datetime as dt
import threading
import typing as t

import sqlalchemy as sa

from connector.adapters.base import CRMError, Echo, FieldUpdate, Outcome, Page, PushResult
from connector.scoring.records import Contact
from connector.sync.db import make_engine
from connector.sync.outcomes import converted_contacts
from connector.sync.pipeline import run_sync
from connector.sync.tables import cursors, outcomes
from tests.fakecrm import FakeAdapter, FakeCRM


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


class _Watched(FakeAdapter):
    """A fake adapter that notes when the outcome pull starts, and whether each push came after it."""

    def __init__(self, crm: FakeCRM, gate: t.Any, started: threading.Event, pushes: list[bool], fail_contacts: bool) -> None:
        super().__init__(crm, gate)
        self.started, self.pushes, self.fail_contacts = started, pushes, fail_contacts

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime, echo: Echo | None = None) -> t.Iterator[Page[Contact]]:
        pages = super().pull_contacts(since, until, echo)
        if not self.fail_contacts:
            return pages

        def failing() -> t.Iterator[Page[Contact]]:
            yield next(iter(pages))
            raise CRMError("the CRM went away in the middle of the contact pull")

        return failing()

    def pull_outcomes(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
        self.started.set()
        return super().pull_outcomes(since, until)

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        # Waits (a while, once) for the outcome pull: it must not wait for the push to end.
        self.pushes.append(self.started.wait(timeout=10 if all(self.pushes) else 0))
        return super().push(updates)


def _watched_factory(fake_crm: FakeCRM, *, fail_contacts: bool = False) -> tuple[t.Callable[..., FakeAdapter], threading.Event, list[bool]]:
    started, pushes = threading.Event(), []

    def build(crm: t.Any, gate: t.Any) -> FakeAdapter:
        return _Watched(fake_crm, gate, started, pushes, fail_contacts)

    return build, started, pushes


def test_the_outcome_pull_starts_when_the_contact_search_is_over_not_after_the_push(sync_config, fake_crm, clock) -> None:
    """The outcome pull spends the search budget the contact search no longer uses, while the run still scores and pushes."""
    url = sync_config.effective_database_url()
    won = clock.now - dt.timedelta(days=3)
    for n in range(7):
        fake_crm.add_contact(f"c{n}", clock.now - dt.timedelta(days=9), email=f"p{n}@example.com")
    fake_crm.add_outcome("c1", "customer", won)
    factory, _, pushes = _watched_factory(fake_crm)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    assert pushes and all(pushes), "a push went out before the outcome pull had started (it waited for the push)"
    assert _rows(url) == [("c1", "customer", "c1", won, None)]  # stored all the same, cursor checked in
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(cursors.c.value).where(cursors.c.stream == "outcomes")).scalar_one() == clock.now
    engine.dispose()


def test_no_outcome_pull_when_the_contact_pull_fails(sync_config, fake_crm, clock) -> None:
    url = sync_config.effective_database_url()
    for n in range(7):
        fake_crm.add_contact(f"c{n}", clock.now - dt.timedelta(days=9), email=f"p{n}@example.com")
    fake_crm.add_outcome("c1", "customer", clock.now - dt.timedelta(days=3))
    factory, started, _ = _watched_factory(fake_crm, fail_contacts=True)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "failed" and "went away" in (summary.error or "")
    assert not started.is_set()
    assert _rows(url) == []
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(cursors.c.value).where(cursors.c.stream == "outcomes")).first() is None
    engine.dispose()
