"""``create_task`` trigger actions: a HubSpot task for the contact's owner, created at most once.

The owner is the contact's ``hubspot_owner_id`` (read when the task is created, so a reassignment
since the last pull is honoured), else the mapping's ``tasks.default_owner_id``. Tasks API:
https://developers.hubspot.com/docs/api/crm/tasks (association type 204 = task -> contact).

Why the extra machinery: HubSpot's task API has no idempotency key, and a POST whose answer is lost
(a 5xx, a dropped connection, a timeout -- or a 429 that a proxy answered after the write) may or
may not have created the task. So every task carries the trigger action's key in a custom task
property, :data:`ACTION_KEY_PROPERTY` (``connector setup`` creates it; tasks support custom
properties: https://developers.hubspot.com/docs/api/crm/properties), and :class:`TaskWriter`

* looks the key up with CRM search on the tasks object (``EQ`` filter,
  https://developers.hubspot.com/docs/api/crm/search) before *every* POST -- the first one too,
  because an earlier run may have sent it and failed to hear the answer;
* sends each POST exactly once through a single-attempt copy of the transport (the shared pool
  would re-send a 429 blindly), and after an ambiguous failure backs off, looks again, and only
  then re-sends.

CRM search is eventually consistent: a task takes a few seconds to become searchable. Where a task
may have been created only moments ago -- the look-up after an ambiguous failure, and ``find_task``,
which the sync engine calls for an action a crash left ``running`` (a restarted service may be back
within seconds) -- a search that finds nothing is confirmed by a consistent read: the contact's
task associations (``POST /crm/v4/associations/contacts/tasks/batch/read``,
https://developers.hubspot.com/docs/api/crm/associations/v4) and those tasks' keys
(``POST /crm/v3/objects/tasks/batch/read``).

Without the property in the portal (setup not re-run after an upgrade), tasks are still created,
as before, with a warning that they are not protected against duplicates.
"""

from __future__ import annotations

import dataclasses as dc
import logging
import random
import typing as t

import hubspot.crm.objects.tasks as tasks_sdk
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest, PublicFetchAssociationsBatchRequest
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)

from connector.adapters.base import CRMError, TaskRequest
from connector.adapters.hubspot.mapping import HubSpotMapping
from connector.adapters.hubspot.retry import RetryingPool
from connector.scoring.records import utc

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["ACTION_KEY_PROPERTY", "TASK_TO_CONTACT", "TaskWriter"]

log = logging.getLogger(__name__)

TASK_TO_CONTACT = 204
#: The custom task property holding the trigger action's idempotency key.
ACTION_KEY_PROPERTY = "connector_action_key"
_TASKS = "/crm/v3/objects/tasks"
_READ_BATCH = 100


def _owner_of(client: HubSpotClient, mapping: HubSpotMapping, contact_id: str) -> str | None:
    prop = mapping.contacts.owner_property
    answer = client.call(
        "GET", f"/crm/v3/objects/contacts/{contact_id}", client.contacts_basic.get_by_id, contact_id=contact_id, properties=[prop]
    )
    owner = (answer.properties or {}).get(prop)
    return str(owner) if owner else None


def _task_input(client: HubSpotClient, mapping: HubSpotMapping, task: TaskRequest, *, keyed: bool) -> SimplePublicObjectInputForCreate:
    """The create request: owner, subject, due time, the action key, the association to the contact."""
    owner = _owner_of(client, mapping, task.contact_id) or mapping.tasks.default_owner_id
    if owner is None:
        raise CRMError(
            f"cannot create task '{task.subject}' for contact {task.contact_id}: it has no {mapping.contacts.owner_property} "
            "and the mapping sets no tasks.default_owner_id",
            retryable=False,
        )
    properties = {
        "hs_task_subject": task.subject,
        "hs_timestamp": str(int(utc(task.due_at).timestamp() * 1000)),
        "hubspot_owner_id": owner,
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
    }
    if task.body:
        properties["hs_task_body"] = task.body
    if mapping.tasks.priority:
        properties["hs_task_priority"] = mapping.tasks.priority
    if keyed and task.key:
        properties[ACTION_KEY_PROPERTY] = task.key
    return SimplePublicObjectInputForCreate(
        properties=properties,
        associations=[
            PublicAssociationsForObject(
                to=PublicObjectId(id=task.contact_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_CONTACT)],
            )
        ],
    )


