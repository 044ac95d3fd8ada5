"""Property definitions per object type: what exists, its type, its options, whether it is read-only.

HubSpot validates every written value against these definitions (unknown property, read-only
property, bad number, option not allowed) and rejects the whole request; the store calls
:meth:`PropertyCatalog.validate_write` before it changes anything.
Shapes: https://developers.hubspot.com/docs/api/crm/properties
"""

from __future__ import annotations

import dataclasses
import json
import threading
import typing as t

from connector.sandbox.hubspot.clock import iso_ms, parse_time_ms
from connector.sandbox.hubspot.errors import ApiError, validation_error

__all__ = [
    "OBJECT_TYPES",
    "PropertyCatalog",
    "PropertyDef",
    "PropertyGroup",
    "canonical_object_type",
    "default_catalog",
    "stage_date_property",
]

# objectType path names and HubSpot's object type ids (https://developers.hubspot.com/docs/api/crm/understanding-the-crm)
OBJECT_TYPES: dict[str, str] = {"contacts": "0-1", "calls": "0-48", "emails": "0-49", "meetings": "0-47", "tasks": "0-27", "deals": "0-3"}
_ALIASES = {"contact": "contacts", "call": "calls", "email": "emails", "meeting": "meetings", "task": "tasks", "deal": "deals"}
_ALIASES.update({v: k for k, v in OBJECT_TYPES.items()})

TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = ("textarea", "text", "date", "file", "number", "select", "radio", "checkbox", "booleancheckbox", "calculation_equation", "phonenumber", "html")


def canonical_object_type(name: str) -> str:
    """``contacts`` for ``contacts``/``contact``/``0-1``; 400 for an object type the sandbox lacks."""
    key = name.lower()
    if key in OBJECT_TYPES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise ApiError(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")


@dataclasses.dataclass
class PropertyDef:
    """One property as HubSpot describes it."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    group_name: str = "contactinformation"
    description: str = ""
    options: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    read_only: bool = False
    hubspot_defined: bool = True
    calculated: bool = False
    display_order: int = -1
    created_ms: int = 0
    updated_ms: int = 0

    def to_json(self) -> dict[str, t.Any]:
        """HubSpot's property JSON (the SDK's ``Property`` model)."""
        body: dict[str, t.Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [dict(o) for o in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": False,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "formField": not self.read_only,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "archived": False,
        }
        if self.created_ms:
            body["createdAt"] = iso_ms(self.created_ms)
            body["updatedAt"] = iso_ms(self.updated_ms or self.created_ms)
        return body

    def allowed_values(self) -> frozenset[str]:
        """Option values, cached until the option list changes (it can grow: owners are added)."""
        key = (id(self.options), len(self.options))
        cached = self.__dict__.get("_allowed")
        if cached is None or cached[0] != key:
            cached = (key, frozenset(str(o["value"]) for o in self.options))
            self.__dict__["_allowed"] = cached
        return cached[1]

    def normalise(self, value: t.Any) -> tuple[str | None, dict[str, t.Any] | None]:
        """The stored string for a written value, or a HubSpot validation error entry."""
        if value is None or value == "":
            return "", None
        text = str(value) if not isinstance(value, bool) else str(value).lower()
        bad = {"isValid": False, "name": self.name}
        if self.type == "number":
            try:
                float(text)
            except ValueError:
                return None, {**bad, "message": f"{text} was not a valid number.", "error": "INVALID_DECIMAL"}
            return text, None
        if self.type == "bool":
            if text.lower() not in ("true", "false"):
                return None, {**bad, "message": f"{text} was not a valid boolean.", "error": "INVALID_BOOLEAN"}
            return text.lower(), None
        if self.type in ("datetime", "date"):
            try:
                ms = parse_time_ms(text)
            except ValueError:
                return None, {**bad, "message": f"{text} was not a valid date.", "error": "INVALID_DATE"}
            if self.type == "date":
                if ms % 86_400_000:
                    return None, {**bad, "message": f"{text} is at {iso_ms(ms)} UTC, which isn't midnight!", "error": "INVALID_DATE"}
                return iso_ms(ms)[:10], None
            return iso_ms(ms), None
        if self.type == "enumeration" and self.options:
            allowed = self.allowed_values()
            chosen = text.split(";") if self.field_type == "checkbox" else [text]
            wrong = [c for c in chosen if c not in allowed]
            if wrong:
                return None, {
                    **bad,
                    "message": f"{wrong[0]} was not one of the allowed options: {sorted(allowed)}",
                    "error": "INVALID_OPTION",
                }
        return text, None


@dataclasses.dataclass
class PropertyGroup:
    """A property group (``groupName`` of a property)."""

    name: str
    label: str
    display_order: int = -1

    def to_json(self) -> dict[str, t.Any]:
        """HubSpot's group JSON."""
        return {"name": self.name, "label": self.label, "displayOrder": self.display_order, "archived": False}


