"""Demo portal generation: deterministic for a seed, realistic fields, activity present."""

from __future__ import annotations

from connector.sandbox.hubspot import SandboxClock, Store, parse_time_ms
from connector.sandbox.hubspot.seed import UNASSIGNED_EMAIL, contact_rows, load_demo


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


def _demo(contacts: int = 400, seed: int = 11) -> Store:
    store = Store(SandboxClock(frozen_ms=1_767_225_600_000))
    load_demo(store, contacts=contacts, seed=seed)
    return store


def test_nothing_in_the_demo_portal_is_dated_after_its_now() -> None:
    store = _demo()
    now = store.clock.now_ms()
    assert max(e.occurred_ms for e in store.web_events) <= now
    assert max(e.created_ms for e in store.email_events) <= now, "opens and clicks of recent sends must not lie in the future"
    assert max(e.occurred_ms for events in store.anonymous_events.values() for e in events) <= now
    for kind in ("meetings", "calls", "emails", "contacts"):
        for record in store.objects(kind).records.values():
            stamps = [record.created_ms, record.updated_ms] + [parse_time_ms(record.properties[p]) for p in
                                                                ("hs_timestamp", "hs_meeting_end_time") if p in record.properties]
            assert max(stamps) <= now, (kind, record.id)


def test_every_demo_contact_has_an_owner_but_the_one_broken_on_purpose() -> None:
    store = _demo()
    ownerless = [r.properties["email"] for r in store.objects("contacts").records.values() if "hubspot_owner_id" not in r.properties]
    assert ownerless == [UNASSIGNED_EMAIL]
    assert {r.properties.get("hubspot_owner_id") for r in store.objects("contacts").records.values()} - {None} <= set(store.owners)


def test_demo_portal_realism_free_text_industry_late_and_contactless_engagements_anonymous_visitors() -> None:
    store = _demo()
    industry = store.catalog.get("contacts", "industry")
    assert industry is not None and (industry.type, industry.field_type, industry.options) == ("string", "text", [])
    values = {r.properties.get("industry") for r in store.objects("contacts").records.values()}
    assert {"Software", "SaaS", "Computer Software", None} <= values and not any(v and v.isupper() for v in values)
    for kind in ("calls", "meetings"):
        records = list(store.objects(kind).records.values())
        assert any(not store.associated(kind, r.id, "contacts") for r in records), f"some {kind} have no contact"
        late = [r for r in records if r.created_ms - parse_time_ms(r.properties["hs_timestamp"]) >= 86_400_000]
        assert late, f"some {kind} are logged a day or more after they happened"
    assert store.anonymous_events and all(e.object_id == "" for events in store.anonymous_events.values() for e in events)
