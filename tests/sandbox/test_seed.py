"""Demo portal generation: deterministic for a seed, realistic fields, activity present."""

from __future__ import annotations

from connector.sandbox.hubspot import SandboxClock, Store
from connector.sandbox.hubspot.seed import contact_rows, load_demo


def test_rows_are_deterministic_and_emails_unique() -> None:
    assert contact_rows(50, seed=3) == contact_rows(50, seed=3)
    assert contact_rows(50, seed=3) != contact_rows(50, seed=4)
    rows = contact_rows(2000, seed=1)
    assert len({r["email"] for r in rows}) == 2000
    assert {"jobtitle", "industry", "numemployees", "country", "lifecyclestage"} <= set(rows[0])


def test_demo_portal_has_months_of_activity() -> None:
    def build() -> Store:
        store = Store(SandboxClock(frozen_ms=1_700_000_000_000))
        load_demo(store, contacts=300, seed=5)
        return store

    one, two = build(), build()
    assert [e.to_json() for e in one.web_events[:50]] == [e.to_json() for e in two.web_events[:50]]
    summary = one.summary()
    assert summary["objects"]["contacts"] == 300 and summary["owners"] == 4
    assert summary["objects"]["meetings"] > 0 and summary["objects"]["calls"] > 0 and summary["objects"]["emails"] > 0
    urls = {e.properties.get("hs_url", "") for e in one.web_events}
    assert any(u.endswith("/pricing") for u in urls) and any(u.endswith("/careers") for u in urls)
    assert {e.type for e in one.email_events} >= {"SENT", "OPEN", "CLICK"}
    assert {e.event_type for e in one.web_events} == {"e_visited_page", "e_submitted_form"}
    span = max(e.occurred_ms for e in one.web_events) - min(e.occurred_ms for e in one.web_events)
    assert span > 90 * 86_400_000