def _opts(*values: str) -> list[dict[str, t.Any]]:
    return [{"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False} for i, v in enumerate(values)]


LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other")
EMPLOYEE_BANDS = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")


def _common(group: str) -> list[PropertyDef]:
    """Properties every engagement object has."""
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "number", group, read_only=True),
        PropertyDef("hs_createdate", "Create date", "datetime", "date", group, read_only=True),
        PropertyDef("hs_lastmodifieddate", "Last modified date", "datetime", "date", group, read_only=True),
        PropertyDef("hs_timestamp", "Activity date", "datetime", "date", group),
        PropertyDef("hubspot_owner_id", "Activity assigned to", "enumeration", "select", group),
    ]


def _contact_props() -> list[PropertyDef]:
    g = "contactinformation"
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "number", g, read_only=True),
        PropertyDef("createdate", "Create Date", "datetime", "date", g, read_only=True),
        PropertyDef("lastmodifieddate", "Last Modified Date", "datetime", "date", g, read_only=True),
        PropertyDef("hs_lastmodifieddate", "Object last modified date/time", "datetime", "date", g, read_only=True),
        PropertyDef("email", "Email", "string", "text", g),
        PropertyDef("firstname", "First Name", "string", "text", g),
        PropertyDef("lastname", "Last Name", "string", "text", g),
        PropertyDef("jobtitle", "Job Title", "string", "text", g),
        PropertyDef("company", "Company Name", "string", "text", g),
        PropertyDef("website", "Website URL", "string", "text", g),
        PropertyDef("phone", "Phone Number", "string", "phonenumber", g),
        PropertyDef("city", "City", "string", "text", g),
        PropertyDef("country", "Country/Region", "string", "text", g),
        # The contact's industry is free text, unlike the company's `industry` dropdown: HubSpot's
        # default definition is type string, fieldType text, "The Industry a contact is in" (a real
        # portal's property list files it among the strings; `connector check` must not expect codes).
        PropertyDef("industry", "Industry", "string", "text", g, description="The Industry a contact is in"),
        PropertyDef("numemployees", "Number of Employees", "enumeration", "select", g, options=_opts(*EMPLOYEE_BANDS)),
        PropertyDef("annualrevenue", "Annual Revenue", "number", "number", g),
        PropertyDef("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", g, options=_opts(*LIFECYCLE_STAGES)),
        PropertyDef("hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties",
                    options=_opts("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING")),
        PropertyDef("hubspot_owner_id", "Contact owner", "enumeration", "select", "sales_properties"),
        PropertyDef("hs_email_optout", "Unsubscribed from all email", "bool", "booleancheckbox", "emailinformation", read_only=True),
        PropertyDef("hs_analytics_num_page_views", "Number of Pageviews", "number", "number", "analyticsinformation", read_only=True, calculated=True),
        PropertyDef("hs_analytics_source", "Original Source", "enumeration", "select", "analyticsinformation", read_only=True,
                    options=_opts("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "OTHER_CAMPAIGNS", "DIRECT_TRAFFIC", "OFFLINE")),
        PropertyDef("hs_calculated_phone_number", "Calculated Phone Number", "string", "text", g, read_only=True, calculated=True),
        *_stage_date_props(g),
    ]


def stage_date_property(stage: str) -> str:
    """The read-only "Became a ... Date" property HubSpot stamps when a contact enters ``stage``."""
    return f"hs_lifecyclestage_{stage}_date"


def _stage_date_props(group: str) -> list[PropertyDef]:
    """One "Became a <stage> Date" property per default lifecycle stage.

    HubSpot keeps, for each lifecycle stage, a read-only datetime property named
    ``hs_lifecyclestage_<stage internal value>_date`` ("Became a Marketing Qualified Lead Date",
    ...) that it sets when the contact's ``lifecyclestage`` moves to that stage
    (https://knowledge.hubspot.com/contacts/use-lifecycle-stages: stages and their order; the
    property names are those of HubSpot's default contact properties).
    """
    labels = {"marketingqualifiedlead": "Marketing Qualified Lead", "salesqualifiedlead": "Sales Qualified Lead"}
    return [
        PropertyDef(stage_date_property(s), f"Became a {labels.get(s, s.title())} Date", "datetime", "date", group, read_only=True, calculated=True)
        for s in LIFECYCLE_STAGES
    ]


#: Set by HubSpot when a contact becomes a customer (the customer outcome is dated by it).
CUSTOMER_DATE = "hs_lifecyclestage_customer_date"


def _deal_props() -> list[PropertyDef]:
    """A deal's standard properties (https://developers.hubspot.com/docs/api/crm/deals)."""
    g = "dealinformation"
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "number", g, read_only=True),
        PropertyDef("hs_createdate", "Create date", "datetime", "date", g, read_only=True),
        PropertyDef("hs_lastmodifieddate", "Last modified date", "datetime", "date", g, read_only=True),
        PropertyDef("dealname", "Deal Name", "string", "text", g),
        PropertyDef("pipeline", "Pipeline", "enumeration", "select", g, options=_opts("default")),
        PropertyDef("dealstage", "Deal Stage", "enumeration", "radio", g,
                    options=_opts("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent", "closedwon", "closedlost")),
        PropertyDef("amount", "Amount", "number", "number", g),
        PropertyDef("closedate", "Close Date", "datetime", "date", g),
        # Calculated by HubSpot from the stage: "true" in a closed-won stage of any pipeline.
        PropertyDef("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", g, read_only=True, calculated=True),
        PropertyDef("hubspot_owner_id", "Deal owner", "enumeration", "select", g),
    ]


