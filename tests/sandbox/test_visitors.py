"""Anonymous page views join the contact a visitor becomes; the events API by record and portal-wide."""

from __future__ import annotations

import typing as t

import pytest
import requests
from hubspot.events.exceptions import ApiException

from connector.sandbox.hubspot import HubSpotSandbox, SandboxClock, iso_ms
from connector.sandbox.testing import hubspot_sandbox_fixture, sdk_client

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
URL = "/events/v3/events"

strict = hubspot_sandbox_fixture(events_per_record_only=True)


def _views(http: requests.Session, sb: HubSpotSandbox, utk: str, days_ago: t.Sequence[int]) -> None:
    answer = http.post(sb.base_url + f"/_sandbox/visitors/{utk}/events", json={"events": [
        {"eventType": "e_visited_page", "occurredAt": T0 - d * DAY, "properties": {"hs_url": f"https://x.io/page-{d}"}} for d in days_ago]})
    assert answer.status_code == 201


def test_a_converting_visitor_brings_its_earlier_page_views(sandbox: HubSpotSandbox, sdk: t.Any, http: requests.Session) -> None:
    sandbox.clock.set_ms(T0)
    _views(http, sandbox, "utk-1", [20, 10, 3])
    assert http.get(sandbox.base_url + URL, params={"objectType": "contact"}).json()["results"] == [], "anonymous: on no contact"
    form = http.post(sandbox.base_url + "/_sandbox/forms", json={"name": "Contact us"}).json()["id"]
    sandbox.clock.advance(hours=1)
    done = http.post(sandbox.base_url + "/_sandbox/visitors/utk-1/convert", json={
        "email": "new@x.io", "properties": {"firstname": "Nia"}, "formId": form, "pageUrl": "https://x.io/contact"})
    assert done.status_code == 201
    body = done.json()
    assert body["created"] is True and body["associatedEvents"] == 3
    contact = sdk.crm.objects.basic_api.get_by_id("contacts", body["contactId"], properties=["hs_analytics_num_page_views", "firstname"])
    assert contact.properties["createdate"] == contact.properties["lastmodifieddate"] == iso_ms(T0 + 3_600_000)
    assert contact.properties["hs_analytics_num_page_views"] == "3" and contact.properties["firstname"] == "Nia"

    events = sdk.events.events_api.get_page(object_type="contact", object_id=int(body["contactId"]), sort=["occurredAt"])
    assert [(e.event_type, e.occurred_at.isoformat()) for e in events.results] == [
        ("e_visited_page", "2025-12-12T00:00:00+00:00"), ("e_visited_page", "2025-12-22T00:00:00+00:00"),
        ("e_visited_page", "2025-12-29T00:00:00+00:00"), ("e_submitted_form", "2026-01-01T01:00:00+00:00")]
    assert events.results[-1].properties == {"hs_form_id": form, "hs_url": "https://x.io/contact"}
    # A portal-wide window "since the last run" holds only the form submission: the page views are older.
    since = sdk.events.events_api.get_page(object_type="contact", occurred_after=iso_ms(T0), sort=["occurredAt"])
    assert [e.event_type for e in since.results] == ["e_submitted_form"]

    _views(http, sandbox, "utk-1", [0])  # the cookie is known now: later views go straight to the contact
    assert len(sdk.events.events_api.get_page(object_type="contact", object_id=int(body["contactId"])).results) == 5


def test_a_visitor_with_a_known_email_is_identified_as_that_contact(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    sandbox.clock.set_ms(T0)
    known = sandbox.store.add_contacts([{"email": "known@x.io"}], modified_at_ms=T0 - 30 * DAY)[0]
    _views(http, sandbox, "utk-2", [5, 4])
    done = http.post(sandbox.base_url + "/_sandbox/visitors/utk-2/convert", json={"email": "KNOWN@x.io"})
    assert done.status_code == 200 and done.json() == {"contactId": known, "created": False, "associatedEvents": 2, "formEventId": None}
    record = sandbox.store.get("contacts", known)
    assert record is not None and record.properties["lastmodifieddate"] == iso_ms(T0)
    by_email = http.get(sandbox.base_url + URL, params={"objectType": "contact", "objectProperty.email": "known@x.io"}).json()
    assert [e["objectId"] for e in by_email["results"]] == [known, known]
    # The same browser submitting another address stays the same contact (HubSpot deduplicates by cookie).
    again = http.post(sandbox.base_url + "/_sandbox/visitors/utk-2/convert", json={"email": "other@x.io"}).json()
    assert again["contactId"] == known and again["created"] is False


def test_conversion_errors_are_clear(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    no_email = http.post(sandbox.base_url + "/_sandbox/visitors/utk-3/convert", json={})
    assert no_email.status_code == 400 and "e-mail" in no_email.json()["message"]
    bad_form = http.post(sandbox.base_url + "/_sandbox/visitors/utk-3/convert", json={"email": "a@x.io", "formId": "no-such-form"})
    assert bad_form.status_code == 404
    bad_event = http.post(sandbox.base_url + "/_sandbox/visitors/utk-3/events", json={"events": [{"eventType": "e_visited_page"}]})
    assert bad_event.status_code == 400 and "occurredAt" in bad_event.json()["message"]


def test_portal_wide_queries_are_served_unless_the_portal_wants_one_record_at_a_time(strict: HubSpotSandbox) -> None:
    ids = strict.store.add_contacts([{"email": "a@x.io"}])
    strict.store.add_events([{"objectId": ids[0], "eventType": "e_visited_page", "occurredAt": T0, "properties": {}}])
    sdk = sdk_client(strict)
    with pytest.raises(ApiException) as refused:
        sdk.events.events_api.get_page(object_type="contact", event_type="e_visited_page")
    assert refused.value.status == 400 and "objectId" in refused.value.body
    assert len(sdk.events.events_api.get_page(object_type="contact", object_id=int(ids[0])).results) == 1
    with HubSpotSandbox(rate_limit=None, search_rate=None, clock=SandboxClock(frozen_ms=T0)) as default:
        default.store.add_events([{"objectId": default.store.add_contacts([{"email": "b@x.io"}])[0], "eventType": "e_visited_page",
                                   "occurredAt": T0, "properties": {}}])
        assert len(sdk_client(default).events.events_api.get_page(object_type="contact").results) == 1
