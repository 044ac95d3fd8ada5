"""``create_task`` trigger actions: HubSpot tasks for the contacts' owners, in batches, each at most once.

Cost: one ``POST /crm/v3/objects/tasks/batch/create`` per 100 tasks, associations to the contacts
inline (https://developers.hubspot.com/docs/api-reference/legacy/crm/activities/tasks/batch/create-tasks;
association type 204 = task -> contact), plus one read of the key property per adapter (below).
The owner is the one pulled with the contact (``TaskRequest.owner_id``); contacts stored before
owners were pulled are read in one ``POST /crm/v3/objects/contacts/batch/read`` per 100; then the
mapping's ``tasks.default_owner_id``.

Why the key: HubSpot's task API has no idempotency key, and a create whose answer is lost (a 5xx,
a dropped connection, a timeout) may or may not have created the tasks. So every task carries its
trigger action's key in a custom task property, :data:`ACTION_KEY_PROPERTY` (``connector setup``
creates it; tasks support custom properties: https://developers.hubspot.com/docs/api/crm/properties),
and :class:`TaskWriter`

* looks keys up only where an earlier attempt may have landed: requests marked ``attempted`` (the
  sync engine knows which actions were sent before) and, within a call, the tasks of a create whose
  answer was lost -- never for a task nobody sent yet;
* looks them up in one CRM search per 100 values, an ``IN`` filter on the key property
  (https://developers.hubspot.com/docs/api/crm/search). HubSpot matches string values of ``IN``
  in lower case, so each key is sent as written and lower-cased, and only an exact match counts;
* sends each create once through a single-attempt copy of the transport (the shared pool would
  re-send blindly), and after an ambiguous failure backs off, looks the batch up, and creates only
  what is still missing.

CRM search is eventually consistent: a task takes a few seconds to become searchable. So a key the
search does not find is confirmed by a consistent read before it is created again: the contacts'
task associations (``POST /crm/v4/associations/contacts/tasks/batch/read``,
https://developers.hubspot.com/docs/api/crm/associations/v4) and those tasks' keys
(``POST /crm/v3/objects/tasks/batch/read``). That read happens only on the rare path (after a crash
or a lost answer), never for tasks nobody sent.

A batch HubSpot refuses over its content (400: an invalid owner, a deleted contact) creates nothing;
it is halved until the bad tasks are found, so the others are still created (the adapter isolates
bad records, see :mod:`connector.adapters.base`).

Without the property in the portal (setup not re-run after an upgrade), tasks are still created,
with a warning that they are not protected against duplicates.
"""

from __future__ import annotations

import dataclasses as dc
import json
import logging
import random
import typing as t

import hubspot.crm.objects.tasks as tasks_sdk
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest, PublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId as ContactsBatchRead
from hubspot.crm.contacts import SimplePublicObjectId as ContactId
from hubspot.crm.objects.tasks import BatchReadInputSimplePublicObjectId, Filter, FilterGroup, PublicObjectSearchRequest, SimplePublicObjectId

from connector.adapters.base import CRMError, TaskRequest, TaskResult
from connector.adapters.hubspot.client import PlainJSON
from connector.adapters.hubspot.mapping import HubSpotMapping
from connector.scoring.records import utc

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["ACTION_KEY_PROPERTY", "BATCH_SIZE", "TASK_TO_CONTACT", "TaskWriter"]

log = logging.getLogger(__name__)

TASK_TO_CONTACT = 204
#: The custom task property holding the trigger action's idempotency key.
ACTION_KEY_PROPERTY = "connector_action_key"
#: Tasks per batch create, and per batch read.
BATCH_SIZE = 100
#: Values per ``IN`` filter of a key search (HubSpot documents no larger bound we rely on).
_IN_VALUES = 100
_TASKS = "/crm/v3/objects/tasks"
_CREATE = f"{_TASKS}/batch/create"
_RETRYABLE_CATEGORIES = {"RATE_LIMITS", "RATE_LIMIT", "INTERNAL_ERROR", "TIMEOUT", "SERVICE_UNAVAILABLE"}