_ENGAGEMENT_PROPS: dict[str, list[tuple[str, str, str, str]]] = {
    "meetings": [("hs_meeting_title", "Meeting name", "string", "text"), ("hs_meeting_body", "Meeting description", "string", "textarea"),
                 ("hs_meeting_outcome", "Meeting outcome", "string", "text"), ("hs_meeting_start_time", "Start Time", "datetime", "date"),
                 ("hs_meeting_end_time", "End Time", "datetime", "date")],
    "calls": [("hs_call_title", "Call Title", "string", "text"), ("hs_call_body", "Call notes", "string", "textarea"),
              ("hs_call_duration", "Call duration", "number", "number"), ("hs_call_direction", "Call direction", "string", "text"),
              ("hs_call_disposition", "Call outcome", "string", "text"), ("hs_call_status", "Call status", "string", "text")],
    "emails": [("hs_email_subject", "Email subject", "string", "text"), ("hs_email_text", "Email body", "string", "textarea"),
               ("hs_email_direction", "Email direction", "string", "text"), ("hs_email_status", "Email send status", "string", "text")],
    "tasks": [("hs_task_subject", "Task Title", "string", "text"), ("hs_task_body", "Notes", "string", "textarea"),
              ("hs_task_status", "Task Status", "string", "text"), ("hs_task_priority", "Priority", "string", "text"),
              ("hs_task_type", "Task Type", "string", "text")],
}

_GROUPS: dict[str, list[tuple[str, str]]] = {
    "contacts": [("contactinformation", "Contact information"), ("sales_properties", "Sales properties"),
                 ("emailinformation", "Email information"), ("analyticsinformation", "Web analytics history")],
    "meetings": [("meeting", "Meeting information")],
    "calls": [("call", "Call information")],
    "emails": [("email", "Email information")],
    "tasks": [("task", "Task information")],
    "deals": [("dealinformation", "Deal information")],
}


