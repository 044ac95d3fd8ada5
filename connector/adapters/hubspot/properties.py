"""The portal's contact properties as plain data: read once, used by check, setup and the writer.

``GET /crm/v3/properties/contacts`` (https://developers.hubspot.com/docs/api/crm/properties)
answers every property with ``type`` (string, number, date, datetime, enumeration, bool),
``fieldType``, ``options`` and ``modificationMetadata.readOnlyValue``.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["PortalProperty", "fetch_properties"]


@dc.dataclass(frozen=True, slots=True)
class PortalProperty:
    """One contact property as the portal defines it."""

    name: str
    type: str
    field_type: str | None
    group_name: str | None
    options: tuple[str, ...]
    read_only: bool
    label: str | None = None


def fetch_properties(client: HubSpotClient) -> dict[str, PortalProperty]:
    """All contact properties of the portal, by name (one API call)."""
    answer = client.call("GET", "/crm/v3/properties/contacts", client.properties.get_all, object_type="contacts", archived=False)
    out: dict[str, PortalProperty] = {}
    for prop in answer.results or []:
        meta = getattr(prop, "modification_metadata", None)
        read_only = bool(getattr(meta, "read_only_value", False)) or bool(getattr(prop, "calculated", False))
        out[prop.name] = PortalProperty(
            name=prop.name,
            type=str(prop.type or "string"),
            field_type=getattr(prop, "field_type", None),
            group_name=getattr(prop, "group_name", None),
            options=tuple(str(o.value) for o in (prop.options or [])),
            read_only=read_only,
            label=getattr(prop, "label", None),
        )
    return out
