"""Web analytics events (v3) and marketing email events (v1): windows, filters, sorting, paging."""

from __future__ import annotations

import requests

from connector.sandbox.hubspot import HubSpotSandbox

T0 = 1_700_000_000_000


def test_events_window_is_exclusive_and_sorted(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}, {"email": "b@x.io"}])
    sandbox.store.add_events([{"objectId": ids[i % 2], "eventType": "e_visited_page" if i % 3 else "e_submitted_form",
                               "occurredAt": T0 + i * 1000, "properties": {"hs_url": f"https://x.io/{i}"}} for i in range(10)][::-1])
    url = sandbox.base_url + "/events/v3/events"
    page = http.get(url, params={"objectType": "contact", "objectId": ids[0], "occurredAfter": T0, "occurredBefore": "2023-11-14T22:13:28.000Z",
                                 "sort": "occurredAt"}).json()
    assert [e["properties"]["hs_url"][-1] for e in page["results"]] == ["2", "4", "6"]
    newest_first = http.get(url, params={"eventType": "e_submitted_form"}).json()
    assert [e["occurredAt"] for e in newest_first["results"]] == ["2023-11-14T22:13:29.000Z", "2023-11-14T22:13:26.000Z",
                                                                  "2023-11-14T22:13:23.000Z", "2023-11-14T22:13:20.000Z"]
    first = http.get(url, params={"limit": 4, "sort": "occurredAt"}).json()
    second = http.get(url, params={"limit": 4, "sort": "occurredAt", "after": first["paging"]["next"]["after"]}).json()
    assert len(first["results"]) == 4 and second["results"][0]["occurredAt"] == "2023-11-14T22:13:24.000Z"
    assert http.get(url, params={"eventType": "e_made_up"}).status_code == 400
    assert http.get(url, params={"occurredAfter": "yesterday"}).status_code == 400


def test_events_pages_of_one_walk_see_events_added_between_them(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    """The window a walk pages through is cached between pages; an event added meanwhile is served from the next page on."""
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    sandbox.store.add_events([{"objectId": ids[0], "eventType": "e_visited_page", "occurredAt": T0 + i * 1000, "properties": {"hs_url": f"https://x.io/{i}"}} for i in range(6)])
    url = sandbox.base_url + "/events/v3/events"
    for k, params in enumerate(({"sort": "occurredAt"}, {"sort": "occurredAt", "objectId": ids[0]}, {"sort": "occurredAt", "eventType": "e_visited_page"})):
        first = http.get(url, params={**params, "limit": 3}).json()
        late = {"objectId": ids[0], "eventType": "e_visited_page", "occurredAt": T0 + 500 - k, "properties": {"hs_url": f"https://x.io/late{k}"}}
        sandbox.store.add_events([late])  # sorts in second: everything after it moves one place
        second = http.get(url, params={**params, "limit": 3, "after": first["paging"]["next"]["after"]}).json()
        assert second["results"][0]["properties"]["hs_url"] == first["results"][2]["properties"]["hs_url"]


def test_email_events_newest_first_offset_paging_and_filters(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    kinds = ["SENT", "OPEN", "CLICK", "STATUSCHANGE"]
    sandbox.store.add_email_events([{"recipient": "A@x.io", "type": kinds[i % 4], "created": T0 + i} for i in range(10)])
    url = sandbox.base_url + "/email/public/v1/events"
    page = http.get(url, params={"startTimestamp": T0 + 1, "endTimestamp": T0 + 8, "limit": 5}).json()
    assert [e["created"] for e in page["events"]] == [T0 + i for i in range(8, 3, -1)] and page["hasMore"] is True
    rest = http.get(url, params={"startTimestamp": T0 + 1, "endTimestamp": T0 + 8, "limit": 5, "offset": page["offset"]}).json()
    assert [e["created"] for e in rest["events"]] == [T0 + 3, T0 + 2, T0 + 1] and rest["hasMore"] is False
    clicks = http.get(url, params={"eventType": "CLICK", "recipient": "a@x.io"}).json()
    assert [e["type"] for e in clicks["events"]] == ["CLICK", "CLICK"] and clicks["events"][0]["recipient"] == "a@x.io"


def test_email_events_default_page_is_10_and_offset_is_bound_to_its_query(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    # "If omitted, the default value of 10 is used. The maximum allowed value is 1000"; the offset is
    # valid "with the same query parameters (excluding offset itself and limit)" (v1 reference).
    sandbox.store.add_email_events([{"recipient": "a@x.io", "type": "SENT", "created": T0 + i} for i in range(25)])
    url = sandbox.base_url + "/email/public/v1/events"
    first = http.get(url, params={"startTimestamp": T0}).json()
    assert len(first["events"]) == 10 and first["hasMore"] is True
    assert not first["offset"].isdigit(), "the offset is an opaque token, not a position"
    bigger_page = http.get(url, params={"startTimestamp": T0, "offset": first["offset"], "limit": 20}).json()
    assert [e["created"] for e in bigger_page["events"]] == [T0 + i for i in range(14, -1, -1)]
    other_query = http.get(url, params={"startTimestamp": T0 + 1, "offset": first["offset"]})
    assert other_query.status_code == 400 and "another query" in other_query.json()["message"]
    assert http.get(url, params={"offset": "not-a-token"}).status_code == 400
    assert http.get(url, params={"limit": 1001}).status_code == 400


def test_engagement_search_on_hs_timestamp(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    early = sandbox.store.add_engagement("calls", {"hs_timestamp": T0, "hs_call_title": "one"}, ids)
    late = sandbox.store.add_engagement("calls", {"hs_timestamp": T0 + 5000, "hs_call_title": "two"}, ids)
    answer = http.post(sandbox.base_url + "/crm/v3/objects/calls/search", json={
        "filterGroups": [{"filters": [{"propertyName": "hs_timestamp", "operator": "GT", "value": str(T0)}]}],
        "sorts": [{"propertyName": "hs_timestamp", "direction": "ASCENDING"}], "properties": ["hs_call_title"]}).json()
    assert [r["id"] for r in answer["results"]] == [late]
    assoc = http.post(sandbox.base_url + "/crm/v4/associations/calls/contacts/batch/read", json={"inputs": [{"id": early}, {"id": "31337"}]})
    assert assoc.status_code == 207
    assert assoc.json()["results"][0]["to"][0]["toObjectId"] == int(ids[0]) and assoc.json()["errors"][0]["context"] == {"ids": ["31337"]}
