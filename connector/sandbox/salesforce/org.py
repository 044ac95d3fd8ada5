"""One sandbox org: its schema, its records, its clock and who may see which field.

Records are plain dicts keyed by the fields' declared names, stored per object in id order (ids are
allocated in increasing order, see :mod:`ids`), so a scan in insertion order is also ``ORDER BY Id``.
Every API handler runs under ``org.lock``, so a request is atomic.

Field-level security (FLS), as Salesforce applies it to the API: a *custom* field is visible to a
user only when a ``FieldPermissions`` row with ``PermissionsRead = true`` for it belongs to a
``PermissionSet`` assigned to the user (``PermissionSetAssignment``); it is editable when
``PermissionsEdit`` is true too. An invisible field is absent from ``describe`` and from query
results, ``INVALID_FIELD`` in SOQL, and refused on write as an unknown column. Standard fields are
always visible (the sandbox models the profile as granting all of them). Custom fields on Task and
Event are created on ``Activity`` and granted per object (``Task.X__c``, ``Event.X__c``).
"""

from __future__ import annotations

import threading
import typing as t

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce.catalog import standard_objects
from connector.sandbox.salesforce.ids import IdAllocator, make_id
from connector.sandbox.salesforce.schema import FieldDef, ObjectDef
from connector.sandbox.salesforce.timefmt import truncate_to_second

__all__ = ["FLS_OBJECTS", "ChangeHook", "Org", "Record"]

Record = dict[str, t.Any]
#: Called after a record is saved: (object, record, change type CREATE/UPDATE/DELETE/UNDELETE, changed field names, acting user or None).
ChangeHook = t.Callable[[ObjectDef, Record, str, t.Sequence[str], "str | None"], None]
FLS_OBJECTS = frozenset({"permissionset", "permissionsetassignment", "fieldpermissions"})
DEFAULT_MEMBER_STATUSES = {"Sent": False, "Responded": True}


