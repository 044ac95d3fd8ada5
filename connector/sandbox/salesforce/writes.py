"""Creating, updating and deleting records with Salesforce's validation, stamps and derived fields.

One place decides what a save does, for every entry point (single-record REST, sObject Collections,
Bulk API 2.0, admin seeding): unknown or invisible fields, read-only fields, FLS edit, value rules,
required fields, references that must exist, duplicate rules of the setup objects, and the fields
Salesforce derives (``Name``, ``IsClosed``, ``IsWon``, ``HasResponded``...). Audit stamps come from
the org clock (to the second). ``admin=True`` is the sandbox operator writing (seed data, "a user
edited this in Salesforce"): read-only fields allowed, FLS ignored.
"""

from __future__ import annotations

import re
import typing as t

from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.errors import ApiError, RecordError, invalid_field
from connector.sandbox.salesforce.org import FLS_OBJECTS, Org, Record
from connector.sandbox.salesforce.schema import FieldDef, ObjectDef
from connector.sandbox.salesforce.values import UNCHANGED, coerce_csv, coerce_json

__all__ = ["DEVELOPER_NAME", "Writer", "no_such_column"]

DEVELOPER_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)")
_DEV_NAME_MESSAGE = ("The API Name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, "
                     "not include spaces, not end with an underscore, and not contain two consecutive underscores.")
_AUDIT = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")


def no_such_column(obj: ObjectDef, name: str) -> ApiError:
    """Salesforce's answer to a write naming a field that does not exist (or that FLS hides)."""
    return invalid_field(f"No such column '{name}' on sobject of type {obj.name}", [])


