"""``create_task`` trigger actions: a HubSpot task for the contact's owner, associated with the contact.

The owner is the contact's ``hubspot_owner_id`` (read when the task is created, so a reassignment
since the last pull is honoured), else the mapping's ``tasks.default_owner_id``. Tasks API:
https://developers.hubspot.com/docs/api/crm/tasks (association type 204 = task -> contact).
"""

from __future__ import annotations

import typing as t

from hubspot.crm.objects.tasks import AssociationSpec, PublicAssociationsForObject, PublicObjectId, SimplePublicObjectInputForCreate

from connector.adapters.base import CRMError, TaskRequest
from connector.adapters.hubspot.mapping import HubSpotMapping
from connector.scoring.records import utc

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["TASK_TO_CONTACT", "create_task"]

TASK_TO_CONTACT = 204


def _owner_of(client: HubSpotClient, mapping: HubSpotMapping, contact_id: str) -> str | None:
    prop = mapping.contacts.owner_property
    answer = client.call(
        "GET", f"/crm/v3/objects/contacts/{contact_id}", client.contacts_basic.get_by_id, contact_id=contact_id, properties=[prop]
    )
    owner = (answer.properties or {}).get(prop)
    return str(owner) if owner else None


def create_task(client: HubSpotClient, mapping: HubSpotMapping, task: TaskRequest) -> str:
    """Create the task; return its HubSpot id.

    Raises:
        CRMError: the contact has no owner and the mapping names no default owner, or HubSpot refused.
    """
    owner = _owner_of(client, mapping, task.contact_id) or mapping.tasks.default_owner_id
    if owner is None:
        raise CRMError(
            f"cannot create task '{task.subject}' for contact {task.contact_id}: it has no {mapping.contacts.owner_property} "
            "and the mapping sets no tasks.default_owner_id"
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
    request = SimplePublicObjectInputForCreate(
        properties=properties,
        associations=[
            PublicAssociationsForObject(
                to=PublicObjectId(id=task.contact_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_CONTACT)],
            )
        ],
    )
    answer = client.call("POST", "/crm/v3/objects/tasks", client.tasks.create, simple_public_object_input_for_create=request)
    return str(answer.id)
