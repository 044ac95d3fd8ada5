"""Forms API v3: GUID ids, human names, paging; form submissions name their form by GUID."""

from __future__ import annotations

import json
import re
import typing as t

import pytest
import requests

from connector.sandbox.hubspot import HubSpotSandbox, SandboxClock, Store
from connector.sandbox.hubspot.seed import FORMS, load_demo

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
T0 = 1_767_225_600_000


def test_listing_pages_with_an_opaque_cursor_and_reading_by_guid(sandbox: HubSpotSandbox, sdk: t.Any) -> None:
    forms = [sandbox.store.forms.add(f"Form {i}", T0 + i) for i in range(25)]
    sandbox.store.forms.archive(forms[3].id)
    api = sdk.marketing.forms.forms_api
    # SDK 12 cannot parse a real form with client-side validation on (its field model is generated
    # for one field type only), so read the raw answer -- as against HubSpot itself.
    with pytest.raises(ValueError):
        api.get_page()
    first = json.loads(api.get_page(_preload_content=False).data)
    assert len(first["results"]) == 20 and all(GUID.match(f["id"]) for f in first["results"])
    assert first["results"][0]["name"] == "Form 0" and first["results"][0]["formType"] == "hubspot"
    rest = json.loads(api.get_page(after=first["paging"]["next"]["after"], limit=10, _preload_content=False).data)
    assert [f["name"] for f in rest["results"]] == [f"Form {i}" for i in range(21, 25)] and "paging" not in rest
    assert "Form 3" not in [f["name"] for f in first["results"] + rest["results"]]
    archived = json.loads(api.get_page(archived=True, _preload_content=False).data)
    assert [f["name"] for f in archived["results"]] == ["Form 3"]
    one = json.loads(api.get_by_id(forms[0].id, _preload_content=False).data)
    assert one["id"] == forms[0].id and one["name"] == "Form 0"


def test_bad_paging_and_unknown_forms(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    base = sandbox.base_url + "/marketing/v3/forms"
    too_many = http.get(base, params={"limit": 101})
    assert too_many.status_code == 400 and too_many.json()["context"] == {"limit": ["must be less than or equal to 100"]}
    assert http.get(base, params={"after": "garbage!"}).status_code == 400
    assert http.get(base, params={"formTypes": "survey"}).status_code == 400
    missing = http.get(base + "/6f1f1f1f-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_demo_form_submissions_carry_the_guid_of_a_form_the_api_names() -> None:
    store = Store(SandboxClock(frozen_ms=T0))
    load_demo(store, contacts=200, seed=3)
    names = {f.id: f.name for f in store.forms.all()}
    assert sorted(names.values()) == sorted(name for name, _path in FORMS) and all(GUID.match(i) for i in names)
    submitted = [e.properties["hs_form_id"] for e in store.web_events if e.event_type == "e_submitted_form"]
    assert submitted and set(submitted) <= set(names), "every submission names an existing form by GUID, none by slug"
    again = Store(SandboxClock(frozen_ms=T0))
    load_demo(again, contacts=200, seed=3)
    assert sorted(f.id for f in again.forms.all()) == sorted(names), "the demo's GUIDs are the same for a seed"
