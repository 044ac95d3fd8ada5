"""``connector setup --crm hubspot``: the property group, the output properties and the lists.

Idempotent by construction: everything is looked up first and only what is missing is created;
an enumeration's options are patched only when the models name an option the portal lacks (old
options are kept, since contacts may still hold them). A property that exists with a different type
is never changed: that is reported as an error for an admin to resolve.

Properties API: https://developers.hubspot.com/docs/api/crm/properties (create needs ``name,
label, type, fieldType, groupName`` and ``options`` for enumerations).

Setup also gives the *tasks* object the same property group and a text property
``connector_action_key``: each trigger-action task carries its action's key there, so that a task
is never created twice (see :mod:`.tasks`).
"""

from __future__ import annotations

import logging
import typing as t

from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate, PropertyUpdate

from connector.adapters.base import CRMError, OutputSpec
from connector.adapters.hubspot.lists import ListManager, band_filter, enumeration_filter
from connector.adapters.hubspot.mapping import HubSpotMapping
from connector.adapters.hubspot.properties import fetch_properties
from connector.adapters.hubspot.tasks import ACTION_KEY_PROPERTY

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["run_setup"]

log = logging.getLogger(__name__)

#: HubSpot (type, fieldType) per output kind.
_HS_TYPES: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "enumeration": ("enumeration", "select"),
    "text": ("string", "textarea"),
    "datetime": ("datetime", "date"),
}
_COMPATIBLE: dict[str, set[str]] = {"number": {"number"}, "enumeration": {"enumeration"}, "text": {"string"}, "datetime": {"datetime", "date"}}


def _ensure_group(client: HubSpotClient, mapping: HubSpotMapping, object_type: str = "contacts") -> bool:
    group = mapping.outputs.group
    try:
        client.call("GET", f"/crm/v3/properties/{object_type}/groups/{group}", client.groups.get_by_name, object_type=object_type, group_name=group)
        return False
    except CRMError as exc:
        if exc.status != 404:
            raise
    try:
        client.call(
            "POST", f"/crm/v3/properties/{object_type}/groups", client.groups.create,
            object_type=object_type, property_group_create=PropertyGroupCreate(name=group, label=mapping.outputs.group_label),
        )
    except CRMError as exc:
        if exc.status != 409:
            raise
    return True


def _ensure_task_key(client: HubSpotClient, mapping: HubSpotMapping) -> list[str]:
    """The task property holding a trigger action's key (and its group on tasks), if missing.

    Raises:
        CRMError: a task property of that name exists with another type.
    """
    changed: list[str] = []
    try:
        existing = client.call(
            "GET", f"/crm/v3/properties/tasks/{ACTION_KEY_PROPERTY}", client.properties.get_by_name,
            object_type="tasks", property_name=ACTION_KEY_PROPERTY,
        )
    except CRMError as exc:
        if exc.status != 404:
            raise
        existing = None
    if existing is not None:
        if existing.type != "string":
            raise CRMError(
                f"HubSpot setup cannot continue: task property '{ACTION_KEY_PROPERTY}' exists with type {existing.type}, "
                "the connector stores its action keys there as a string"
            )
        return changed
    if _ensure_group(client, mapping, "tasks"):
        changed.append(f"task group {mapping.outputs.group}")
    create = PropertyCreate(
        name=ACTION_KEY_PROPERTY,
        label="Connector action key",
        type="string",
        field_type="text",
        group_name=mapping.outputs.group,
        description="Written by the lead-scoring connector: the trigger action that created this task (never create it twice).",
    )
    try:
        client.call("POST", "/crm/v3/properties/tasks", client.properties.create, object_type="tasks", property_create=create)
    except CRMError as exc:
        if exc.status != 409:
            raise
    changed.append(f"task property {ACTION_KEY_PROPERTY}")
    return changed


#: A single checkbox (type ``bool``): HubSpot requires exactly these two options
#: (https://developers.hubspot.com/docs/api/crm/properties, "booleancheckbox").
_CHECKBOX_OPTIONS = [OptionInput(label="Yes", value="true", hidden=False, display_order=0), OptionInput(label="No", value="false", hidden=False, display_order=1)]