class Org:
    """Schema, records, member statuses and FLS of one org (see the module docstring)."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.org_id = make_id("00D", 1)
        self.change_hooks: list[ChangeHook] = []  # Change Data Capture listens here (cdc_bus.py)
        self.reset()

    def reset(self) -> None:
        """Forget every record and custom field (the ids start again, so users get their old ids back)."""
        self.objects: dict[str, ObjectDef] = standard_objects()
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in self.objects}
        self._by_prefix = {obj.key_prefix: obj for obj in self.objects.values()}
        self.ids = IdAllocator()
        self.member_statuses: dict[str, dict[str, bool]] = {}
        self.integration_user_id = ""
        self._members: dict[str, set[str]] | None = None
        self._fls_version = getattr(self, "_fls_version", 0) + 1
        self._fls_cache: dict[tuple[str, int], dict[str, tuple[frozenset[str], frozenset[str]]]] = {}

    # ---- schema ------------------------------------------------------------------------------
    def obj(self, name: str) -> ObjectDef | None:
        """The object named so (any case), or None."""
        return self.objects.get(name.lower())

    def table(self, obj: ObjectDef) -> dict[str, Record]:
        """The records of an object, by id."""
        return self.tables[obj.name.lower()]

    def custom_fields(self) -> list[tuple[ObjectDef, FieldDef]]:
        """Every custom field of every object."""
        return [(obj, field) for obj in self.objects.values() for field in obj.fields.values() if field.custom]

    def object_of_id(self, record_id: str) -> ObjectDef | None:
        """The object whose key prefix starts ``record_id``."""
        return self._by_prefix.get(record_id[:3])

    def find(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        """The object and record of an id, whatever its type."""
        obj = self.object_of_id(record_id)
        if obj is None:
            return None
        record = self.table(obj).get(record_id)
        return None if record is None else (obj, record)

    def stamp(self) -> int:
        """The audit time of a write now: the clock's instant, cut to the second as Salesforce stores it."""
        return truncate_to_second(self.clock.now_ms())

    def changed(self, obj: ObjectDef, record: Record, change_type: str, fields: t.Sequence[str] = (), user_id: str | None = None) -> None:
        """Tell the change hooks that a record was saved (every save path calls this once per record)."""
        for hook in self.change_hooks:
            hook(obj, record, change_type, fields, user_id)

    def fls_changed(self) -> None:
        """Forget computed visibility (a permission set, assignment, field permission or field changed)."""
        self._fls_version += 1
        self._fls_cache.clear()

    # ---- field-level security ----------------------------------------------------------------
    def _grants(self, user_id: str) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Per lower-case object name: (readable, editable) lower-case custom field names for a user."""
        key = (user_id, self._fls_version)
        cached = self._fls_cache.get(key)
        if cached is not None:
            return cached
        assigned = {r["PermissionSetId"] for r in self.tables["permissionsetassignment"].values() if r.get("AssigneeId") == user_id}
        read: dict[str, set[str]] = {}
        edit: dict[str, set[str]] = {}
        for perm in self.tables["fieldpermissions"].values():
            if perm.get("ParentId") not in assigned or not perm.get("PermissionsRead"):
                continue
            sobject, _, field = str(perm.get("Field") or "").partition(".")
            read.setdefault(sobject.lower(), set()).add(field.lower())
            if perm.get("PermissionsEdit"):
                edit.setdefault(sobject.lower(), set()).add(field.lower())
        grants = {name: (frozenset(read.get(name, ())), frozenset(edit.get(name, ()))) for name in set(read) | set(edit)}
        self._fls_cache[key] = grants
        return grants

    def visible_fields(self, obj: ObjectDef, user_id: str | None) -> list[FieldDef]:
        """The fields a user can read on an object (all of them for ``None``, the admin view)."""
        if user_id is None:
            return list(obj.fields.values())
        readable = self._grants(user_id).get(obj.name.lower(), (frozenset(), frozenset()))[0]
        return [f for f in obj.fields.values() if not f.custom or f.name.lower() in readable]

    def can_read(self, obj: ObjectDef, field: FieldDef, user_id: str | None) -> bool:
        """Whether a user sees a field."""
        if user_id is None or not field.custom:
            return True
        return field.name.lower() in self._grants(user_id).get(obj.name.lower(), (frozenset(), frozenset()))[0]

    def can_edit(self, obj: ObjectDef, field: FieldDef, user_id: str | None) -> bool:
        """Whether a user may write a field it can read (FLS edit; standard fields always)."""
        if user_id is None or not field.custom:
            return True
        return field.name.lower() in self._grants(user_id).get(obj.name.lower(), (frozenset(), frozenset()))[1]

    def field_for(self, obj: ObjectDef, name: str, user_id: str | None) -> FieldDef | None:
        """A field by name as a user knows it: None when it does not exist or is invisible to them."""
        field = obj.field(name)
        if field is None or not self.can_read(obj, field, user_id):
            return None
        return field

    # ---- campaign member statuses --------------------------------------------------------------
    def statuses_of(self, campaign_id: str) -> dict[str, bool]:
        """A campaign's member statuses and whether each counts as responded (default Sent / Responded)."""
        return self.member_statuses.setdefault(campaign_id, dict(DEFAULT_MEMBER_STATUSES))

    def members_of(self, campaign_id: str) -> set[str]:
        """Lead and contact ids that are live members of a campaign (an index kept by the writer)."""
        if self._members is None:
            self._members = {}
            for member in self.tables["campaignmember"].values():
                self.index_member(member)
        return self._members.get(campaign_id, set())

    def index_member(self, member: Record) -> None:
        """Keep the membership index in step with one saved campaign member."""
        if self._members is None:
            return
        people = self._members.setdefault(member["CampaignId"], set())
        for key in ("LeadId", "ContactId"):
            if member.get(key):
                (people.discard if member.get("IsDeleted") else people.add)(member[key])

    def reindex_members(self) -> None:
        """Rebuild the membership index (after merges and conversions move members)."""
        self._members = None

    # ---- summary ---------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Live (not deleted) records per object."""
        return {obj.name: sum(1 for r in self.table(obj).values() if not r.get("IsDeleted")) for obj in self.objects.values()}
