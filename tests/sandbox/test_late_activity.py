"""Engagements logged after the fact: found by when HubSpot last modified them, not by when they happened."""

from __future__ import annotations

import typing as t

import requests
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.objects.meetings import PublicObjectSearchRequest

from connector.sandbox.hubspot import HubSpotSandbox, iso_ms

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000


def _window(prop: str, lo: int, hi: int) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": prop, "operator": "GT", "value": str(lo)},
                                    {"propertyName": prop, "operator": "LTE", "value": str(hi)}]}],
        sorts=[{"propertyName": prop, "direction": "ASCENDING"}], properties=["hs_timestamp", "hs_meeting_title"], limit=100)


def test_a_meeting_logged_a_week_late_is_in_the_modified_window_not_the_occurred_one(sandbox: HubSpotSandbox, sdk: t.Any,
                                                                                      http: requests.Session) -> None:
    sandbox.clock.set_ms(T0)
    contact = sandbox.store.add_contacts([{"email": "late@x.io"}])[0]
    on_time = sandbox.store.add_engagement("meetings", {"hs_timestamp": T0, "hs_meeting_title": "On time"}, [contact])
    last_run = T0
    sandbox.clock.advance(days=7)
    # A rep logs, today, the meeting that took place a week ago (admin endpoint, as another process would).
    logged = http.post(sandbox.base_url + "/_sandbox/engagements/meetings", json={
        "properties": {"hs_timestamp": iso_ms(T0 - 1), "hs_meeting_title": "Logged late"}, "contactIds": [contact]}).json()["id"]
    now = sandbox.clock.now_ms()

    search = sdk.crm.objects.meetings.search_api
    by_occurrence = search.do_search(public_object_search_request=_window("hs_timestamp", last_run, now))
    assert [r.id for r in by_occurrence.results] == [], "the late meeting happened before the last run: invisible by hs_timestamp"
    by_modification = search.do_search(public_object_search_request=_window("hs_lastmodifieddate", last_run, now))
    assert [r.id for r in by_modification.results] == [logged] and on_time not in [r.id for r in by_modification.results]
    found = by_modification.results[0]
    assert found.properties["hs_timestamp"] == iso_ms(T0 - 1)
    assert found.properties["hs_createdate"] == found.properties["hs_lastmodifieddate"] == iso_ms(now)

    assoc = sdk.crm.associations.v4.batch_api.get_page("meetings", "contacts",
                                                       BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": logged}]))
    assert [to.to_object_id for to in assoc.results[0].to] == [contact]


def test_calls_search_sorts_on_hs_lastmodifieddate_and_edits_move_it(sandbox: HubSpotSandbox, sdk: t.Any, http: requests.Session) -> None:
    sandbox.clock.set_ms(T0)
    ids = [sandbox.store.add_engagement("calls", {"hs_timestamp": T0 - i * DAY, "hs_call_title": f"call {i}"}) for i in range(3)]
    sandbox.clock.advance(hours=1)
    http.patch(sandbox.base_url + f"/crm/v3/objects/calls/{ids[0]}", json={"properties": {"hs_call_title": "call 0, notes added"}})
    body = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(T0)}]}],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}], "limit": 10}
    answer = http.post(sandbox.base_url + "/crm/v3/objects/calls/search", json=body).json()
    assert answer["results"][0]["id"] == ids[0] and answer["total"] == 3
    assert answer["results"][0]["properties"]["hs_lastmodifieddate"] == iso_ms(T0 + 3_600_000)
    # Search answers carry no associations (HubSpot's search does not return them): a contact-less
    # call is only recognisable through the v4 associations read, which answers "to": [].
    assert "associations" not in answer["results"][0]
    assoc = http.post(sandbox.base_url + "/crm/v4/associations/calls/contacts/batch/read", json={"inputs": [{"id": ids[1]}]}).json()
    assert assoc["results"] == [{"from": {"id": ids[1]}, "to": []}]