class PropertyCatalog:
    """Thread-safe property and group definitions for every object type."""

    def __init__(self, portal_id: int = 0) -> None:
        self.portal_id = portal_id
        self._lock = threading.RLock()
        self._props: dict[str, dict[str, PropertyDef]] = {o: {} for o in OBJECT_TYPES}
        self._groups: dict[str, dict[str, PropertyGroup]] = {o: {} for o in OBJECT_TYPES}

    def get(self, object_type: str, name: str) -> PropertyDef | None:
        """A property definition, or None."""
        return self._props[object_type].get(name)

    def all(self, object_type: str) -> list[PropertyDef]:
        """Every property of an object type, in definition order."""
        with self._lock:
            return list(self._props[object_type].values())

    def groups(self, object_type: str) -> list[PropertyGroup]:
        """Every group of an object type."""
        with self._lock:
            return list(self._groups[object_type].values())

    def group(self, object_type: str, name: str) -> PropertyGroup | None:
        """One group, or None."""
        return self._groups[object_type].get(name)

    def add_group(self, object_type: str, group: PropertyGroup) -> PropertyGroup:
        """Create a group; 409 when the name is taken."""
        with self._lock:
            if group.name in self._groups[object_type]:
                raise ApiError(409, f"A property group named '{group.name}' already exists.", "OBJECT_ALREADY_EXISTS")
            self._groups[object_type][group.name] = group
            return group

    def add(self, object_type: str, prop: PropertyDef) -> PropertyDef:
        """Create a property; 409 when it exists, 400 when its group or type is invalid."""
        with self._lock:
            if prop.name in self._props[object_type]:
                raise ApiError(409, f"Property named '{prop.name}' already exists.", "OBJECT_ALREADY_EXISTS")
            self.check_definition(object_type, prop)
            self._props[object_type][prop.name] = prop
            return prop

    def check_definition(self, object_type: str, prop: PropertyDef) -> None:
        """400 for a type, field type, group or option list HubSpot would refuse."""
        if prop.type not in TYPES:
            raise validation_error(f"Invalid property type '{prop.type}'; expected one of {list(TYPES)}")
        if prop.field_type not in FIELD_TYPES:
            raise validation_error(f"Invalid fieldType '{prop.field_type}'; expected one of {list(FIELD_TYPES)}")
        if prop.group_name not in self._groups[object_type]:
            raise validation_error(f"Property group '{prop.group_name}' does not exist.", subCategory="PropertyValidationError.INVALID_GROUP_NAME")
        values = [str(o.get("value")) for o in prop.options]
        if len(set(values)) != len(values):
            raise validation_error(f"Property '{prop.name}' has duplicate option values: {values}")

    def validate_write(self, object_type: str, properties: t.Mapping[str, t.Any], *, admin: bool = False) -> dict[str, str]:
        """Normalised values to store, or a 400 listing every invalid property as HubSpot does.

        ``admin=True`` (the /_sandbox/ endpoints and seeding) may write read-only properties.
        HubSpot's answer is ``{"status":"error","message":"Property values were not valid: [...]",
        "correlationId":...,"category":"VALIDATION_ERROR"}`` with the problems JSON-encoded inside
        the message, e.g. ``{"isValid":false,"message":"Property 'x' does not exist" (quotes escaped),
        "error":"PROPERTY_DOESNT_EXIST","name":"x","localizedErrorMessage":...,"portalId":...}``:
        the shape of real answers that other integrations keep as test fixtures (Segment's HubSpot
        destination, built on @segment/actions-core; a portal's answer quoted with
        ``localizedErrorMessage`` and ``portalId`` on the unknown property only). There is no
        ``errors`` list, ``subCategory`` or ``context``: a client must parse the message.
        """
        if not isinstance(properties, dict):
            raise validation_error("properties must be an object of property name to value")
        out: dict[str, str] = {}
        problems: list[dict[str, t.Any]] = []
        for name, value in properties.items():
            prop = self._props[object_type].get(name)
            if prop is None:
                problems.append({"isValid": False, "message": f'Property "{name}" does not exist', "error": "PROPERTY_DOESNT_EXIST", "name": name})
                continue
            if prop.read_only and not admin:
                problems.append({"isValid": False, "message": f'"{name}" is a read only property; its value cannot be set.', "error": "READ_ONLY_VALUE", "name": name})
                continue
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                problems.append({"isValid": False, "message": f"{name} must be a string, number or boolean, not {type(value).__name__}",
                                 "error": "INVALID_PROPERTY_VALUE", "name": name})
                continue
            stored, problem = prop.normalise(value)
            if problem is not None:
                problems.append(problem)
            else:
                out[name] = stored or ""
        if problems:
            items = [{**p, "localizedErrorMessage": p["message"], "portalId": self.portal_id} if p["error"] == "PROPERTY_DOESNT_EXIST" else p
                     for p in problems]
            raise validation_error("Property values were not valid: " + json.dumps(items, separators=(",", ":")))
        return out


def default_catalog(now_ms: int = 0, portal_id: int = 0) -> PropertyCatalog:
    """The standard properties and groups of a fresh portal."""
    catalog = PropertyCatalog(portal_id)
    for object_type, groups in _GROUPS.items():
        for order, (name, label) in enumerate(groups):
            catalog.add_group(object_type, PropertyGroup(name, label, order))
    for prop in _contact_props():
        prop.created_ms = prop.updated_ms = now_ms
        catalog.add("contacts", prop)
    if catalog.get("contacts", CUSTOMER_DATE) is None:  # one of HubSpot's "Became a <stage> Date" properties
        catalog.add("contacts", PropertyDef(CUSTOMER_DATE, "Became a Customer Date", "datetime", "date", "contactinformation",
                                            read_only=True, calculated=True, created_ms=now_ms, updated_ms=now_ms))
    for prop in _deal_props():
        prop.created_ms = prop.updated_ms = now_ms
        catalog.add("deals", prop)
    for object_type, extra in _ENGAGEMENT_PROPS.items():
        group = _GROUPS[object_type][0][0]
        for prop in _common(group):
            prop.created_ms = prop.updated_ms = now_ms
            catalog.add(object_type, prop)
        for name, label, ptype, ftype in extra:
            catalog.add(object_type, PropertyDef(name, label, ptype, ftype, group, created_ms=now_ms, updated_ms=now_ms))
    return catalog
