"""A trigger-action task is created at most once per action key, whatever the answers get lost to.

The key goes into the ``connector_action_key`` task property (``connector setup`` creates it). A task
sent before (``attempted``) is looked up by its key before it is created; a batch create whose answer
is lost is looked up before anything is sent again; a batch refused over its content is halved until
the bad task is found. Neither a re-run nor the adapter's own retrying can make a second task.
"""

from __future__ import annotations

import collections
import dataclasses as dc
import datetime as dt
import logging
import typing as t

import pytest

from connector.adapters.base import CRMError, OutputSpec, TaskRequest
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import make_adapter

DUE = dt.datetime(2026, 1, 16, 9, 0, tzinfo=dt.UTC)
CREATE = "/crm/v3/objects/tasks/batch/create"


def _contact(sandbox: HubSpotSandbox) -> str:
    (cid,) = sandbox.store.add_contacts([{"email": f"{len(sandbox.store.objects('contacts').records)}@x.io"}])
    return cid


def _task(sandbox: HubSpotSandbox, key: str, cid: str | None = None, **changes: t.Any) -> TaskRequest:
    owner = next(iter(sandbox.store.owners))
    return dc.replace(TaskRequest(key, cid or _contact(sandbox), "Call", None, DUE, owner_id=owner), **changes)


def _keys(sandbox: HubSpotSandbox) -> collections.Counter[str | None]:
    with sandbox.store.lock:
        return collections.Counter(r.properties.get("connector_action_key") for r in sandbox.store.objects("tasks").records.values())


def _creates(sandbox: HubSpotSandbox) -> list[int]:
    return [r.status for r in sandbox.requests if r.method == "POST" and r.path.rstrip("/") == CREATE]


