"""create_task and set_property trigger actions."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.adapters.base import CRMError, TaskRequest
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import make_adapter

DUE = dt.datetime(2026, 1, 16, 9, 0, tzinfo=dt.UTC)


def test_task_goes_to_the_contacts_owner_and_is_associated(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    owner = next(iter(sandbox.store.owners))
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io", "hubspot_owner_id": owner}])
    task_id = adapter.create_task(TaskRequest(cid, "Call this hot lead", "Score crossed 120", DUE))
    task = sandbox.store.get("tasks", task_id)
    assert task is not None
    assert task.properties["hs_task_subject"] == "Call this hot lead" and task.properties["hs_task_body"] == "Score crossed 120"
    assert task.properties["hubspot_owner_id"] == owner
    assert task.properties["hs_task_priority"] == "HIGH"
    assert sandbox.store.associated("tasks", task_id, "contacts") == [cid]


def test_falls_back_to_the_default_owner_or_says_why_it_cannot(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    with pytest.raises(CRMError, match="has no hubspot_owner_id and the mapping sets no tasks.default_owner_id"):
        make_adapter(sandbox, mapping).create_task(TaskRequest(cid, "Call", None, DUE))
    owner = next(iter(sandbox.store.owners))
    with_default = mapping.model_copy(update={"tasks": mapping.tasks.model_copy(update={"default_owner_id": owner})})
    task_id = make_adapter(sandbox, with_default).create_task(TaskRequest(cid, "Call", None, DUE))
    assert sandbox.store.get("tasks", task_id).properties["hubspot_owner_id"] == owner  # type: ignore[union-attr]


def test_set_property_action(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    assert adapter.set_property(cid, "hs_lead_status", "OPEN").written == [cid]
    assert sandbox.store.get("contacts", cid).properties["hs_lead_status"] == "OPEN"  # type: ignore[union-attr]
