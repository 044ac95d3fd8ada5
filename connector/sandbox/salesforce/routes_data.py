"""sObject resources: versions, describe, single-record CRUD, get-updated/get-deleted and ``limits``.

Paths and shapes from the REST API Developer Guide ("sObject Describe", "sObject Rows",
"sObject Get Updated", "sObject Get Deleted", "Limits"): create answers 201
``{"id", "success": true, "errors": []}``, update and delete 204, an unknown id 404 ``NOT_FOUND``,
a deleted one 404 ``ENTITY_IS_DELETED``. ``describe`` shows only the fields the session's user can
see, with ``createable``/``updateable`` false where FLS gives read but not edit.
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.errors import ApiError, RecordError, entity_deleted, invalid_field, not_found
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.org import Record
from connector.sandbox.salesforce.schema import ObjectDef
from connector.sandbox.salesforce.values import output_value

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["json_object", "record_errors", "register", "render_record"]

_RELEASES = {59.0: "Winter '24", 60.0: "Spring '24", 61.0: "Summer '24", 62.0: "Winter '25"}


def json_object(request: Request) -> dict[str, t.Any]:
    """The body as a JSON object, or 400 ``JSON_PARSER_ERROR`` as Salesforce answers garbage."""
    try:
        body = request.json()
    except ValueError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: the request body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of SObject from {type(body).__name__.upper()} value")
    return body


def record_errors(errors: t.Sequence[RecordError]) -> Response:
    """400 with every save error of one record, ``[{"message", "errorCode", "fields"}]``."""
    return Response.json([{"message": e.message, "errorCode": e.status_code, "fields": list(e.fields)} for e in errors], 400)


def render_record(app: SalesforceApp, obj: ObjectDef, record: Record, user_id: str, version: str, names: t.Sequence[str] | None = None) -> dict[str, t.Any]:
    """A record as ``GET sobjects/X/id`` answers it: ``attributes`` and the visible (or named) fields."""
    out: dict[str, t.Any] = {"attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"}}
    if names is None:
        fields = app.org.visible_fields(obj, user_id)
    else:
        fields = []
        for name in names:
            field = app.org.field_for(obj, name, user_id)
            if field is None:
                raise invalid_field(f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, be sure to append the '__c' "
                                    "after the custom field name. Please reference your WSDL or the describe call for the appropriate names.")
            fields.append(field)
    for field in fields:
        out[field.name] = output_value(field, record.get(field.name))
    return out


def register(router: Router, app: SalesforceApp) -> None:
    """Add the sObject routes."""
    org = app.org

    def sobject(request: Request) -> ObjectDef:
        obj = org.obj(request.path_params["sobject"])
        if obj is None:
            raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{request.path_params['sobject']}' is not supported.")
        return obj

    def live_record(obj: ObjectDef, raw_id: str) -> Record:
        record_id = normalize_id(raw_id)
        record = org.table(obj).get(record_id) if record_id else None
        if record is None:
            raise not_found()
        if record.get("IsDeleted"):
            raise entity_deleted()
        return record

    @router.route("GET", "/services/data")
    def versions(request: Request) -> Response:
        return Response.json([{"label": _RELEASES.get(v, f"API {v}"), "url": f"/services/data/v{v:.1f}", "version": f"{v:.1f}"} for v in (59.0, 60.0, 61.0, 62.0)])

    @router.route("GET", "/services/data/v{version}")
    def resources(request: Request) -> Response:
        base = f"/services/data/v{request.path_params['version']}"
        return Response.json({name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "limits", "composite", "tooling", "jobs/ingest")})

    @router.route("GET", "/services/data/v{version}/limits")
    def limits(request: Request) -> Response:
        from connector.sandbox.salesforce.limits import limits_body

        return Response.json(limits_body(app.daily, app.bulk.batches_today(), max(1, sum(org.counts().values()) * 2 // 1024)))

    @router.route("GET", "/services/data/v{version}/sobjects")
    def describe_global(request: Request) -> Response:
        version = request.path_params["version"]
        return Response.json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [o.summary(version) for o in org.objects.values()]})

    @router.route("GET", "/services/data/v{version}/sobjects/{sobject}")
    def basic_info(request: Request) -> Response:
        obj = sobject(request)
        user = app.user_id(request)
        recent = sorted((r for r in org.table(obj).values() if not r.get("IsDeleted")), key=lambda r: r.get("LastModifiedDate") or 0, reverse=True)[:5]
        version = request.path_params["version"]
        return Response.json({"objectDescribe": obj.summary(version), "recentItems": [render_record(app, obj, r, user, version, ["Id"]) for r in recent]})

    @router.route("GET", "/services/data/v{version}/sobjects/{sobject}/describe")
    def describe(request: Request) -> Response:
        obj = sobject(request)
        user = app.user_id(request)
        fields = []
        for field in org.visible_fields(obj, user):
            entry = field.describe()
            if not org.can_edit(obj, field, user):
                entry["createable"] = entry["updateable"] = False
            fields.append(entry)
        body = obj.summary(request.path_params["version"])
        body.update({"actionOverrides": [], "childRelationships": [], "compactLayoutable": not obj.custom_setup, "fields": fields,
                     "listviewable": None, "lookupLayoutable": None, "namedLayoutInfos": [], "networkScopeFieldName": None,
                     "recordTypeInfos": [{"active": True, "available": True, "defaultRecordTypeMapping": True, "developerName": "Master", "master": True,
                                          "name": "Master", "recordTypeId": "012000000000000AAA", "urls": {}}],
                     "searchLayoutable": not obj.custom_setup, "supportedScopes": [{"label": "All", "name": "everything"}]})
        return Response.json(body)

    @router.route("POST", "/services/data/v{version}/sobjects/{sobject}")
    def create(request: Request) -> Response:
        obj = sobject(request)
        user = app.user_id(request)
        body = json_object(request)
        values, errors = app.writer.values_from_json(obj, body, user, creating=True)
        if any(k.lower() == "id" for k in body):
            errors.insert(0, RecordError("INVALID_FIELD", "Record ID: cannot specify Id in an insert call", ("Id",)))
        if errors:
            return record_errors(errors)
        try:
            record = app.writer.create(obj, values, user)
        except RecordError as exc:
            return record_errors([exc])
        return Response.json({"id": record["Id"], "success": True, "errors": []}, 201)

    @router.route("GET", "/services/data/v{version}/sobjects/{sobject}/updated")
    def updated(request: Request) -> Response:
        obj = sobject(request)
        start, end = _window(request)
        ids = [r["Id"] for r in org.table(obj).values() if not r.get("IsDeleted") and start <= (r.get("SystemModstamp") or 0) < end]
        return Response.json({"ids": ids, "latestDateCovered": timefmt.format_datetime(end - end % 60_000)})

    @router.route("GET", "/services/data/v{version}/sobjects/{sobject}/deleted")
    def deleted(request: Request) -> Response:
        obj = sobject(request)
        start, end = _window(request)
        rows = [r for r in org.table(obj).values() if r.get("IsDeleted") and start <= (r.get("SystemModstamp") or 0) < end]
        return Response.json({"deletedRecords": [{"id": r["Id"], "deletedDate": timefmt.format_datetime(r["SystemModstamp"])} for r in rows],
                              "earliestDateAvailable": timefmt.format_datetime(org.clock.now_ms() - 15 * timefmt.DAY_MS),
                              "latestDateCovered": timefmt.format_datetime(end - end % 60_000)})

    @router.route("GET", "/services/data/v{version}/sobjects/{sobject}/{recordId}")
    def read(request: Request) -> Response:
        obj = sobject(request)
        names = request.args("fields") or None
        record = live_record(obj, request.path_params["recordId"])
        return Response.json(render_record(app, obj, record, app.user_id(request), request.path_params["version"], names))

    @router.route("PATCH", "/services/data/v{version}/sobjects/{sobject}/{recordId}")
    def update(request: Request) -> Response:
        obj = sobject(request)
        user = app.user_id(request)
        record = live_record(obj, request.path_params["recordId"])
        values, errors = app.writer.values_from_json(obj, json_object(request), user, creating=False)
        if errors:
            return record_errors(errors)
        try:
            app.writer.update(obj, record, values, user)
        except RecordError as exc:
            return record_errors([exc])
        return Response.empty(204)

    @router.route("DELETE", "/services/data/v{version}/sobjects/{sobject}/{recordId}")
    def delete(request: Request) -> Response:
        obj = sobject(request)
        record = live_record(obj, request.path_params["recordId"])
        try:
            app.writer.delete(obj, record, app.user_id(request))
        except RecordError as exc:
            return record_errors([exc])
        return Response.empty(204)


def _window(request: Request) -> tuple[int, int]:
    """The ``start``/``end`` of get-updated/get-deleted, as epoch ms; 400 when missing or reversed."""
    try:
        start = timefmt.parse_datetime(request.arg("start") or "")
        end = timefmt.parse_datetime(request.arg("end") or "")
    except ValueError as exc:
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"start and end must be date-times: {exc}") from exc
    if end <= start:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "EndDate can not be before StartDate")
    return start, end