@pytest.fixture
def ready(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> HubSpotAdapter:
    """The adapter on a portal where ``connector setup`` has run (it creates the key property)."""
    adapter.setup([OutputSpec("acme_score", "number")])
    sandbox.requests_clear()
    return adapter


def test_the_task_carries_its_key_and_is_found_by_it(sandbox: HubSpotSandbox, ready: HubSpotAdapter) -> None:
    task = _task(sandbox, "hubspot:m:1:hot:1#0")
    writer = ready._tasks
    created = ready.create_tasks([task]).created[task.key]
    assert sandbox.store.get("tasks", created).properties["connector_action_key"] == task.key  # type: ignore[union-attr]
    assert ready._tasks is not None and writer is None
    assert ready._tasks.find([task]) == {task.key: created}
    assert ready._tasks.find([_task(sandbox, "hubspot:m:1:hot:2#0", task.contact_id)]) == {}


def test_a_task_sent_before_is_looked_up_not_created_again(sandbox: HubSpotSandbox, ready: HubSpotAdapter, mapping: HubSpotMapping) -> None:
    first = ready.create_tasks([_task(sandbox, "k#0")]).created["k#0"]
    sandbox.requests_clear()
    again = make_adapter(sandbox, mapping).create_tasks([_task(sandbox, "k#0", attempted=True)])  # a later run: a fresh adapter
    assert again.created == {"k#0": first}
    assert _keys(sandbox) == {"k#0": 1} and _creates(sandbox) == []


def test_looking_up_100_tasks_sent_before_takes_one_search(sandbox: HubSpotSandbox, ready: HubSpotAdapter, mapping: HubSpotMapping) -> None:
    tasks = [_task(sandbox, f"bulk:{i}#0") for i in range(100)]
    created = ready.create_tasks(tasks[:60]).created  # 60 landed before a crash, 40 never did
    sandbox.requests_clear()
    result = make_adapter(sandbox, mapping).create_tasks([dc.replace(t, attempted=True) for t in tasks])
    assert {k: result.created[k] for k in created} == created and len(result.created) == 100
    assert collections.Counter(_keys(sandbox).values()) == {1: 100}
    searches = [r for r in sandbox.requests if r.path.endswith("/tasks/search")]
    assert len(searches) == 1 and len(_creates(sandbox)) == 1
    # the 40 the search did not find were confirmed by the consistent read before being created
    assert [r.path for r in sandbox.requests if "associations" in r.path] == ["/crm/v4/associations/contacts/tasks/batch/read"]


def test_a_lost_answer_is_looked_up_not_resent(sandbox: HubSpotSandbox, ready: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot applied the create but the answer never arrived: the retry finds the tasks instead of re-sending."""
    assert ready._tasks is None
    ready.create_tasks([])  # builds the writer
    assert ready._tasks is not None
    api = ready._tasks._create_once
    real_create = api.create
    calls = []

    def applied_then_lost(**kwargs: object) -> object:
        calls.append(1)
        real_create(**kwargs)
        raise CRMError("HubSpot unreachable on POST /crm/v3/objects/tasks/batch/create: ProtocolError; retried and gave up", retryable=True)

    monkeypatch.setattr(api, "create", applied_then_lost)
    tasks = [_task(sandbox, f"lost:{i}#0") for i in range(3)]
    result = ready.create_tasks(tasks)
    assert calls == [1] and len(result.created) == 3 and result.failed == {}
    assert _keys(sandbox) == {f"lost:{i}#0": 1 for i in range(3)}


def test_a_batch_refused_over_one_task_is_halved_to_find_it(sandbox: HubSpotSandbox, ready: HubSpotAdapter) -> None:
    tasks = [_task(sandbox, f"half:{i}#0") for i in range(4)]
    tasks[2] = dc.replace(tasks[2], contact_id="999999")  # a deleted contact: HubSpot refuses the batch with a 400
    result = ready.create_tasks(tasks)
    assert set(result.created) == {"half:0#0", "half:1#0", "half:3#0"}
    reason, retryable = result.failed["half:2#0"]
    assert "999999" in reason and not retryable
    assert _keys(sandbox) == {"half:0#0": 1, "half:1#0": 1, "half:3#0": 1}


def test_under_faults_that_apply_the_write_every_action_has_exactly_one_task(sandbox: HubSpotSandbox, ready: HubSpotAdapter, mapping: HubSpotMapping) -> None:
    """30% of requests faulted (429, 5xx, dropped) after HubSpot applied them; failed tasks are redone, as the next run does.

    Batches of 2, so that enough creates are faulted: each run hands in what is still missing,
    marked ``attempted`` from its second run on, as the sync engine does.
    """
    tasks = [_task(sandbox, f"faulty:{i}#0") for i in range(24)]
    sandbox.set_faults(rate=0.3, seed=5, kinds=("429", "500", "503", "drop"), writes="apply")
    ids: dict[str, str] = {}
    for start in range(0, len(tasks), 2):
        pair = tasks[start : start + 2]
        for run in range(10):
            todo = [dc.replace(t, attempted=run > 0) for t in pair if t.key not in ids]
            if not todo:
                break
            try:
                result = make_adapter(sandbox, mapping).create_tasks(todo)
            except CRMError as exc:
                assert exc.retryable, exc
                continue
            ids.update(result.created)
            assert all(retryable for _, retryable in result.failed.values()), result.failed
    sandbox.set_faults(rate=0.0)
    statuses = _creates(sandbox)
    assert sum(1 for s in statuses if s != 201) >= 4, f"{statuses}: too few faulted creates to prove anything"
    assert len(ids) == len(tasks)
    assert _keys(sandbox) == {t.key: 1 for t in tasks}
    assert all(sandbox.store.get("tasks", task_id) is not None for task_id in ids.values())


def test_without_the_property_tasks_are_still_created_with_a_warning(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, caplog: pytest.LogCaptureFixture) -> None:
    """A portal where setup was not re-run since the upgrade: the old behaviour, and a hint to run setup."""
    task = _task(sandbox, "legacy#0")
    with caplog.at_level(logging.WARNING, logger="connector.adapters.hubspot.tasks"):
        task_id = adapter.create_tasks([task]).created[task.key]
    assert sandbox.store.get("tasks", task_id) is not None
    assert "connector setup" in caplog.text
    assert adapter._tasks is not None and adapter._tasks.find([task]) == {}


def test_a_token_that_cannot_read_task_properties_still_creates_tasks(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def forbidden(**_: object) -> object:
        raise CRMError("HubSpot token is missing scope crm.schemas.tasks.read (403 on GET /crm/v3/properties/tasks/connector_action_key)", status=403)

    monkeypatch.setattr(adapter.client.properties, "get_by_name", forbidden)
    with caplog.at_level(logging.WARNING, logger="connector.adapters.hubspot.tasks"):
        result = adapter.create_tasks([_task(sandbox, "scope#0")])
    assert sandbox.store.get("tasks", result.created["scope#0"]) is not None
    assert "does not let this token read" in caplog.text and "403" in caplog.text


def test_setup_without_the_tasks_scope_still_sets_up_contacts(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real = adapter.client.properties.get_by_name

    def no_tasks_scope(**kwargs: t.Any) -> t.Any:
        if kwargs.get("object_type") == "tasks":
            raise CRMError("HubSpot token is missing scope crm.schemas.tasks.read (403)", status=403)
        return real(**kwargs)

    monkeypatch.setattr(adapter.client.properties, "get_by_name", no_tasks_scope)
    with caplog.at_level(logging.WARNING, logger="connector.adapters.hubspot.setup"):
        changed = adapter.setup([OutputSpec("acme_score", "number")])
    assert changed == ["group lead_scoring", "property acme_score"]
    assert "not created" in caplog.text and "403" in caplog.text


def test_a_task_not_yet_searchable_is_found_through_the_contacts_associations(sandbox: HubSpotSandbox, ready: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot's search index lags a few seconds behind writes; a key the search misses is confirmed
    by a consistent read of the contact's task associations before the task is created again."""
    cid = _contact(sandbox)
    ready.create_tasks([_task(sandbox, f"earlier:{i}#0", cid) for i in range(3)])  # other tasks of the contact
    created = ready.create_tasks([_task(sandbox, "lagging#0", cid)]).created["lagging#0"]
    assert ready._tasks is not None
    monkeypatch.setattr(ready._tasks, "_search_keys", lambda keys: {})  # the index has not caught up
    sandbox.requests_clear()
    again = ready.create_tasks([_task(sandbox, "lagging#0", cid, attempted=True), _task(sandbox, "never#0", cid, attempted=True)])
    assert again.created["lagging#0"] == created
    assert _keys(sandbox)["lagging#0"] == 1 and _keys(sandbox)["never#0"] == 1
