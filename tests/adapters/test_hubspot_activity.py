"""Activity pull: web events, email events (anonymous by email), engagements with their contacts."""

from __future__ import annotations

from connector.adapters.hubspot import HubSpotAdapter
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.records import Activity
from tests.adapters.conftest import T0, at


def _all(adapter: HubSpotAdapter, since_ms: int | None, until_ms: int) -> list[Activity]:
    pages = list(adapter.pull_activities(at(since_ms) if since_ms is not None else None, at(until_ms)))
    assert pages[-1].cursor == at(until_ms)
    assert all(p.rejects == [] for p in pages)
    return [a for p in pages for a in p.records]


def test_web_events_are_mapped_with_attributes_and_window_edges(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    # The form is submitted by another contact: one that submits a form has its earlier events read too.
    cid, other = sandbox.store.add_contacts([{"email": "a@x.io"}, {"email": "b@x.io"}])
    sandbox.store.add_events(
        [
            {"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0 - 10, "properties": {"hs_url": "https://x.io/old"}},
            {"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0, "properties": {"hs_url": "https://x.io/edge-excluded"}},
            {"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0 + 5, "properties": {"hs_url": "https://x.io/pricing", "hs_title": "Pricing"}},
            {"objectId": other, "eventType": "e_submitted_form", "occurredAt": T0 + 9, "properties": {"hs_form_id": "f-1"}},
            {"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0 + 10, "properties": {"hs_url": "https://x.io/edge-included"}},
            {"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0 + 11, "properties": {"hs_url": "https://x.io/later"}},
        ]
    )
    acts = sorted(_all(adapter, T0, T0 + 10), key=lambda a: a.occurred_at)
    assert [(a.type, a.occurred_at) for a in acts] == [("page_view", at(T0 + 5)), ("form_submit", at(T0 + 9)), ("page_view", at(T0 + 10))]
    assert acts[0].attributes["url"] == "https://x.io/pricing" and acts[0].attributes["title"] == "Pricing"
    assert acts[1].attributes["form_id"] == "f-1"
    assert [a.contact_id for a in acts] == [cid, other, cid] and all(a.id.startswith("hs-event:") for a in acts)
    # ids are stable across pulls
    assert [a.id for a in sorted(_all(adapter, T0, T0 + 10), key=lambda a: a.occurred_at)] == [a.id for a in acts]


def test_email_events_carry_the_lowercased_address_as_anonymous_id(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    sandbox.store.add_email_events(
        [
            {"recipient": "Ann.Lee@Example.COM", "type": "SENT", "created": T0 + 1},
            {"recipient": "ann.lee@example.com", "type": "OPEN", "created": T0 + 2},
            {"recipient": "ann.lee@example.com", "type": "CLICK", "created": T0 + 3, "url": "https://x.io/pricing"},
            {"recipient": "ann.lee@example.com", "type": "DELIVERED", "created": T0 + 4},
            {"recipient": "ann.lee@example.com", "type": "STATUSCHANGE", "created": T0 + 5, "subscriptions": [{"id": 1, "status": "SUBSCRIBED"}]},
            {"recipient": "ann.lee@example.com", "type": "STATUSCHANGE", "created": T0 + 6, "subscriptions": [{"id": 1, "status": "UNSUBSCRIBED"}]},
        ]
    )
    acts = sorted(_all(adapter, T0, T0 + 10), key=lambda a: a.occurred_at)
    assert [a.type for a in acts] == ["email_sent", "email_open", "email_click", "unsubscribe"]
    assert {a.anonymous_id for a in acts} == {"email:ann.lee@example.com"} and all(a.contact_id is None for a in acts)
    assert acts[2].attributes["url"] == "https://x.io/pricing"
    assert all(a.id.startswith("hs-email:") for a in acts)


def test_many_email_events_are_paged(sandbox: HubSpotSandbox, mapping: object) -> None:
    from connector.adapters.hubspot.mapping import HubSpotMapping
    from tests.adapters.conftest import make_adapter

    small = HubSpotMapping.model_validate({"crm": "hubspot", "activities": {"email_events": {"page_size": 7}, "web_events": {"enabled": False}, "engagements": {"enabled": False}}})
    adapter = make_adapter(sandbox, small)
    sandbox.store.add_email_events([{"recipient": f"r{i}@x.io", "type": "OPEN", "created": T0 + i} for i in range(30)])
    sandbox.requests_clear()
    acts = _all(adapter, T0 - 1, T0 + 100)
    assert len({a.id for a in acts}) == 30
    # HubSpot's default page is 10 and its offset is valid only "with the same query parameters
    # (excluding offset itself and limit)": every page sends limit and repeats the first query.
    from urllib.parse import parse_qsl

    queries = [dict(parse_qsl(r.query)) for r in sandbox.requests if r.path.rstrip("/") == "/email/public/v1/events"]
    assert len(queries) == 5 and all(q["limit"] == "7" for q in queries)
    assert [{k: v for k, v in q.items() if k != "offset"} for q in queries] == [queries[0]] * 5
    assert "offset" not in queries[0] and all(q["offset"] for q in queries[1:])


def test_engagements_become_one_activity_per_associated_contact(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    a, b = sandbox.store.add_contacts([{"email": "a@x.io"}, {"email": "b@x.io"}])
    sandbox.clock.set_ms(T0 + 5)  # logged in the window (HubSpot stamps hs_lastmodifieddate), held at hs_timestamp
    sandbox.store.add_engagement("meetings", {"hs_timestamp": str(T0 + 1), "hs_meeting_title": "Demo"}, contact_ids=[a, b])
    sandbox.store.add_engagement("calls", {"hs_timestamp": str(T0 + 2), "hs_call_direction": "OUTBOUND"}, contact_ids=[a])
    sandbox.store.add_engagement("emails", {"hs_timestamp": str(T0 + 3), "hs_email_subject": "Hi"}, contact_ids=[b])
    sandbox.clock.set_ms(T0 + 50)
    sandbox.store.add_engagement("meetings", {"hs_timestamp": str(T0 + 4), "hs_meeting_title": "logged after the window"}, contact_ids=[a])
    acts = _all(adapter, T0, T0 + 10)
    got = sorted((x.type, x.contact_id, x.occurred_at) for x in acts)
    assert got == sorted([("meeting", a, at(T0 + 1)), ("meeting", b, at(T0 + 1)), ("call", a, at(T0 + 2)), ("email_sent", b, at(T0 + 3))])
    meeting = next(x for x in acts if x.type == "meeting")
    assert meeting.attributes["title"] == "Demo" and meeting.id.startswith("hs-meeting:") and meeting.id.endswith(f":{meeting.contact_id}")


def test_engagements_without_contact_are_skipped_and_counted_not_rejected(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    # A call from an unknown number, an internal meeting: HubSpot answers "to": [] for their contacts.
    sandbox.clock.set_ms(T0 + 5)
    sandbox.store.add_engagement("calls", {"hs_timestamp": str(T0 + 2)}, contact_ids=[])
    sandbox.store.add_engagement("calls", {"hs_timestamp": str(T0 + 3)}, contact_ids=[])
    sandbox.store.add_engagement("meetings", {"hs_timestamp": str(T0 + 4)}, contact_ids=[])
    pages = list(adapter.pull_activities(at(T0), at(T0 + 10)))
    assert [r for p in pages for r in p.rejects] == [] and [a for p in pages for a in p.records] == []
    assert pages[-1].skipped == {"call without contact": 2, "meeting without contact": 1}
