"""A trigger-action task is created at most once per action key, whatever the answers get lost to.

The key goes into the ``connector_action_key`` task property (``connector setup`` creates it);
``find_task`` searches it; ``create_task`` looks the key up before every POST and sends each POST
once, so neither a re-run nor the adapter's own retrying can make a second task.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import typing as t

import pytest

from connector.adapters.base import CRMError, TaskRequest
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import make_adapter

DUE = dt.datetime(2026, 1, 16, 9, 0, tzinfo=dt.UTC)


def _contact(sandbox: HubSpotSandbox) -> str:
    owner = next(iter(sandbox.store.owners))
    (cid,) = sandbox.store.add_contacts([{"email": f"{len(sandbox.store.objects('contacts').records)}@x.io", "hubspot_owner_id": owner}])
    return cid


def _keys(sandbox: HubSpotSandbox) -> collections.Counter[str | None]:
    with sandbox.store.lock:
        return collections.Counter(r.properties.get("connector_action_key") for r in sandbox.store.objects("tasks").records.values())


def _task_posts(sandbox: HubSpotSandbox) -> list[int]:
    return [r.status for r in sandbox.requests if r.method == "POST" and r.path.rstrip("/") == "/crm/v3/objects/tasks"]


@pytest.fixture
def ready(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> HubSpotAdapter:
    """The adapter on a portal where ``connector setup`` has run (it creates the key property)."""
    adapter.setup(["acme_score"], {})
    sandbox.requests_clear()
    return adapter


def test_the_task_carries_its_key_and_find_task_finds_it(sandbox: HubSpotSandbox, ready: HubSpotAdapter) -> None:
    cid = _contact(sandbox)
    task = TaskRequest(cid, "Call", None, DUE, key="hubspot:m:1:hot:1#0")
    assert ready.find_task(task) is None
    task_id = ready.create_task(task)
    assert sandbox.store.get("tasks", task_id).properties["connector_action_key"] == task.key  # type: ignore[union-attr]
    assert ready.find_task(task) == task_id
    assert ready.find_task(TaskRequest(cid, "Call", None, DUE, key="hubspot:m:1:hot:2#0")) is None
    assert ready.find_task(TaskRequest(cid, "Call", None, DUE)) is None  # no key, nothing to look for


def test_creating_the_same_action_again_returns_the_existing_task(sandbox: HubSpotSandbox, ready: HubSpotAdapter, mapping: HubSpotMapping) -> None:
    cid = _contact(sandbox)
    task = TaskRequest(cid, "Call", "body", DUE, key="k#0")
    first = ready.create_task(task)
    assert ready.create_task(task) == first
    other = make_adapter(sandbox, mapping)  # a later run: a fresh adapter
    assert other.create_task(task) == first
    assert _keys(sandbox) == {"k#0": 1}
    assert len(_task_posts(sandbox)) == 1


def test_a_lost_answer_is_looked_up_not_resent(sandbox: HubSpotSandbox, ready: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot applied the POST but the answer never arrived: the next attempt finds the task instead of re-sending."""
    cid = _contact(sandbox)
    api = ready.tasks._create_once
    real_create = api.create
    calls = []

    def applied_then_lost(**kwargs: object) -> object:
        calls.append(1)
        real_create(**kwargs)
        raise CRMError("HubSpot unreachable on POST /crm/v3/objects/tasks: ProtocolError; retried and gave up", retryable=True)

    monkeypatch.setattr(api, "create", applied_then_lost)
    task_id = ready.create_task(TaskRequest(cid, "Call", None, DUE, key="lost#0"))
    assert calls == [1]
    assert _keys(sandbox) == {"lost#0": 1}
    assert sandbox.store.get("tasks", task_id) is not None


