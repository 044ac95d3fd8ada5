"""Lists v3: MANUAL memberships idempotent; DYNAMIC stage lists follow the written outputs."""

from __future__ import annotations

import json

from connector.adapters.base import FieldUpdate
from connector.adapters.hubspot import HubSpotAdapter
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_model
from tests.adapters.conftest import MODEL


def _members(adapter: HubSpotAdapter, name: str) -> set[str]:
    found = adapter.lists.find(name)
    assert found is not None, f"list {name!r} not found"
    list_id = str(found["listId"])
    answer = adapter.client.call("GET", "memberships", adapter.client.memberships.get_page, list_id=list_id, limit=250, _preload_content=False)
    return {str(r["recordId"]) for r in json.loads(answer.data)["results"]}


def test_manual_list_created_on_first_add_and_memberships_idempotent(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    ids = sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(4)])
    adapter.add_to_list("Hot leads (trigger)", ids[:3])
    adapter.add_to_list("Hot leads (trigger)", ids[:3])
    assert _members(adapter, "Hot leads (trigger)") == set(ids[:3])
    creates = [r for r in sandbox.requests if r.method == "POST" and r.path.rstrip("/") == "/crm/v3/lists"]
    assert len(creates) == 1
    adapter.remove_from_list("Hot leads (trigger)", [ids[0], ids[3]])
    adapter.remove_from_list("Hot leads (trigger)", [ids[0]])
    assert _members(adapter, "Hot leads (trigger)") == set(ids[1:3])


def test_a_fresh_adapter_finds_the_existing_list(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, mapping: object) -> None:
    from tests.adapters.conftest import make_adapter

    ids = sandbox.store.add_contacts([{"email": "a@x.io"}])
    adapter.add_to_list("VIP", ids)
    other = make_adapter(sandbox, adapter.mapping)
    other.add_to_list("VIP", ids)
    assert len([lst for lst in sandbox.lists.all() if lst.name == "VIP"]) == 1


def test_removing_from_a_missing_list_creates_nothing(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    adapter.remove_from_list("never made", ["1"])
    assert adapter.lists.find("never made") is None


def test_dynamic_stage_list_follows_the_stage_property(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    adapter.setup(specs_from_models([load_model(MODEL)]))
    ids = sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(3)])
    adapter.push([FieldUpdate(ids[0], {"b2b_saas_stage": "mql"}), FieldUpdate(ids[1], {"b2b_saas_stage": "lead"})])
    assert _members(adapter, "b2b-saas: mql") == {ids[0]}
    assert _members(adapter, "b2b-saas: lead") == {ids[1]}
    adapter.push([FieldUpdate(ids[1], {"b2b_saas_stage": "mql", "b2b_saas_score": 130})])
    assert _members(adapter, "b2b-saas: mql") == {ids[0], ids[1]}
    assert _members(adapter, "b2b-saas: hot (score 120+)") == {ids[1]}


def test_changed_filters_are_updated_not_duplicated(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    from connector.adapters.hubspot.lists import band_filter

    assert adapter.lists.ensure_dynamic("band", band_filter("b2b_saas_score", 10, None)) == "created"
    assert adapter.lists.ensure_dynamic("band", band_filter("b2b_saas_score", 10, None)) is None
    assert adapter.lists.ensure_dynamic("band", band_filter("b2b_saas_score", 20, None)) == "updated"
    assert len([lst for lst in sandbox.lists.all() if lst.name == "band"]) == 1
