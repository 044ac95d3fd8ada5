"""The portal's data: CRM records per object type, associations, owners, web and email events.

One ``Store`` holds everything a sandbox serves. Writes stamp ``lastmodifieddate`` from the
injected clock in milliseconds and keep a sorted ``(updated_ms, id)`` index per object type, so a
search on the modification date is a bisect, not a scan (the sync engine pages 100,000 contacts
through it). Every public method takes the store lock: the HTTP server is threaded.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import typing as t

from connector.sandbox.hubspot.clock import SandboxClock, iso_ms, parse_time_ms
from connector.sandbox.hubspot.errors import not_found, validation_error
from connector.sandbox.hubspot.forms import FormStore
from connector.sandbox.hubspot.properties import OBJECT_TYPES, PropertyCatalog, canonical_object_type, default_catalog, stage_date_property
from connector.sandbox.hubspot.sortedkeys import SortedKeys

__all__ = [
    "ASSOCIATION_TYPE_IDS",
    "EmailEvent",
    "Owner",
    "Record",
    "Store",
    "WebEvent",
]

# HUBSPOT_DEFINED association type ids (https://developers.hubspot.com/docs/api/crm/associations/v4)
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    ("tasks", "contacts"): 204, ("contacts", "tasks"): 203,
    ("meetings", "contacts"): 200, ("contacts", "meetings"): 199,
    ("calls", "contacts"): 194, ("contacts", "calls"): 193,
    ("emails", "contacts"): 198, ("contacts", "emails"): 197,
    ("deals", "contacts"): 3, ("contacts", "deals"): 4,
}

MODIFIED_PROPS = {"contacts": ("lastmodifieddate", "hs_lastmodifieddate")}
CREATED_PROP = {"contacts": "createdate"}


def _stamp_stage_date(props: dict[str, str], before: str | None, written: t.Mapping[str, str], when_ms: int) -> None:
    """Set "Became a <stage> Date" when a write moves ``lifecyclestage`` to a new stage, as HubSpot does.

    The date is the moment of the change; a write that names the date property itself (an admin
    seeding history) keeps the value it gives. Where the documentation is silent the sandbox
    chooses: dates of stages skipped or left are neither filled in nor cleared.
    """
    stage = written.get("lifecyclestage")
    if not stage or stage == before:
        return
    name = stage_date_property(stage)
    if name not in written:
        props[name] = iso_ms(when_ms)


@dataclasses.dataclass
class Record:
    """One CRM record; ``properties`` holds HubSpot's string values (absent = no value)."""

    id: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False

    def to_json(self, names: t.Iterable[str] | None) -> dict[str, t.Any]:
        """HubSpot's ``SimplePublicObject`` with the requested properties (None = all set ones)."""
        props: dict[str, str | None]
        if names is None:
            props = dict(self.properties)
        else:
            props = {n: self.properties.get(n) for n in names}
            props = {k: (v if v != "" else None) for k, v in props.items()}
        return {
            "id": self.id,
            "properties": props,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived,
        }


@dataclasses.dataclass
class Owner:
    """A HubSpot user that can own records."""

    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    created_ms: int

    def to_json(self) -> dict[str, t.Any]:
        """HubSpot's ``PublicOwner``."""
        return {
            "id": self.id, "email": self.email, "firstName": self.first_name, "lastName": self.last_name,
            "userId": self.user_id, "type": "PERSON", "archived": False, "teams": [],
            "createdAt": iso_ms(self.created_ms), "updatedAt": iso_ms(self.created_ms),
        }


@dataclasses.dataclass
class WebEvent:
    """A web analytics event attached to a contact (events API v3)."""

    id: str
    object_id: str
    event_type: str
    occurred_ms: int
    properties: dict[str, str]

    def to_json(self) -> dict[str, t.Any]:
        """HubSpot's ``ExternalUnifiedEvent``."""
        return {"objectType": "CONTACT", "objectId": self.object_id, "eventType": self.event_type,
                "occurredAt": iso_ms(self.occurred_ms), "id": self.id, "properties": dict(self.properties)}


