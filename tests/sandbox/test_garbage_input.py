"""Garbage in, a clear 4xx out: no served endpoint answers 500 to a malformed request."""

from __future__ import annotations

import re
import threading

import pytest
import requests

from connector.sandbox.hubspot import HubSpotSandbox

BODIES: list[bytes] = [b"", b"{not json", b"[]", b"null", b"42", b'"text"', b'{"inputs": 7}', b'{"inputs": [1, null, "x"]}',
                       b'{"filterGroups": [{"filters": [{"propertyName": 5}]}], "limit": "many"}', b'{"properties": [1], "limit": -1, "after": "x"}',
                       b'{"name": "", "objectTypeId": 5, "processingType": "DYNAMIC", "filterBranch": []}', b'{"filterBranch": {"filterBranchType": "OR", "filterBranches": [7]}}',
                       b'{"properties": {"email": {"nested": 1}}, "associations": [{"to": 5}]}', b'{"options": "A", "label": 1, "name": "x"}']
QUERIES = ["", "?limit=abc", "?after=-5", "?limit=100000", "?occurredAfter=yesterday&sort=sideways", "?startTimestamp=x&offset=y"]


def _concrete(pattern: str) -> str:
    values = {"objectType": "contacts", "fromObjectType": "meetings", "toObjectType": "contacts", "objectTypeId": "0-1"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), pattern)


def test_no_endpoint_answers_500_to_garbage(sandbox: HubSpotSandbox) -> None:
    sandbox.store.add_contacts([{"email": "a@x.io"}])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox.token}"
    failures = []
    for route in sandbox.app.api_routes:
        method, pattern = route.split(" ", 1)
        url = sandbox.base_url + _concrete(pattern)
        for body in BODIES if method != "GET" else [b""]:
            for query in QUERIES if method == "GET" else [""]:
                answer = session.request(method, url + query, data=body, headers={"Content-Type": "application/json"})
                if answer.status_code >= 500:
                    failures.append((route, body[:40], query, answer.status_code, answer.text[:120]))
    assert failures == []


def test_concurrent_writes_and_searches_stay_consistent() -> None:
    with HubSpotSandbox(rate_limit=None, search_rate=None) as sb:
        ids = sb.store.add_contacts([{"email": f"{i}@x.io"} for i in range(400)])
        errors: list[str] = []

        def work(part: list[str]) -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {sb.token}"
            for start in range(0, len(part), 20):
                chunk = part[start:start + 20]
                up = session.post(sb.base_url + "/crm/v3/objects/contacts/batch/update",
                                  json={"inputs": [{"id": i, "properties": {"jobtitle": "Done"}} for i in chunk]})
                found = session.post(sb.base_url + "/crm/v3/objects/contacts/search", json={"limit": 200, "sorts": ["lastmodifieddate"],
                                     "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}]})
                if up.status_code != 200 or found.status_code != 200 or found.json()["total"] != 400:
                    errors.append(f"{up.status_code} {found.status_code}")

        threads = [threading.Thread(target=work, args=(ids[n::8],)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert {sb.store.get("contacts", i).properties["jobtitle"] for i in ids} == {"Done"}
        index = sb.store.objects("contacts").by_modified
        assert len(index) == 400 and list(index) == sorted(index)


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer x y", "Token abc"])
def test_malformed_authorization_is_401(sandbox: HubSpotSandbox, header: str) -> None:
    assert requests.get(sandbox.base_url + "/crm/v3/owners", headers={"Authorization": header}).status_code == 401