def test_a_refused_task_is_not_resent(sandbox: HubSpotSandbox, ready: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4xx means HubSpot created nothing and never will: raised at once, not retried, not quarantined as retryable."""
    cid = _contact(sandbox)
    api = ready.tasks._create_once
    calls = []

    def refused(**_: object) -> object:
        calls.append(1)
        raise CRMError("HubSpot answered 400 on POST /crm/v3/objects/tasks: Property values were not valid", status=400)

    monkeypatch.setattr(api, "create", refused)
    with pytest.raises(CRMError, match="400") as caught:
        ready.create_task(TaskRequest(cid, "Call", None, DUE, key="bad#0"))
    assert not caught.value.retryable and calls == [1]
    with pytest.raises(CRMError, match="404"):  # an unknown contact: its owner cannot be read, nothing is sent
        ready.create_task(TaskRequest("999", "Call", None, DUE, key="bad#1"))
    assert _task_posts(sandbox) == [] and _keys(sandbox) == {}


def test_under_faults_that_apply_the_write_every_action_has_exactly_one_task(sandbox: HubSpotSandbox, ready: HubSpotAdapter, mapping: HubSpotMapping) -> None:
    """30% of requests faulted (429, 5xx, dropped) after HubSpot applied them; failed calls are redone, as the next run does."""
    contacts = [_contact(sandbox) for _ in range(25)]
    sandbox.set_faults(rate=0.3, seed=5, kinds=("429", "500", "503", "drop"), writes="apply")
    ids: dict[str, str] = {}
    for i, cid in enumerate(contacts):
        task = TaskRequest(cid, f"Call {i}", None, DUE, key=f"faulty:{i}#0")
        for _run in range(10):
            try:
                ids[task.key] = make_adapter(sandbox, mapping).create_task(task)  # type: ignore[index]
                break
            except CRMError as exc:
                assert exc.retryable, exc
    sandbox.set_faults(rate=0.0)
    posts = _task_posts(sandbox)
    assert sum(1 for s in posts if s != 201) >= 5, f"only {posts.count(201)} clean POSTs of {len(posts)}: too few faulted to prove anything"
    assert len(ids) == len(contacts)
    assert _keys(sandbox) == {f"faulty:{i}#0": 1 for i in range(len(contacts))}
    assert all(sandbox.store.get("tasks", task_id) is not None for task_id in ids.values())


def test_without_the_property_tasks_are_still_created_with_a_warning(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, caplog: pytest.LogCaptureFixture) -> None:
    """A portal where setup was not re-run since the upgrade: the old behaviour, and a hint to run setup."""
    cid = _contact(sandbox)
    task = TaskRequest(cid, "Call", None, DUE, key="legacy#0")
    with caplog.at_level(logging.WARNING, logger="connector.adapters.hubspot.tasks"):
        task_id = adapter.create_task(task)
    assert sandbox.store.get("tasks", task_id) is not None
    assert "connector setup --crm hubspot" in caplog.text
    assert adapter.find_task(task) is None


def test_a_token_that_cannot_read_task_properties_still_creates_tasks(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def forbidden(**_: object) -> object:
        raise CRMError("HubSpot token is missing scope crm.schemas.tasks.read (403 on GET /crm/v3/properties/tasks/connector_action_key)", status=403)

    monkeypatch.setattr(adapter.client.properties, "get_by_name", forbidden)
    cid = _contact(sandbox)
    with caplog.at_level(logging.WARNING, logger="connector.adapters.hubspot.tasks"):
        task_id = adapter.create_task(TaskRequest(cid, "Call", None, DUE, key="scope#0"))
    assert sandbox.store.get("tasks", task_id) is not None
    assert "does not let this token read" in caplog.text and "403" in caplog.text


def test_setup_without_the_tasks_scope_still_sets_up_contacts(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real = adapter.client.properties.get_by_name

    def no_tasks_scope(**kwargs: t.Any) -> t.Any:
        if kwargs.get("object_type") == "tasks":
            raise CRMError("HubSpot token is missing scope crm.schemas.tasks.read (403)", status=403)
        return real(**kwargs)

    monkeypatch.setattr(adapter.client.properties, "get_by_name", no_tasks_scope)
    with caplog.at_level(logging.WARNING, logger="connector.adapters.hubspot.setup"):
        changed = adapter.setup(["acme_score"], {})
    assert changed == ["group lead_scoring", "property acme_score"]
    assert "not created" in caplog.text and "403" in caplog.text


def test_a_task_not_yet_searchable_is_found_through_the_contacts_associations(sandbox: HubSpotSandbox, ready: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot's search index lags a few seconds behind writes; right after a lost answer (and for a
    crash-cut ``running`` action) the adapter confirms a miss with a consistent association read."""
    cid = _contact(sandbox)
    for i in range(3):  # other tasks of the same contact, with other keys
        ready.create_task(TaskRequest(cid, f"Earlier {i}", None, DUE, key=f"earlier:{i}#0"))
    monkeypatch.setattr(ready.tasks, "_search_key", lambda key: None)  # the index has not caught up
    api = ready.tasks._create_once
    real_create = api.create

    def applied_then_lost(**kwargs: object) -> object:
        real_create(**kwargs)
        raise CRMError("HubSpot answered 502 on POST /crm/v3/objects/tasks: Bad Gateway", status=502, retryable=True)

    monkeypatch.setattr(api, "create", applied_then_lost)
    task = TaskRequest(cid, "Call", None, DUE, key="lagging#0")
    task_id = ready.create_task(task)
    assert _keys(sandbox)["lagging#0"] == 1
    assert ready.find_task(task) == task_id
    assert ready.find_task(TaskRequest(cid, "Call", None, DUE, key="never#0")) is None