def _is_checkbox(spec: OutputSpec) -> bool:
    """A field a trigger sets to true/false: a checkbox, which workflows and filters read as yes/no."""
    return spec.role == "action" and spec.kind == "enumeration" and set(spec.options) == {"true", "false"}


def _options(values: t.Sequence[str]) -> list[OptionInput]:
    return [OptionInput(label=v, value=v, hidden=False, display_order=i) for i, v in enumerate(values)]


def run_setup(client: HubSpotClient, mapping: HubSpotMapping, specs: t.Sequence[OutputSpec], lists: ListManager) -> list[str]:
    """Make the portal hold every output property and list; return what was created or changed.

    Raises:
        CRMError: an existing property has an incompatible type (nothing is changed for it).
    """
    changed: list[str] = []
    if _ensure_group(client, mapping):
        changed.append(f"group {mapping.outputs.group}")
    portal = fetch_properties(client)
    conflicts: list[str] = []
    for spec in specs:
        hs_name = mapping.outputs.property_for(spec.name)
        hs_type, field_type = _HS_TYPES[spec.kind]
        checkbox = _is_checkbox(spec)
        existing = portal.get(hs_name)
        if existing is None:
            create = PropertyCreate(
                name=hs_name,
                label=spec.label or hs_name.replace("_", " ").capitalize(),
                type="bool" if checkbox else hs_type,
                field_type="booleancheckbox" if checkbox else field_type,
                group_name=mapping.outputs.group,
                description="Written by the lead-scoring connector" + (" (a trigger's set_property action)." if spec.role == "action" else "."),
                options=_CHECKBOX_OPTIONS if checkbox else _options(spec.options) if spec.kind == "enumeration" else None,
            )
            try:
                client.call("POST", "/crm/v3/properties/contacts", client.properties.create, object_type="contacts", property_create=create)
            except CRMError as exc:
                if exc.status != 409:
                    raise
            changed.append(f"property {hs_name}")
            continue
        if existing.type not in _COMPATIBLE[spec.kind] and not (checkbox and existing.type == "bool"):
            conflicts.append(f"property '{hs_name}' exists with type {existing.type}, the connector writes {hs_type}")
            continue
        if existing.read_only:
            conflicts.append(f"property '{hs_name}' is read-only in HubSpot; map output '{spec.name}' to another property")
            continue
        missing = [o for o in spec.options if o not in existing.options] if existing.type != "bool" else []
        if spec.kind == "enumeration" and missing:
            values = list(spec.options) + [o for o in existing.options if o not in spec.options]
            client.call(
                "PATCH", f"/crm/v3/properties/contacts/{hs_name}", client.properties.update,
                object_type="contacts", property_name=hs_name, property_update=PropertyUpdate(options=_options(values)),
            )
            changed.append(f"options of {hs_name} (+{', '.join(missing)})")
    if conflicts:
        raise CRMError("HubSpot setup cannot continue: " + "; ".join(conflicts))
    try:
        changed += _ensure_task_key(client, mapping)
    except CRMError as exc:
        if exc.status != 403:
            raise
        # Contacts and lists matter more than the key: set them up, say what is missing.
        log.warning("task property %s not created (%s): tasks will be created without their action key", ACTION_KEY_PROPERTY, exc)
    if mapping.lists.stage_lists:
        for spec in specs:
            if spec.role != "stage":
                continue
            hs_name = mapping.outputs.property_for(spec.name)
            for stage in spec.options:
                name = mapping.lists.stage_list_name.format(model=spec.model or spec.name, stage=stage)
                result = lists.ensure_dynamic(name, enumeration_filter(hs_name, [stage]))
                if result:
                    changed.append(f"list '{name}' ({result})")
    known = {mapping.outputs.property_for(spec.name) for spec in specs} | set(portal)
    for band in mapping.lists.score_bands:
        target = mapping.outputs.property_for(band.output)
        if target not in known:
            # The band belongs to a model not being set up now; its list waits for that model's setup.
            log.info("score band list %r skipped: property %r does not exist yet", band.name, target)
            continue
        result = lists.ensure_dynamic(band.name, band_filter(target, band.min, band.max))
        if result:
            changed.append(f"list '{band.name}' ({result})")
    return changed
