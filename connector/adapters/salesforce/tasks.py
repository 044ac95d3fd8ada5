"""``create_task`` trigger actions: Salesforce Tasks for the records' owners, in batches, each at most once.

Cost: one ``POST /composite/sobjects`` per 200 tasks (``allOrNone: false``, results in request
order), plus, only for tasks an earlier attempt may have created, one SOQL query per 200 keys.

Why a key: Salesforce has no idempotency key on create, and a create whose answer is lost (a 5xx, a
dropped connection) may or may not have created the tasks. Every task carries its trigger action's
key in a custom activity field (``tasks.key_field``, default ``Connector_Action_Key__c``, created
on ``Activity`` by ``connector setup`` and granted on Task), and :class:`TaskWriter`

* looks keys up only where an earlier attempt may have landed: requests marked ``attempted`` and,
  within a call, the tasks of a create whose answer was lost -- never for a task nobody sent;
* looks them up with ``SELECT Id, key FROM Task WHERE key IN (...)`` (SOQL reads are consistent:
  a task created is found at once), every key through ``format_soql``;
* sends each create once (the transport re-sends a POST only when it never arrived).

Without the field (setup not run), tasks are still created, with a warning that they are not
protected against duplicates.
"""

from __future__ import annotations

import logging
import typing as t

from simple_salesforce.format import format_soql

from connector.adapters.base import CRMError, TaskRequest, TaskResult
from connector.adapters.salesforce.client import RETRYABLE_CODES
from connector.adapters.salesforce.mapping import SalesforceMapping
from connector.adapters.salesforce.writer import COLLECTION_SIZE
from connector.scoring.records import utc

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["TaskWriter"]

log = logging.getLogger(__name__)


class TaskWriter:
    """Creates trigger-action tasks so that none is created twice."""

    def __init__(self, client: SalesforceClient, mapping: SalesforceMapping) -> None:
        self.client = client
        self.mapping = mapping
        self._keyed: bool | None = None

    @property
    def key_field(self) -> str:
        """The custom Task field holding the action key."""
        return self.mapping.tasks.key_field

    def keyed(self) -> bool:
        """Whether the integration user can write the key field on Task (read once per writer)."""
        if self._keyed is None:
            field = self.client.fields("Task").get(self.key_field)
            self._keyed = bool(field and field.get("createable"))
            if not self._keyed:
                log.warning(
                    "Salesforce Task has no field %s the integration user can write: tasks are created without their action key, "
                    "and a crash or a lost answer can create one twice. Run `connector setup --crm <name>` once.",
                    self.key_field,
                )
        return self._keyed

    def create(self, tasks: t.Sequence[TaskRequest]) -> TaskResult:
        """Create every task not created before (see the module docstring).

        Raises:
            CRMError: credentials refused or the org unreachable: no task could be handled.
        """
        created: dict[str, str] = {}
        failed: dict[str, tuple[str, bool]] = {}
        ready: list[TaskRequest] = []
        for task in tasks:
            if (task.owner_id or self.mapping.tasks.default_owner_id) is None:
                failed[task.key] = (f"cannot create task '{task.subject}' for {task.contact_id}: it has no owner and the mapping sets no tasks.default_owner_id", False)
            else:
                ready.append(task)
        keyed = bool(ready) and self.keyed()
        if keyed:
            earlier = [task.key for task in ready if task.attempted]
            if earlier:
                created.update(self.find(earlier))
                ready = [task for task in ready if task.key not in created]
        for start in range(0, len(ready), COLLECTION_SIZE):
            self._create_batch(ready[start : start + COLLECTION_SIZE], keyed, created, failed)
        return TaskResult(created, {k: v for k, v in failed.items() if k not in created})

    def find(self, keys: t.Sequence[str]) -> dict[str, str]:
        """Key -> id of the tasks that exist already (the oldest, should there be several)."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), COLLECTION_SIZE):
            part = unique[start : start + COLLECTION_SIZE]
            # The field name is validated by the mapping (a custom field API name); the keys go through format_soql.
            soql = format_soql(f"SELECT Id, {self.key_field} FROM Task WHERE {self.key_field} IN {{}} ORDER BY CreatedDate, Id", part)  # noqa: S608
            for record in self.client.query(soql):
                key = record.get(self.key_field)
                if key in part and key not in found:  # SOQL compares text without case; the key must match exactly
                    found[str(key)] = str(record["Id"])
        return found

    def _record(self, task: TaskRequest, keyed: bool) -> dict[str, t.Any]:
        record: dict[str, t.Any] = {
            "attributes": {"type": "Task"},
            "WhoId": task.contact_id,
            "OwnerId": task.owner_id or self.mapping.tasks.default_owner_id,
            "Subject": task.subject[:255],
            "ActivityDate": utc(task.due_at).date().isoformat(),
            "Status": "Not Started",
            "Priority": self.mapping.tasks.priority,
        }
        if task.body:
            record["Description"] = task.body
        if keyed:
            record[self.key_field] = task.key
        return record

    def _create_batch(self, batch: list[TaskRequest], keyed: bool, created: dict[str, str], failed: dict[str, tuple[str, bool]]) -> None:
        body = {"allOrNone": False, "records": [self._record(task, keyed) for task in batch]}
        try:
            results = self.client.rest("POST", "composite/sobjects", json=body)
        except CRMError as exc:
            if exc.status in (401, 403) or not exc.retryable:
                if exc.status in (401, 403):
                    raise
                for task in batch:
                    failed[task.key] = (str(exc), False)
                return
            # The answer was lost: the tasks may exist. Look the batch up; the rest is retried later.
            try:
                found = self.find([task.key for task in batch]) if keyed else {}
            except CRMError:
                found = {}  # the org is still unreachable: every task of the batch is looked up next time
            created.update(found)
            for task in batch:
                if task.key not in found:
                    failed[task.key] = (f"not confirmed ({exc}); looked up before the next attempt", True)
            return
        for task, result in zip(batch, results or [], strict=False):
            if isinstance(result, dict) and result.get("success"):
                created[task.key] = str(result["id"])
                continue
            errors = (result.get("errors") if isinstance(result, dict) else None) or [{}]
            code = str(errors[0].get("statusCode") or "UNKNOWN")
            failed[task.key] = (f"{code}: {errors[0].get('message') or 'no message'}", code in RETRYABLE_CODES)
        for task in batch:
            if task.key not in created and task.key not in failed:
                failed[task.key] = ("Salesforce did not confirm this task in its answer", True)