def _read_only(name: str) -> RecordError:
    return RecordError("INVALID_FIELD_FOR_INSERT_UPDATE",
                       f"Unable to create/update fields: {name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                       (name,))


class Writer:
    """Saves records into an org (callers hold ``org.lock``)."""

    def __init__(self, org: Org) -> None:
        self.org = org

    # ---- turning a body into values ----------------------------------------------------------------
    def values_from_json(self, obj: ObjectDef, body: t.Mapping[str, t.Any], user_id: str | None, creating: bool) -> tuple[dict[str, t.Any], list[RecordError]]:
        """Stored values of a JSON record body; unknown fields raise (whole request), rule breaks are returned."""
        values: dict[str, t.Any] = {}
        errors: list[RecordError] = []
        for key, raw in body.items():
            if key == "attributes" or key.lower() == "id":  # the record's id is the caller's business (update target, or refused on insert)
                continue
            field = self.org.field_for(obj, key, user_id)
            if field is None:
                raise no_such_column(obj, key)
            try:
                self._check_writable(obj, field, user_id, creating)
                values[field.name] = coerce_json(field, raw)
            except RecordError as exc:
                errors.append(exc)
        return values, errors

    def values_from_csv(self, obj: ObjectDef, fields: t.Sequence[FieldDef], cells: t.Sequence[str], user_id: str | None, creating: bool) -> tuple[dict[str, t.Any], list[RecordError]]:
        """Stored values of one Bulk API CSV row whose header was resolved to ``fields``."""
        values: dict[str, t.Any] = {}
        errors: list[RecordError] = []
        for field, cell in zip(fields, cells, strict=False):
            if field.name == "Id":
                continue
            try:
                value = coerce_csv(field, cell)
                if value is UNCHANGED:
                    continue
                self._check_writable(obj, field, user_id, creating)
                values[field.name] = value
            except RecordError as exc:
                errors.append(exc)
        return values, errors

    def _check_writable(self, obj: ObjectDef, field: FieldDef, user_id: str | None, creating: bool) -> None:
        if user_id is None:
            return
        allowed = field.createable if creating else field.updateable
        if not allowed or not self.org.can_edit(obj, field, user_id):
            raise _read_only(field.name)

    # ---- saves -----------------------------------------------------------------------------------------
    def create(self, obj: ObjectDef, values: dict[str, t.Any], user_id: str | None, stamp: int | None = None) -> Record:
        """Insert a record from validated values; raises ``RecordError`` when a rule refuses it."""
        if not obj.createable and user_id is not None:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {obj.name}")
        actor = user_id or self.org.integration_user_id
        record: Record = dict(obj.template)
        record.update(values)
        missing = [f.name for f in obj.required if record.get(f.name) in (None, "")]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", tuple(missing))
        if "OwnerId" in record and record["OwnerId"] is None:
            record["OwnerId"] = actor
        self._check_references(obj, record, values)
        self._rules(obj, record, None, user_id)
        when = self.org.stamp() if stamp is None else stamp
        if user_id is None and record.get("CreatedDate") is not None:
            when = int(record["CreatedDate"])  # the operator seeds history: modified when created unless told otherwise
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            if user_id is not None or record.get(name) is None:
                record[name] = when
            record[name] = timefmt.truncate_to_second(int(record[name]))
        for name in ("CreatedById", "LastModifiedById"):
            if user_id is not None or record.get(name) is None:
                record[name] = actor
        record["Id"] = self.org.ids.allocate(obj.key_prefix)
        self.org.table(obj)[record["Id"]] = record
        self._after_save(obj, record)
        self.org.changed(obj, record, "CREATE", (), user_id)
        return record

    def update(self, obj: ObjectDef, record: Record, values: dict[str, t.Any], user_id: str | None, stamp: int | None = None) -> Record:
        """Apply validated values to an existing live record; raises ``RecordError`` when a rule refuses it."""
        if record.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        if obj.name == "Lead" and record.get("IsConverted") and user_id is not None:
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        merged = dict(record)
        merged.update(values)
        missing = [f.name for f in obj.fields.values() if not f.nillable and f.name in values and values[f.name] in (None, "") and f.type != "boolean"]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", tuple(missing))
        self._check_references(obj, merged, values)
        self._rules(obj, merged, record, user_id)
        when = self.org.stamp() if stamp is None else stamp
        merged["LastModifiedDate"] = when
        merged["SystemModstamp"] = when
        merged["LastModifiedById"] = user_id or self.org.integration_user_id
        changed = [name for name, value in merged.items() if record.get(name) != value]
        record.clear()
        record.update(merged)
        self._after_save(obj, record)
        self.org.changed(obj, record, "UPDATE", changed, user_id)
        return record

    def delete(self, obj: ObjectDef, record: Record, user_id: str | None) -> None:
        """Move a record to the recycle bin (``IsDeleted``), or remove a setup record for good."""
        if not obj.deletable and user_id is not None:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {obj.name}")
        if record.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        if not obj.has_is_deleted:
            del self.org.table(obj)[record["Id"]]
        else:
            when = self.org.stamp()
            record.update({"IsDeleted": True, "SystemModstamp": when, "LastModifiedDate": when, "LastModifiedById": user_id or self.org.integration_user_id})
        self._after_save(obj, record)
        self.org.changed(obj, record, "DELETE", (), user_id)

    # ---- rules -----------------------------------------------------------------------------------------
    def _check_references(self, obj: ObjectDef, record: Record, changed: t.Mapping[str, t.Any]) -> None:
        references = obj.references
        for name, value in changed.items():
            field = references.get(name)
            if field is None or value is None:
                continue
            target = self.org.object_of_id(value)
            if target is None or target.name not in field.reference_to:
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"{field.label}: id value of incorrect type: {value}", (field.name,))
            found = self.org.table(target).get(value)
            if found is None or found.get("IsDeleted"):
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field.name,))

    def _rules(self, obj: ObjectDef, record: Record, before: Record | None, user_id: str | None) -> None:
        name = obj.name
        if name in ("Lead", "Contact", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
        if name == "Task":
            record["IsClosed"] = record.get("Status") == "Completed"
            if record["IsClosed"] and not record.get("CompletedDateTime"):
                record["CompletedDateTime"] = self.org.clock.now_ms()
        elif name == "Opportunity":
            stage = record.get("StageName")
            record["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            record["IsWon"] = stage == "Closed Won"
        elif name == "CampaignMember":
            self._campaign_member(record, before)
        elif name == "PermissionSet":
            if not DEVELOPER_NAME.fullmatch(str(record.get("Name") or "")):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", _DEV_NAME_MESSAGE, ("Name",))
            self._unique(obj, record, ("Name",), "DUPLICATE_DEVELOPER_NAME")
        elif name == "PermissionSetAssignment":
            self._unique(obj, record, ("AssigneeId", "PermissionSetId"))
        elif name == "FieldPermissions":
            self._field_permission(record)
            self._unique(obj, record, ("ParentId", "Field"))
        elif name == "User":
            self._unique(obj, record, ("Username",))

    def _unique(self, obj: ObjectDef, record: Record, keys: tuple[str, ...], code: str = "DUPLICATE_VALUE") -> None:
        wanted = tuple(str(record.get(k) or "").lower() for k in keys)
        for other in self.org.table(obj).values():
            if other["Id"] != record.get("Id") and not other.get("IsDeleted") and tuple(str(other.get(k) or "").lower() for k in keys) == wanted:
                raise RecordError(code, f"duplicate value found: {keys[-1]} duplicates value on record with id: {other['Id']}", ())

    def _campaign_member(self, record: Record, before: Record | None) -> None:
        if not record.get("LeadId") and not record.get("ContactId"):
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [ContactId, LeadId]", ("ContactId", "LeadId"))
        statuses = self.org.statuses_of(record["CampaignId"])
        if not record.get("Status"):
            record["Status"] = next((s for s, responded in statuses.items() if not responded), next(iter(statuses)))
        if record["Status"] not in statuses:
            raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Status: bad value for restricted picklist field: {record['Status']}", ("Status",))
        record["HasResponded"] = statuses[record["Status"]]
        if record["HasResponded"] and not record.get("FirstRespondedDate"):
            record["FirstRespondedDate"] = timefmt.ms_to_date(self.org.clock.now_ms())
        record["Type"] = "Contact" if record.get("ContactId") else "Lead"
        record["LeadOrContactId"] = record.get("ContactId") or record.get("LeadId")
        if before is None:
            members = self.org.members_of(record["CampaignId"])
            if (record.get("LeadId") and record["LeadId"] in members) or (record.get("ContactId") and record["ContactId"] in members):
                raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", ())

    def _field_permission(self, record: Record) -> None:
        sobject, _, name = str(record.get("Field") or "").partition(".")
        obj = self.org.obj(sobject)
        field = obj.field(name) if obj is not None else None
        if obj is None or field is None or not field.permissionable or str(record.get("SobjectType") or "").lower() != obj.name.lower():
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"Field Name: bad value for restricted picklist field: {record.get('Field')}", ("Field",))
        record["Field"] = f"{obj.name}.{field.name}"
        record["SobjectType"] = obj.name
        if record.get("PermissionsEdit") and not record.get("PermissionsRead"):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Permission Edit depends on permission(s): Read", ("PermissionsRead",))

    def _after_save(self, obj: ObjectDef, record: Record) -> None:
        if obj.name.lower() in FLS_OBJECTS:
            self.org.fls_changed()
        elif obj.name == "CampaignMember":
            self.org.index_member(record)