@dataclasses.dataclass
class EmailEvent:
    """A marketing email event (email events API v1), identified by recipient email."""

    id: str
    type: str
    recipient: str
    created_ms: int
    extra: dict[str, t.Any]

    def to_json(self, portal_id: int) -> dict[str, t.Any]:
        """HubSpot's v1 email event JSON."""
        body = {"id": self.id, "type": self.type, "recipient": self.recipient, "created": self.created_ms,
                "portalId": portal_id, "appId": 113, "appName": "BatchEmail", "emailCampaignId": 1}
        body.update(self.extra)
        return body


EMAIL_EVENT_TYPES = ("SENT", "DELIVERED", "OPEN", "CLICK", "BOUNCE", "DROPPED", "DEFERRED", "PROCESSED", "SPAMREPORT", "STATUSCHANGE", "FORWARD", "PRINT")


class _Objects:
    """Records of one object type plus the modification-date index."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.by_modified = SortedKeys()

    def index_add(self, record: Record) -> None:
        self.by_modified.add((record.updated_ms, int(record.id)))

    def index_remove(self, record: Record) -> None:
        self.by_modified.remove((record.updated_ms, int(record.id)))


class Store:
    """All data of one sandbox portal."""

    def __init__(self, clock: SandboxClock | None = None, catalog: PropertyCatalog | None = None, portal_id: int = 1234567) -> None:
        self.clock = clock or SandboxClock()
        self.catalog = catalog or default_catalog(self.clock.now_ms(), portal_id)
        self.portal_id = portal_id
        self.forms = FormStore()
        self.lock = threading.RLock()
        self.version = 0
        self._ids = itertools.count(1)
        self._objects: dict[str, _Objects] = {o: _Objects() for o in OBJECT_TYPES}
        self._assoc: dict[tuple[str, str], dict[str, set[str]]] = {}
        self.owners: dict[str, Owner] = {}
        self.web_events: list[WebEvent] = []
        self.email_events: list[EmailEvent] = []
        self._web_sorted = True
        self._email_sorted = True
        self._web_by_object: dict[str, list[WebEvent]] = {}
        self._web_unsorted_objects: set[str] = set()
        self._web_keys: list[int] | None = None
        self._email_keys: list[int] | None = None
        self._event_ids = itertools.count(1)
        #: Anonymous web events per visitor cookie (``hubspotutk``), not yet on any contact; and the
        #: contact each identified visitor became (``visitors.py`` moves events between the two).
        self.anonymous_events: dict[str, list[WebEvent]] = {}
        self.identified_visitors: dict[str, str] = {}
        #: Told of every contact change as ``(subscriptionType, contact id, property name or None)``
        #: (the webhook sender, :mod:`.webhooks`); called under :attr:`lock`, so they only queue.
        self.listeners: list[t.Callable[[str, str, str | None], None]] = []

    def notify(self, subscription: str, contact_id: str, prop: str | None = None) -> None:
        """Tell the listeners that a contact changed (callers hold :attr:`lock`)."""
        for listener in self.listeners:
            listener(subscription, contact_id, prop)

    # ---- records -------------------------------------------------------------------------
    def objects(self, object_type: str) -> _Objects:
        """The record table of an object type (callers hold :attr:`lock`)."""
        return self._objects[canonical_object_type(object_type)]

    def get(self, object_type: str, record_id: str) -> Record | None:
        """A record by id, or None."""
        with self.lock:
            return self.objects(object_type).records.get(str(record_id))

    def require(self, object_type: str, record_id: str) -> Record:
        """A record by id, or 404 as HubSpot answers."""
        record = self.get(object_type, record_id)
        if record is None or record.archived:
            raise not_found("Object not found.  objectId are usually numeric.", context={"id": [str(record_id)]})
        return record

    def contact_id_by_email(self, email: str) -> str | None:
        """The live contact with this e-mail (case-insensitive), or None."""
        wanted = email.strip().lower()
        with self.lock:
            for record in self._objects["contacts"].records.values():
                if not record.archived and (record.properties.get("email") or "").lower() == wanted:
                    return record.id
        return None

    def count(self, object_type: str) -> int:
        """How many records of a type."""
        with self.lock:
            return len(self.objects(object_type).records)

    def _stamp(self, object_type: str, record: Record, when_ms: int) -> None:
        table = self._objects[object_type]
        if record.id in table.records:
            table.index_remove(record)
        record.updated_ms = when_ms
        stamp = iso_ms(when_ms)
        for name in MODIFIED_PROPS.get(object_type, ("hs_lastmodifieddate",)):
            record.properties[name] = stamp
        table.index_add(record)

    def create(self, object_type: str, properties: t.Mapping[str, t.Any], *, admin: bool = False,
               modified_at_ms: int | None = None, created_at_ms: int | None = None) -> Record:
        """Create a record after validating its properties (admin may set read-only ones)."""
        object_type = canonical_object_type(object_type)
        with self.lock:
            values = self.catalog.validate_write(object_type, dict(properties), admin=admin)
            now = self.clock.now_ms() if modified_at_ms is None else int(modified_at_ms)
            created = now if created_at_ms is None else int(created_at_ms)
            record_id = str(next(self._ids))
            props = {k: v for k, v in values.items() if v != ""}
            props["hs_object_id"] = record_id
            props[CREATED_PROP.get(object_type, "hs_createdate")] = iso_ms(created)
            if object_type == "contacts":
                _stamp_stage_date(props, None, values, created)
            record = Record(record_id, props, created, now)
            self._stamp(object_type, record, now)
            self._objects[object_type].records[record_id] = record
            self.version += 1
            if object_type == "contacts":
                self.notify("contact.creation", record_id)
            return record

    def add_contacts(self, rows: t.Iterable[t.Mapping[str, t.Any]], modified_at_ms: int | None = None) -> list[str]:
        """Create contacts (admin write: read-only properties allowed, unknown ones still refused).

        All share ``modified_at_ms`` when given, so thousands can carry the same millisecond.
        """
        with self.lock:
            return [self.create("contacts", row, admin=True, modified_at_ms=modified_at_ms).id for row in rows]

    def update(self, object_type: str, record_id: str, properties: t.Mapping[str, t.Any], *, admin: bool = False,
               modified_at_ms: int | None = None, validated: dict[str, str] | None = None) -> Record:
        """Change properties of one record and stamp its modification time; 404 when absent."""
        object_type = canonical_object_type(object_type)
        with self.lock:
            record = self.require(object_type, record_id)
            values = validated if validated is not None else self.catalog.validate_write(object_type, dict(properties), admin=admin)
            stage_before = record.properties.get("lifecyclestage")
            for name, value in values.items():
                if value == "":
                    record.properties.pop(name, None)
                else:
                    record.properties[name] = value
            when_ms = self.clock.now_ms() if modified_at_ms is None else int(modified_at_ms)
            if object_type == "contacts":
                _stamp_stage_date(record.properties, stage_before, values, when_ms)
            self._stamp(object_type, record, when_ms)
            self.version += 1
            if object_type == "contacts":
                for name in values:
                    self.notify("contact.propertyChange", record.id, name)
            return record

    def update_contact(self, record_id: str, properties: t.Mapping[str, t.Any]) -> Record:
        """Admin update of a contact (tests: "the contact changed in HubSpot")."""
        return self.update("contacts", record_id, properties, admin=True)

    def archive(self, object_type: str, record_id: str) -> None:
        """Archive (soft-delete) a record."""
        with self.lock:
            record = self.require(object_type, record_id)
            record.archived = True
            self.objects(object_type).index_remove(record)
            self.version += 1
            if canonical_object_type(object_type) == "contacts":
                self.notify("contact.deletion", record.id)

    # ---- associations --------------------------------------------------------------------
    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Link two records both ways (HubSpot associations are bidirectional)."""
        from_type, to_type = canonical_object_type(from_type), canonical_object_type(to_type)
        with self.lock:
            self.require(to_type, to_id)
            self._assoc.setdefault((from_type, to_type), {}).setdefault(str(from_id), set()).add(str(to_id))
            self._assoc.setdefault((to_type, from_type), {}).setdefault(str(to_id), set()).add(str(from_id))

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids associated with a record, sorted numerically."""
        from_type, to_type = canonical_object_type(from_type), canonical_object_type(to_type)
        with self.lock:
            ids = self._assoc.get((from_type, to_type), {}).get(str(from_id), set())
            return sorted(ids, key=int)

    def add_engagement(self, object_type: str, properties: t.Mapping[str, t.Any], contact_ids: t.Iterable[str] = (),
                       modified_at_ms: int | None = None) -> str:
        """Create a meeting/call/email/task associated with contacts; returns its id.

        The record is logged now (``hs_createdate`` = ``hs_lastmodifieddate`` = the clock, or
        ``modified_at_ms``) whatever its ``hs_timestamp``, which "determines where the call sits on the
        record timeline" and may lie in the past (https://developers.hubspot.com/docs/api/crm/calls):
        a meeting logged a week late has an old ``hs_timestamp`` and a new ``hs_lastmodifieddate``.
        """
        with self.lock:
            record = self.create(object_type, properties, admin=True, modified_at_ms=modified_at_ms)
            for contact_id in contact_ids:
                self.associate(object_type, record.id, "contacts", str(contact_id))
                # HubSpot stamps the contact's last sales activity when an engagement is logged on it.
                self.notify("contact.propertyChange", str(contact_id), "hs_last_sales_activity_timestamp")
            return record.id

    # ---- owners --------------------------------------------------------------------------
    def add_owner(self, email: str, first_name: str, last_name: str) -> Owner:
        """Create an owner (a user) and make it a valid ``hubspot_owner_id`` option."""
        with self.lock:
            owner_id = str(100 + len(self.owners) + 1)
            owner = Owner(owner_id, email, first_name, last_name, 9000 + len(self.owners) + 1, self.clock.now_ms())
            self.owners[owner_id] = owner
            for object_type in OBJECT_TYPES:
                prop = self.catalog.get(object_type, "hubspot_owner_id")
                if prop is not None:
                    prop.options.append({"label": f"{first_name} {last_name}", "value": owner_id, "displayOrder": len(prop.options), "hidden": False})
            return owner

    # ---- events --------------------------------------------------------------------------
    def web_event(self, row: t.Mapping[str, t.Any], object_id: str) -> WebEvent:
        """A web event from ``{eventType, occurredAt (ms or ISO), properties, id?}``; 400 naming the row."""
        try:
            return WebEvent(str(row.get("id") or f"ev-{next(self._event_ids)}"), object_id, str(row["eventType"]),
                            parse_time_ms(row["occurredAt"]), {k: str(v) for k, v in (row.get("properties") or {}).items()})
        except (KeyError, TypeError, ValueError) as exc:
            raise validation_error(f"invalid web event {dict(row)!r}: {exc}") from exc

    def attach_web_events(self, events: t.Iterable[WebEvent]) -> None:
        """Put events on their contact (``object_id``), keeping their original ``occurredAt``."""
        with self.lock:
            for event in events:
                if self.web_events and event.occurred_ms < self.web_events[-1].occurred_ms:
                    self._web_sorted = False
                self.web_events.append(event)
                per_object = self._web_by_object.setdefault(event.object_id, [])
                if per_object and event.occurred_ms < per_object[-1].occurred_ms:
                    self._web_unsorted_objects.add(event.object_id)
                per_object.append(event)

    def add_events(self, rows: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
        """Add web analytics events: ``{objectId, eventType, occurredAt (ms or ISO), properties}``."""
        with self.lock:
            events = []
            for row in rows:
                if "objectId" not in row:
                    raise validation_error(f"invalid web event {dict(row)!r}: 'objectId' is required")
                events.append(self.web_event(row, str(row["objectId"])))
            self.attach_web_events(events)
            for object_id in dict.fromkeys(e.object_id for e in events):
                self.notify("contact.propertyChange", object_id, "hs_analytics_last_timestamp")
        return [e.id for e in events]

    def add_email_events(self, rows: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
        """Add marketing email events: ``{recipient, type, created (ms or ISO), ...extra}``."""
        ids = []
        with self.lock:
            for row in rows:
                extra = {k: v for k, v in row.items() if k not in ("id", "type", "recipient", "created")}
                try:
                    kind = str(row["type"]).upper()
                    if kind not in EMAIL_EVENT_TYPES:
                        raise ValueError(f"type must be one of {EMAIL_EVENT_TYPES}")
                    event = EmailEvent(str(row.get("id") or f"em-{next(self._event_ids)}"), kind, str(row["recipient"]).lower(),
                                       parse_time_ms(row["created"]), extra)
                except (KeyError, ValueError) as exc:
                    raise validation_error(f"invalid email event {dict(row)!r}: {exc}") from exc
                if self.email_events and event.created_ms < self.email_events[-1].created_ms:
                    self._email_sorted = False
                self.email_events.append(event)
                ids.append(event.id)
                contact = self.contact_id_by_email(event.recipient) if self.listeners else None
                if contact is not None:
                    self.notify("contact.propertyChange", contact, "hs_email_last_open_date" if kind == "OPEN" else "hs_email_last_engagement")
        return ids

    def sorted_web_events(self) -> list[WebEvent]:
        """Web events by occurrence time then id (callers hold the lock)."""
        if not self._web_sorted:
            self.web_events.sort(key=lambda e: (e.occurred_ms, e.id))
            self._web_sorted = True
        return self.web_events

    def web_event_keys(self) -> list[int]:
        """Occurrence times of :meth:`sorted_web_events`, cached until events are added."""
        events = self.sorted_web_events()
        if self._web_keys is None or len(self._web_keys) != len(events):
            self._web_keys = [e.occurred_ms for e in events]
        return self._web_keys

    def email_event_keys(self) -> list[int]:
        """Creation times of :meth:`sorted_email_events`, cached until events are added."""
        events = self.sorted_email_events()
        if self._email_keys is None or len(self._email_keys) != len(events):
            self._email_keys = [e.created_ms for e in events]
        return self._email_keys

    def web_events_of(self, object_id: str) -> list[WebEvent]:
        """One contact's web events by occurrence time (callers hold the lock)."""
        events = self._web_by_object.get(str(object_id), [])
        if str(object_id) in self._web_unsorted_objects:
            events.sort(key=lambda e: (e.occurred_ms, e.id))
            self._web_unsorted_objects.discard(str(object_id))
        return events

    def sorted_email_events(self) -> list[EmailEvent]:
        """Email events by creation time (callers hold the lock)."""
        if not self._email_sorted:
            self.email_events.sort(key=lambda e: (e.created_ms, e.id))
            self._email_sorted = True
        return self.email_events

    def summary(self) -> dict[str, t.Any]:
        """Counts for the admin endpoint."""
        with self.lock:
            return {
                "objects": {o: len(tbl.records) for o, tbl in self._objects.items()},
                "owners": len(self.owners),
                "webEvents": len(self.web_events),
                "anonymousWebEvents": sum(len(v) for v in self.anonymous_events.values()),
                "visitors": len(self.anonymous_events.keys() | self.identified_visitors.keys()),
                "forms": len(self.forms.all()),
                "emailEvents": len(self.email_events),
                "nowMs": self.clock.now_ms(),
                "version": self.version,
            }
