"""Properties v3 and property groups: read, create, update.

https://developers.hubspot.com/docs/api/crm/properties
"""

from __future__ import annotations

import dataclasses
import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.errors import not_found, validation_error
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.properties import PropertyDef, PropertyGroup, canonical_object_type

__all__ = ["register"]

_UPDATABLE = {"label": "label", "description": "description", "groupName": "group_name", "type": "type",
              "fieldType": "field_type", "displayOrder": "display_order"}


def _options(raw: t.Any, where: str) -> list[dict[str, t.Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error(f"{where} must be a list")
    out = []
    for i, opt in enumerate(raw):
        if not isinstance(opt, dict) or opt.get("value") in (None, "") or opt.get("label") in (None, ""):
            raise validation_error(f"{where}[{i}] needs a label and a value")
        out.append({"label": str(opt["label"]), "value": str(opt["value"]), "description": str(opt.get("description") or ""),
                    "displayOrder": int(opt.get("displayOrder", i) if opt.get("displayOrder") is not None else i),
                    "hidden": bool(opt.get("hidden", False))})
    return out


def register(router: Router, portal: Portal) -> None:
    """Add the property routes."""
    catalog = portal.store.catalog

    @router.route("GET", "/crm/v3/properties/{objectType}/groups")
    def groups(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        return Response.json({"results": [g.to_json() for g in catalog.groups(object_type)]})

    @router.route("POST", "/crm/v3/properties/{objectType}/groups")
    def create_group(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        body = req.json()
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise validation_error("a property group needs 'name' and 'label'")
        group = catalog.add_group(object_type, PropertyGroup(str(body["name"]), str(body["label"]), int(body.get("displayOrder", -1))))
        return Response.json(group.to_json(), 201)

    @router.route("GET", "/crm/v3/properties/{objectType}/groups/{groupName}")
    def get_group(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        group = catalog.group(object_type, req.path_params["groupName"])
        if group is None:
            raise not_found(f"Unable to find property group {req.path_params['groupName']}")
        return Response.json(group.to_json())

    @router.route("GET", "/crm/v3/properties/{objectType}")
    def all_properties(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        return Response.json({"results": [p.to_json() for p in catalog.all(object_type)]})

    @router.route("POST", "/crm/v3/properties/{objectType}")
    def create_property(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        body = req.json()
        if not isinstance(body, dict):
            raise validation_error("body must be a JSON object")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise validation_error(f"Some required fields were not set: {missing}")
        wrong = [k for k in ("name", "label", "type", "fieldType", "groupName", "description") if k in body and not isinstance(body[k], str)]
        if wrong:
            raise validation_error(f"These fields must be strings: {wrong}")
        if not str(body["name"]).replace("_", "").isalnum() or str(body["name"]) != str(body["name"]).lower():
            raise validation_error(f"Property name '{body['name']}' must be lower case letters, digits and underscores")
        now = portal.clock.now_ms()
        prop = PropertyDef(
            name=str(body["name"]), label=str(body["label"]), type=str(body["type"]), field_type=str(body["fieldType"]),
            group_name=str(body["groupName"]), description=str(body.get("description") or ""),
            options=_options(body.get("options"), "options"), hubspot_defined=False,
            display_order=int(body.get("displayOrder", -1)), created_ms=now, updated_ms=now,
        )
        if prop.type == "enumeration" and not prop.options and prop.field_type in ("select", "radio", "checkbox"):
            raise validation_error(f"enumeration property '{prop.name}' needs options")
        return Response.json(catalog.add(object_type, prop).to_json(), 201)

    @router.route("GET", "/crm/v3/properties/{objectType}/{propertyName}")
    def get_property(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        prop = catalog.get(object_type, req.path_params["propertyName"])
        if prop is None:
            raise not_found(f"Unable to find property {req.path_params['propertyName']} for object type {object_type}")
        return Response.json(prop.to_json())

    @router.route("PATCH", "/crm/v3/properties/{objectType}/{propertyName}")
    def update_property(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        prop = catalog.get(object_type, req.path_params["propertyName"])
        if prop is None:
            raise not_found(f"Unable to find property {req.path_params['propertyName']} for object type {object_type}")
        body = req.json()
        if not isinstance(body, dict):
            raise validation_error("body must be a JSON object")
        if prop.hubspot_defined and any(k in body for k in ("type", "fieldType", "options")):
            raise validation_error(f"Property {prop.name} is HubSpot-defined; its type and options cannot be changed")
        changed = dataclasses.replace(prop)
        for key, attr in _UPDATABLE.items():
            if key in body:
                wanted = int if key == "displayOrder" else str
                if not isinstance(body[key], wanted) or isinstance(body[key], bool):
                    raise validation_error(f"{key} must be a {'number' if wanted is int else 'string'}, got {body[key]!r}")
                setattr(changed, attr, body[key])
        if "options" in body:
            changed.options = _options(body["options"], "options")
        catalog.check_definition(object_type, changed)
        changed.updated_ms = portal.clock.now_ms()
        for field in dataclasses.fields(PropertyDef):
            setattr(prop, field.name, getattr(changed, field.name))
        prop.__dict__.pop("_allowed", None)
        return Response.json(prop.to_json())
