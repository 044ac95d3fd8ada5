"""``create_task`` actions in batches, and ``set_property`` actions as one write."""

from __future__ import annotations

import datetime as dt

from connector.adapters.base import FieldUpdate, TaskRequest
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import make_adapter

DUE = dt.datetime(2026, 1, 16, 9, 0, tzinfo=dt.UTC)


def _posts(sandbox: HubSpotSandbox, path: str) -> int:
    return sum(1 for r in sandbox.requests if r.method == "POST" and r.path.rstrip("/") == path)


def test_tasks_go_to_the_owners_pulled_with_the_contacts_in_one_call(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    owners = list(sandbox.store.owners)
    ids = sandbox.store.add_contacts([{"email": f"{i}@x.io"} for i in range(3)])
    tasks = [TaskRequest(f"k{i}#0", cid, f"Call {i}", "Score crossed 120", DUE, owner_id=owners[i % len(owners)]) for i, cid in enumerate(ids)]
    sandbox.requests_clear()
    result = adapter.create_tasks(tasks)
    assert set(result.created) == {t.key for t in tasks} and result.failed == {}
    for task in tasks:
        record = sandbox.store.get("tasks", result.created[task.key])
        assert record is not None
        assert record.properties["hs_task_subject"] == task.subject and record.properties["hs_task_body"] == "Score crossed 120"
        assert record.properties["hubspot_owner_id"] == task.owner_id and record.properties["hs_task_priority"] == "HIGH"
        assert sandbox.store.associated("tasks", record.id, "contacts") == [task.contact_id]
    assert _posts(sandbox, "/crm/v3/objects/tasks/batch/create") == 1
    assert not [r for r in sandbox.requests if r.path.startswith("/crm/v3/objects/contacts")]  # no owner read


def test_an_owner_not_pulled_is_read_in_one_batch_then_the_default_owner(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    owner = next(iter(sandbox.store.owners))
    (owned,) = sandbox.store.add_contacts([{"email": "a@x.io", "hubspot_owner_id": owner}])
    (ownerless,) = sandbox.store.add_contacts([{"email": "b@x.io"}])
    tasks = [TaskRequest("a#0", owned, "Call", None, DUE), TaskRequest("b#0", ownerless, "Call", None, DUE)]
    result = make_adapter(sandbox, mapping).create_tasks(tasks)
    assert sandbox.store.get("tasks", result.created["a#0"]).properties["hubspot_owner_id"] == owner  # type: ignore[union-attr]
    reason, retryable = result.failed["b#0"]
    assert "has no hubspot_owner_id and the mapping sets no tasks.default_owner_id" in reason and not retryable
    with_default = mapping.model_copy(update={"tasks": mapping.tasks.model_copy(update={"default_owner_id": owner})})
    again = make_adapter(sandbox, with_default).create_tasks([tasks[1]])
    assert sandbox.store.get("tasks", again.created["b#0"]).properties["hubspot_owner_id"] == owner  # type: ignore[union-attr]


def test_250_tasks_take_three_creates(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    owner = next(iter(sandbox.store.owners))
    ids = sandbox.store.add_contacts([{"email": f"{i}@x.io"} for i in range(250)])
    sandbox.requests_clear()
    result = adapter.create_tasks([TaskRequest(f"k{i}#0", cid, "Call", None, DUE, owner_id=owner) for i, cid in enumerate(ids)])
    assert len(result.created) == 250 and len(set(result.created.values())) == 250
    assert _posts(sandbox, "/crm/v3/objects/tasks/batch/create") == 3


def test_set_property_actions_are_one_write(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    ids = sandbox.store.add_contacts([{"email": f"{i}@x.io"} for i in range(3)])
    sandbox.requests_clear()
    assert adapter.push([FieldUpdate(cid, {"hs_lead_status": "OPEN"}) for cid in ids]).written == ids
    assert all(sandbox.store.get("contacts", cid).properties["hs_lead_status"] == "OPEN" for cid in ids)  # type: ignore[union-attr]
    assert _posts(sandbox, "/crm/v3/objects/contacts/batch/update") == 1