def _tasks_api(client: HubSpotClient, name: str, *, attempts: int | None = None) -> t.Any:
    """An SDK tasks API on a transport like the client's (gated, counted, authenticated).

    Built as :class:`HubSpotClient` builds its APIs; ``attempts=1`` gives a transport that sends
    each request once: re-sending a create is :class:`TaskWriter`'s decision, taken only after
    looking the key up. Searches keep the client's retries (they are safe to repeat).
    """
    configuration = tasks_sdk.Configuration(host=client.base_url)
    configuration.client_side_validation = True
    api_client = tasks_sdk.ApiClient(configuration=configuration)
    api_client.user_agent = "lead-scoring-connector (hubspot-api-client)"
    policy = client.policy if attempts is None else dc.replace(client.policy, attempts=attempts)
    api_client.rest_client.pool_manager = RetryingPool(
        api_client.rest_client.pool_manager, auth=client.auth, gate=client.gate, stats=client.stats, policy=policy
    )
    return getattr(tasks_sdk, name)(api_client=api_client)


class TaskWriter:
    """Creates trigger-action tasks so that none is created twice; finds one by its action key.

    Args:
        client: the adapter's client (gate, counters, token, retry policy are shared).
        mapping: the loaded mapping (owner property, default owner, priority).
    """

    def __init__(self, client: HubSpotClient, mapping: HubSpotMapping) -> None:
        self.client = client
        self.mapping = mapping
        self._create_once = _tasks_api(client, "BasicApi", attempts=1)
        self._search = _tasks_api(client, "SearchApi")
        self._batch = _tasks_api(client, "BatchApi")
        self._keyed: bool | None = None

    def keyed(self) -> bool:
        """Whether the portal has the key property (read once per writer, i.e. once per adapter)."""
        if self._keyed is not None:
            return self._keyed
        try:
            self.client.call(
                "GET", f"/crm/v3/properties/tasks/{ACTION_KEY_PROPERTY}", self.client.properties.get_by_name,
                object_type="tasks", property_name=ACTION_KEY_PROPERTY,
            )
        except CRMError as exc:
            if exc.status not in (403, 404):
                raise
            # Missing (setup not re-run since upgrading) or unreadable with this token's scopes:
            # tasks still get created, as before the key existed, but the admin is told the risk.
            why = "has no task property" if exc.status == 404 else "does not let this token read the task property"
            log.warning(
                "HubSpot %s %r: tasks are created without their action key and a crash or a lost answer can create "
                "one twice. Run `connector setup --crm hubspot` once to create it (and grant the token the scope it names: %s).",
                why, ACTION_KEY_PROPERTY, exc,
            )
            self._keyed = False
            return False
        self._keyed = True
        return True

    def find(self, task: TaskRequest, *, recent: bool = True) -> str | None:
        """The id of the task carrying ``task.key`` (the oldest, should there be several), or None.

        Args:
            task: the request; its ``key`` is looked for, among its contact's tasks if need be.
            recent: the task may have been created seconds ago, so a search that finds nothing
                is confirmed with the contact's task associations (see the module docstring).
        """
        key = task.key
        if not key or not self.keyed():
            return None
        found = self._search_key(key)
        if found is None and recent:
            found = self._contact_task_with_key(task.contact_id, key)
        return found

    def _search_key(self, key: str) -> str | None:
        """CRM search on tasks: ``connector_action_key EQ key``."""
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name=ACTION_KEY_PROPERTY, operator="EQ", value=key)])],
            properties=[ACTION_KEY_PROPERTY],
            sorts=["hs_object_id"],
            limit=10,
        )
        answer = self.client.call("POST", f"{_TASKS}/search", self._search.do_search, public_object_search_request=request)
        # EQ on a string property ignores case in HubSpot; the key itself must match exactly.
        ids = [str(r.id) for r in answer.results or [] if (r.properties or {}).get(ACTION_KEY_PROPERTY) == key]
        return min(ids, key=_numeric) if ids else None

    def _contact_task_with_key(self, contact_id: str, key: str) -> str | None:
        """Consistent read: the contact's tasks (all association pages), then their keys, 100 per call."""
        task_ids: list[str] = []
        after: str | None = None
        while True:
            item = PublicFetchAssociationsBatchRequest(id=contact_id, after=after) if after else PublicFetchAssociationsBatchRequest(id=contact_id)
            answer = self.client.call(
                "POST", "/crm/v4/associations/contacts/tasks/batch/read", self.client.associations.get_page,
                from_object_type="contacts", to_object_type="tasks",
                batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(inputs=[item]),
            )
            after = None
            for result in answer.results or []:
                task_ids.extend(str(to.to_object_id) for to in result.to or [])
                nxt = result.paging.next if getattr(result, "paging", None) is not None else None
                if nxt is not None and nxt.after:
                    after = str(nxt.after)
            if after is None:
                break
        matches = []
        unique = list(dict.fromkeys(task_ids))
        for i in range(0, len(unique), _READ_BATCH):
            request = BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=tid) for tid in unique[i : i + _READ_BATCH]], properties=[ACTION_KEY_PROPERTY], properties_with_history=[]
            )
            answer = self.client.call("POST", f"{_TASKS}/batch/read", self._batch.read, batch_read_input_simple_public_object_id=request)
            matches += [str(r.id) for r in answer.results or [] if (r.properties or {}).get(ACTION_KEY_PROPERTY) == key]
        return min(matches, key=_numeric) if matches else None

    def create(self, task: TaskRequest) -> str:
        """Create the task unless it exists; return its HubSpot id.

        Raises:
            CRMError: no owner and no default owner, HubSpot refused, or every attempt failed
                (retryable then: the next run looks the key up before trying again).
        """
        keyed = bool(task.key) and self.keyed()
        request = _task_input(self.client, self.mapping, task, keyed=keyed)
        if not keyed:
            if task.key:
                log.warning("task for action %s is created without its key (no %s property)", task.key, ACTION_KEY_PROPERTY)
            answer = self.client.call("POST", _TASKS, self.client.tasks.create, simple_public_object_input_for_create=request)
            return str(answer.id)
        key = task.key
        policy = self.client.policy
        last: CRMError | None = None
        for attempt in range(max(1, policy.attempts)):
            if attempt:
                base = min(policy.initial * (2 ** (attempt - 1)), policy.maximum)
                policy.sleep(base + random.uniform(0, policy.jitter * base))
            # Before the first POST only an earlier run can have sent it (long enough ago to be
            # searchable); after a lost answer the task may be seconds old.
            found = self.find(task, recent=attempt > 0)
            if found is not None:
                if attempt:
                    log.info("action %s: the task was created by an attempt whose answer was lost (task %s)", key, found)
                return found
            try:
                answer = self.client.call("POST", _TASKS, self._create_once.create, simple_public_object_input_for_create=request)
            except CRMError as exc:
                if not exc.retryable:
                    raise
                last = exc
                self.client.stats.retries += 1
                continue
            return str(answer.id)
        assert last is not None
        raise last

    def close(self) -> None:
        """Release this writer's connections."""
        for api in (self._create_once, self._search, self._batch):
            api.api_client.rest_client.pool_manager.clear()


def _numeric(task_id: str) -> tuple[int, str]:
    return (int(task_id), task_id) if task_id.isdigit() else (0, task_id)