@dc.dataclass
class _Outcome:
    """Created ids and failures by key, filled as batches are answered."""

    created: dict[str, str] = dc.field(default_factory=dict)
    failed: dict[str, tuple[str, bool]] = dc.field(default_factory=dict)


def _numeric(task_id: str) -> tuple[int, str]:
    return (int(task_id), task_id) if task_id.isdecimal() else (0, task_id)


def _oldest(found: dict[str, str], key: str, task_id: str) -> None:
    """Keep the oldest task of a key, should there ever be several."""
    if key not in found or _numeric(task_id) < _numeric(found[key]):
        found[key] = task_id


class TaskWriter:
    """Creates trigger-action tasks in batches so that none is created twice.

    Args:
        client: the adapter's client (gate, counters, token, retry policy are shared).
        mapping: the loaded mapping (default owner, priority).
    """

    def __init__(self, client: HubSpotClient, mapping: HubSpotMapping) -> None:
        self.client = client
        self.mapping = mapping
        self._create_once = client.api(tasks_sdk, "BatchApi", auth=client.auth, policy=dc.replace(client.policy, attempts=1))
        self._search = client.api(tasks_sdk, "SearchApi", auth=client.auth)
        self._batch = client.api(tasks_sdk, "BatchApi", auth=client.auth)
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
                "one twice. Run `connector setup` once to create it (and grant the token the scope it names: %s).",
                why, ACTION_KEY_PROPERTY, exc,
            )
            self._keyed = False
            return False
        self._keyed = True
        return True

    def create(self, tasks: t.Sequence[TaskRequest]) -> TaskResult:
        """Create every task not created before; see the module docstring.

        Raises:
            CRMError: the credentials were refused (401/403): no task can be created at all.
        """
        out = _Outcome()
        ready: list[TaskRequest] = []
        unknown = [task.contact_id for task in tasks if task.owner_id is None]
        owners = self._owners(unknown) if unknown else {}
        tasks = [task if task.owner_id is not None else dc.replace(task, owner_id=owners.get(task.contact_id)) for task in tasks]
        for task in tasks:
            if (task.owner_id or self.mapping.tasks.default_owner_id) is None:
                out.failed[task.key] = (
                    f"cannot create task '{task.subject}' for contact {task.contact_id}: it has no {self.mapping.contacts.owner_property} "
                    "and the mapping sets no tasks.default_owner_id",
                    False,
                )
            else:
                ready.append(task)
        if not ready:
            return TaskResult(out.created, out.failed)
        keyed = self.keyed()
        if keyed:
            earlier = [task for task in ready if task.attempted]
            if earlier:
                out.created.update(self.find(earlier))
                ready = [task for task in ready if task.key not in out.created]
        for start in range(0, len(ready), BATCH_SIZE):
            self._create_batch(ready[start : start + BATCH_SIZE], keyed, out)
        return TaskResult(out.created, {key: why for key, why in out.failed.items() if key not in out.created})

    def _owners(self, contact_ids: t.Sequence[str]) -> dict[str, str]:
        """The owners of contacts whose owner was not pulled with them (stored by an older version)."""
        prop = self.mapping.contacts.owner_property
        out: dict[str, str] = {}
        unique = list(dict.fromkeys(contact_ids))
        for start in range(0, len(unique), BATCH_SIZE):
            request = ContactsBatchRead(inputs=[ContactId(id=cid) for cid in unique[start : start + BATCH_SIZE]], properties=[prop], properties_with_history=[])
            try:
                answer = self.client.call("POST", "/crm/v3/objects/contacts/batch/read", self.client.contacts_batch.read, batch_read_input_simple_public_object_id=request)
            except CRMError as exc:
                if exc.status in (401, 403):
                    raise
                log.warning("could not read the owners of %d contacts (%s); their tasks go to the default owner", len(unique[start : start + BATCH_SIZE]), exc)
                continue
            for record in answer.results or []:
                owner = (record.properties or {}).get(prop)
                if owner:
                    out[str(record.id)] = str(owner)
        return out

    # -- looking keys up ---------------------------------------------------------------------------

    def find(self, tasks: t.Sequence[TaskRequest]) -> dict[str, str]:
        """Key -> id of the tasks that exist already: a key search, misses confirmed by association reads."""
        if not tasks or not self.keyed():
            return {}
        found = self._search_keys([task.key for task in tasks])
        missing = [task for task in tasks if task.key not in found]
        if missing:
            found.update(self._keys_among_contacts_tasks(missing))
        return found

    def _search_keys(self, keys: t.Sequence[str]) -> dict[str, str]:
        """CRM search on tasks: ``connector_action_key IN (...)``, each key as written and lower-cased."""
        wanted = set(keys)
        found: dict[str, str] = {}
        groups: list[list[str]] = [[]]
        for key in dict.fromkeys(keys):
            values = list(dict.fromkeys([key, key.lower()]))
            if len(groups[-1]) + len(values) > _IN_VALUES:
                groups.append([])
            groups[-1].extend(values)
        for values in groups:
            after: str | None = None
            while values:
                request = PublicObjectSearchRequest(
                    filter_groups=[FilterGroup(filters=[Filter(property_name=ACTION_KEY_PROPERTY, operator="IN", values=values)])],
                    properties=[ACTION_KEY_PROPERTY],
                    sorts=["hs_object_id"],
                    limit=200,
                    after=after,
                )
                answer = self.client.call("POST", f"{_TASKS}/search", self._search.do_search, public_object_search_request=request)
                for record in answer.results or []:
                    value = (record.properties or {}).get(ACTION_KEY_PROPERTY)
                    if value in wanted:  # IN on a string ignores case; the key itself must match exactly
                        _oldest(found, str(value), str(record.id))
                nxt = answer.paging.next if answer.paging is not None else None
                after = str(nxt.after) if nxt is not None and nxt.after else None
                if after is None:
                    break
        return found

    def _keys_among_contacts_tasks(self, tasks: t.Sequence[TaskRequest]) -> dict[str, str]:
        """Consistent read: the contacts' tasks (every association page), then those tasks' keys."""
        wanted = {task.key for task in tasks}
        task_ids: list[str] = []
        contacts = list(dict.fromkeys(task.contact_id for task in tasks))
        for start in range(0, len(contacts), BATCH_SIZE):
            todo = [PublicFetchAssociationsBatchRequest(id=cid) for cid in contacts[start : start + BATCH_SIZE]]
            while todo:
                answer = self.client.call(
                    "POST", "/crm/v4/associations/contacts/tasks/batch/read", self.client.associations.get_page,
                    from_object_type="contacts", to_object_type="tasks",
                    batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(inputs=todo),
                )
                todo = []
                for result in answer.results or []:
                    task_ids.extend(str(to.to_object_id) for to in result.to or [])
                    nxt = result.paging.next if getattr(result, "paging", None) is not None else None
                    if nxt is not None and nxt.after:
                        todo.append(PublicFetchAssociationsBatchRequest(id=str(result._from.id), after=str(nxt.after)))
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(task_ids))
        for start in range(0, len(unique), BATCH_SIZE):
            request = BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=tid) for tid in unique[start : start + BATCH_SIZE]], properties=[ACTION_KEY_PROPERTY], properties_with_history=[]
            )
            answer = self.client.call("POST", f"{_TASKS}/batch/read", self._batch.read, batch_read_input_simple_public_object_id=request)
            for record in answer.results or []:
                key = (record.properties or {}).get(ACTION_KEY_PROPERTY)
                if key in wanted:
                    _oldest(found, key, str(record.id))
        return found

    # -- creating ----------------------------------------------------------------------------------

    def _input(self, task: TaskRequest, *, keyed: bool) -> dict[str, t.Any]:
        """One create input (plain JSON of HubSpot's ``SimplePublicObjectBatchInputForCreate``)."""
        properties = {
            "hs_task_subject": task.subject,
            "hs_timestamp": str(int(utc(task.due_at).timestamp() * 1000)),
            "hubspot_owner_id": task.owner_id or self.mapping.tasks.default_owner_id,
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
        }
        if task.body:
            properties["hs_task_body"] = task.body
        if self.mapping.tasks.priority:
            properties["hs_task_priority"] = self.mapping.tasks.priority
        if keyed:
            properties[ACTION_KEY_PROPERTY] = task.key
        return {
            "properties": properties,
            # Echoed back with the created record: matches results to inputs whatever their order.
            "objectWriteTraceId": task.key,
            "associations": [{"to": {"id": task.contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}]}],
        }

    def _create_batch(self, batch: list[TaskRequest], keyed: bool, out: _Outcome) -> None:
        """Create ``batch`` (at most 100); retry an ambiguous failure only after looking the batch up."""
        policy = self.client.policy
        pending = batch
        last: CRMError | None = None
        for attempt in range(max(1, policy.attempts)):
            if attempt:
                base = min(policy.initial * (2 ** (attempt - 1)), policy.maximum)
                policy.sleep(base + random.uniform(0, policy.jitter * base))
            if last is not None:  # even a 429 may come from a proxy after HubSpot applied the create
                found = self.find(pending)  # the lost answer may have carried created tasks
                if found:
                    log.info("%d task(s) were created by an attempt whose answer was lost", len(found))
                out.created.update(found)
                pending = [task for task in pending if task.key not in found]
                if not pending:
                    return
            try:
                self._post(pending, keyed, out)
                return
            except CRMError as exc:
                if exc.status in (401, 403):
                    raise
                if not exc.retryable:
                    self._isolate(pending, keyed, exc, out)
                    return
                last = exc
                if not keyed:
                    break  # nothing to look up: a blind re-send could create duplicates; the next run tries again
                self.client.stats.retries += 1
        assert last is not None
        for task in pending:
            out.failed[task.key] = (str(last), True)

    def _isolate(self, batch: list[TaskRequest], keyed: bool, exc: CRMError, out: _Outcome) -> None:
        """A batch refused over its content created nothing: halve it to find the bad tasks."""
        if len(batch) == 1:
            out.failed[batch[0].key] = (str(exc), False)
            return
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            self._create_batch(half, keyed, out)

    def _post(self, batch: list[TaskRequest], keyed: bool, out: _Outcome) -> None:
        """One batch create; its answer read as plain JSON (201 ``results``, or 207 with ``errors``).

        Raises:
            CRMError: the call failed as a whole (see :meth:`HubSpotClient.call`), or its answer is
                unreadable (retryable: the tasks may or may not exist; the retry looks them up).
        """
        if not keyed and any(task.attempted for task in batch):
            log.warning("%d task(s) sent before are created again without their key (no %s property)", sum(t.attempted for t in batch), ACTION_KEY_PROPERTY)
        request = PlainJSON(inputs=[self._input(task, keyed=keyed) for task in batch])
        raw = self.client.call("POST", _CREATE, self._create_once.create, batch_input_simple_public_object_batch_input_for_create=request, _preload_content=False)
        try:
            data = raw.data
        finally:
            raw.release_conn()
        try:
            body = json.loads(data)
            results = body["results"]
            errors = body.get("errors") or []
            if not isinstance(results, list) or not isinstance(errors, list):
                raise TypeError("'results' or 'errors' is not a list")
        except (ValueError, TypeError, KeyError) as exc:
            raise CRMError(f"HubSpot answered POST {_CREATE} with something unreadable: {exc}", retryable=True) from None
        keys = {task.key for task in batch}
        for record in results:
            if not isinstance(record, dict) or record.get("id") in (None, ""):
                continue
            key = record.get("objectWriteTraceId") or (record.get("properties") or {}).get(ACTION_KEY_PROPERTY)
            if key in keys:
                out.created[key] = str(record["id"])
        for error in errors:
            if not isinstance(error, dict):
                continue
            context = error.get("context") or {}
            named = {str(v) for vs in context.values() if isinstance(vs, list) for v in vs} & keys if isinstance(context, dict) else set()
            category = str(error.get("category") or "")
            retry = category.upper() in _RETRYABLE_CATEGORIES or str(error.get("status") or "").startswith("5")
            for key in named - set(out.created):
                out.failed[key] = (f"{category or 'error'}: {error.get('message') or 'no message'}", retry)
        for task in batch:
            if task.key not in out.created and task.key not in out.failed:
                # Not confirmed either way: the next attempt looks it up before creating it.
                out.failed[task.key] = ("HubSpot did not confirm this task in its answer", True)
