"""sObject Collections: ``/services/data/vXX.X/composite/sobjects``, create, update, delete and get.

REST API Developer Guide, "Create Records Using sObject Collections", "Update Records Using sObject
Collections", "Delete Records Using sObject Collections", "Get Records Using sObject Collections". Up to 200 records per call, each with ``attributes.type``; the answer is 200 with one SaveResult per
record, in request order: ``{"id", "success": true, "errors": []}`` or ``{"success": false, "errors":
[{"statusCode", "message", "fields"}]}``. With ``allOrNone: true`` one failure rolls back every record,
and the records that would have succeeded report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. A body that
cannot be deserialized (not JSON, a field that does not exist or FLS hides, a value of the wrong JSON
type) fails the whole call with 400, as in Salesforce; more than 200 records answer 400
``EXCEEDED_ID_LIMIT``.
"""

from __future__ import annotations

import copy
import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce.errors import ApiError, RecordError
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.org import Record
from connector.sandbox.salesforce.routes_data import json_object, render_record
from connector.sandbox.salesforce.schema import ObjectDef

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["MAX_RECORDS", "register"]

MAX_RECORDS = 200
_ROLLED_BACK = RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header")


def _too_many(count: int) -> ApiError:
    return ApiError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call (got {count})")


def _all_or_none(value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None:
        return False
    raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from value {value!r} (allOrNone)")


class _Undo:
    """What a collection call changed, to roll it back when ``allOrNone`` fails."""

    def __init__(self, app: SalesforceApp) -> None:
        self.app = app
        self.steps: list[tuple[ObjectDef, str, Record | None]] = []

    def before(self, obj: ObjectDef, record_id: str, record: Record | None) -> None:
        self.steps.append((obj, record_id, copy.deepcopy(record) if record is not None else None))

    def rollback(self) -> None:
        for obj, record_id, saved in reversed(self.steps):
            table = self.app.org.table(obj)
            if saved is None:
                table.pop(record_id, None)
            else:
                table[record_id] = saved
        self.app.org.fls_changed()
        self.app.org.reindex_members()


def register(router: Router, app: SalesforceApp) -> None:
    """Add the sObject Collections routes."""
    org = app.org

    def save(request: Request, creating: bool) -> Response:
        user = app.user_id(request)
        body = json_object(request)
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize the request: 'records' must be a list of sObjects")
        if len(records) > MAX_RECORDS:
            raise _too_many(len(records))
        all_or_none = _all_or_none(body.get("allOrNone"))
        prepared: list[tuple[ObjectDef | None, dict[str, t.Any], list[RecordError]]] = []
        for raw in records:  # deserialize everything first: a bad field fails the whole call before any write
            attributes = raw.get("attributes")
            type_name = attributes.get("type") if isinstance(attributes, dict) else None
            obj = org.obj(type_name) if isinstance(type_name, str) else None
            if obj is None:
                prepared.append((None, {}, [RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported" if type_name else "No type specified in the attributes of the record")]))
                continue
            values, errors = app.writer.values_from_json(obj, raw, user, creating)
            prepared.append((obj, values, errors))
        undo = _Undo(app)
        results: list[dict[str, t.Any]] = []
        failed = False
        for raw, (obj, values, errors) in zip(records, prepared, strict=True):
            if obj is not None and not errors:
                try:
                    results.append({"id": _apply(app, undo, obj, raw, values, user, creating), "success": True, "errors": []})
                    continue
                except RecordError as exc:
                    errors = [exc]
            failed = True
            results.append({"success": False, "errors": [e.to_json() for e in errors]})
        if all_or_none and failed:
            undo.rollback()
            results = [r if not r["success"] else {"success": False, "errors": [_ROLLED_BACK.to_json()]} for r in results]
        return Response.json(results)

    @router.route("POST", "/services/data/v{version}/composite/sobjects")
    def create(request: Request) -> Response:
        return save(request, creating=True)

    @router.route("PATCH", "/services/data/v{version}/composite/sobjects")
    def update(request: Request) -> Response:
        return save(request, creating=False)

    @router.route("DELETE", "/services/data/v{version}/composite/sobjects")
    def delete(request: Request) -> Response:
        user = app.user_id(request)
        ids = request.args("ids")
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > MAX_RECORDS:
            raise _too_many(len(ids))
        all_or_none = _all_or_none(request.arg("allOrNone"))
        undo = _Undo(app)
        results: list[dict[str, t.Any]] = []
        for raw_id in ids:
            record_id = normalize_id(raw_id)
            found = org.find(record_id) if record_id else None
            try:
                if record_id is None:
                    raise RecordError("MALFORMED_ID", f"malformed id {raw_id}", ())
                if found is None:
                    raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())
                obj, record = found
                undo.before(obj, record_id, record)
                app.writer.delete(obj, record, user)
                results.append({"id": record_id, "success": True, "errors": []})
            except RecordError as exc:
                results.append({"id": record_id or raw_id, "success": False, "errors": [exc.to_json()]})
        if all_or_none and any(not r["success"] for r in results):
            undo.rollback()
            results = [r if not r["success"] else {"id": r["id"], "success": False, "errors": [_ROLLED_BACK.to_json()]} for r in results]
        return Response.json(results)

    @router.route("GET", "/services/data/v{version}/composite/sobjects/{sobject}")
    def retrieve(request: Request) -> Response:
        user = app.user_id(request)
        obj = org.obj(request.path_params["sobject"])
        if obj is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        ids, names = request.args("ids"), request.args("fields")
        if not ids or not names:
            raise ApiError(400, "MISSING_ARGUMENT", "ids and fields parameters are required")
        if len(ids) > 2000:
            raise _too_many(len(ids))
        out: list[dict[str, t.Any] | None] = []
        for raw_id in ids:
            record_id = normalize_id(raw_id)
            record = org.table(obj).get(record_id) if record_id else None
            out.append(None if record is None or record.get("IsDeleted") else render_record(app, obj, record, user, request.path_params["version"], names))
        return Response.json(out)


def _apply(app: SalesforceApp, undo: _Undo, obj: ObjectDef, raw: dict[str, t.Any], values: dict[str, t.Any], user: str, creating: bool) -> str:
    """Save one collection record; returns its id or raises ``RecordError``."""
    if creating:
        if any(k.lower() == "id" for k in raw):
            raise RecordError("INVALID_FIELD", "Record ID: cannot specify Id in an insert call", ("Id",))
        record = app.writer.create(obj, values, user)
        undo.before(obj, record["Id"], None)
        return str(record["Id"])
    raw_id = next((v for k, v in raw.items() if k.lower() == "id"), None)
    if not raw_id:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))
    record_id = normalize_id(str(raw_id))
    if record_id is None:
        raise RecordError("MALFORMED_ID", f"malformed id {raw_id}", ("Id",))
    if not record_id.startswith(obj.key_prefix):
        raise RecordError("MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {raw_id}", ("Id",))
    target = app.org.table(obj).get(record_id)
    if target is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())
    undo.before(obj, record_id, target)
    app.writer.update(obj, target, values, user)
    return record_id
