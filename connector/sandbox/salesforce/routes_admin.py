"""``/_sandbox/*``: the operator's endpoints for tests and benchmarks in other processes.

No auth, no limits, no faults, not in the request log. Reset or reseed the org, insert and change
records as a user would in Salesforce's UI (read-only fields allowed, FLS ignored, the clock stamps
changes), merge records, convert leads, add custom fields (optionally granted to the integration
user), publish a CDC gap event, expire sessions, read or clear the request log, set the daily usage, move the clock, change
the fault plan, and read a summary.
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.errors import ApiError, RecordError
from connector.sandbox.salesforce.faults import SalesforceFaultPlan
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.ops import convert_lead, merge
from connector.sandbox.salesforce.routes_data import json_object
from connector.sandbox.salesforce.schema import ObjectDef

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["register"]


def _bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_INPUT", message)


def register(router: Router, app: SalesforceApp) -> None:
    """Add the admin routes."""
    org = app.org

    def sobject(request: Request) -> ObjectDef:
        obj = org.obj(request.path_params["sobject"])
        if obj is None:
            raise ApiError(404, "NOT_FOUND", f"no sObject type {request.path_params['sobject']}")
        return obj

    def record_of(request: Request) -> tuple[ObjectDef, dict[str, t.Any]]:
        obj = sobject(request)
        record_id = normalize_id(request.path_params["recordId"])
        record = org.table(obj).get(record_id) if record_id else None
        if record is None:
            raise ApiError(404, "NOT_FOUND", f"no {obj.name} {request.path_params['recordId']}")
        return obj, record

    @router.route("GET", "/_sandbox/requests")
    def requests_log(request: Request) -> Response:
        return Response.json({"requests": [r.to_json() for r in app.log.snapshot()]})

    @router.route("DELETE", "/_sandbox/requests")
    def requests_clear(request: Request) -> Response:
        app.log.clear()
        return Response.empty(204)

    @router.route("POST", "/_sandbox/reset")
    def reset(request: Request) -> Response:
        body = json_object(request) if request.body else {}
        try:
            counts = app.reseed(str(body.get("seed", "empty")), leads=int(body.get("leads", 5000)), contacts=int(body.get("contacts", 2000)),
                                random_seed=int(body.get("randomSeed", 42)))
        except (TypeError, ValueError) as exc:
            raise _bad(str(exc)) from exc
        return Response.json({"objects": counts})

    @router.route("POST", "/_sandbox/records/{sobject}")
    def insert(request: Request) -> Response:
        obj = sobject(request)
        rows = json_object(request).get("records")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise _bad("'records' must be a list of field objects")
        ids = []
        for i, row in enumerate(rows):
            values, errors = app.writer.values_from_json(obj, row, None, creating=True)
            try:
                if errors:
                    raise errors[0]
                ids.append(app.writer.create(obj, values, None)["Id"])
            except RecordError as exc:
                raise _bad(f"records[{i}]: {exc.status_code}: {exc.message}") from exc
        return Response.json({"ids": ids}, 201)

    @router.route("POST", "/_sandbox/leads/bulk")
    def bulk_leads(request: Request) -> Response:
        body = json_object(request)
        count = body.get("count")
        if not isinstance(count, int) or not 1 <= count <= 1_000_000:
            raise _bad("count must be an integer between 1 and 1,000,000")
        ids = app.add_leads(count, seed=int(body.get("seed", 7)), modstamp_ms=body.get("modstampMs"))
        return Response.json({"count": len(ids), "firstId": ids[0], "lastId": ids[-1]}, 201)

    @router.route("GET", "/_sandbox/records/{sobject}/{recordId}")
    def read(request: Request) -> Response:
        obj, record = record_of(request)
        return Response.json({f.name: (timefmt.format_datetime(v) if f.type == "datetime" and v is not None else v)
                              for f in obj.fields.values() for v in [record.get(f.name)]})

    @router.route("PATCH", "/_sandbox/records/{sobject}/{recordId}")
    def change(request: Request) -> Response:
        obj, record = record_of(request)
        fields = json_object(request).get("fields")
        if not isinstance(fields, dict):
            raise _bad("'fields' must be an object")
        values, errors = app.writer.values_from_json(obj, fields, None, creating=False)
        try:
            if errors:
                raise errors[0]
            app.writer.update(obj, record, values, None)
        except RecordError as exc:
            raise _bad(f"{exc.status_code}: {exc.message}") from exc
        return Response.json({"id": record["Id"], "SystemModstamp": timefmt.format_datetime(record["SystemModstamp"])})

    @router.route("DELETE", "/_sandbox/records/{sobject}/{recordId}")
    def delete(request: Request) -> Response:
        obj, record = record_of(request)
        try:
            app.writer.delete(obj, record, None)
        except RecordError as exc:
            raise _bad(f"{exc.status_code}: {exc.message}") from exc
        return Response.empty(204)

    @router.route("POST", "/_sandbox/changes/{sobject}/gap")
    def change_gap(request: Request) -> Response:
        obj = sobject(request)
        body = json_object(request)
        ids = body.get("recordIds")
        if app.changes is None:
            raise _bad("change events are off: start the sandbox with a Pub/Sub port")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise _bad("'recordIds' must be a non-empty list of ids")
        try:
            app.changes.gap(obj, ids, str(body.get("changeType", "GAP_UPDATE")))
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        return Response.empty(204)

    @router.route("POST", "/_sandbox/merge")
    def merge_records(request: Request) -> Response:
        body = json_object(request)
        merged = body.get("mergedIds")
        if not isinstance(merged, list):
            raise _bad("'mergedIds' must be a list of one or two ids")
        return Response.json(merge(org, str(body.get("sobject", "Lead")), body.get("masterId"), merged))

    @router.route("POST", "/_sandbox/convert")
    def convert(request: Request) -> Response:
        body = json_object(request)
        return Response.json(convert_lead(org, app.writer, body.get("leadId"), account_id=body.get("accountId"), contact_id=body.get("contactId"),
                                          create_opportunity=bool(body.get("createOpportunity")), opportunity_name=body.get("opportunityName"),
                                          converted_status=str(body.get("convertedStatus", "Closed - Converted"))))

    @router.route("POST", "/_sandbox/custom-fields")
    def custom_field(request: Request) -> Response:
        body = json_object(request)
        record_id = app.custom_fields.create(body.get("fullName"), body.get("metadata"))
        if body.get("grant"):
            app.grant_field(str(body["fullName"]), edit=bool(body.get("edit", True)))
        return Response.json({"id": record_id}, 201)

    @router.route("POST", "/_sandbox/sessions/expire")
    def expire(request: Request) -> Response:
        body = json_object(request) if request.body else {}
        token = body.get("token")
        return Response.json({"expired": app.sessions.expire(token if isinstance(token, str) else None)})

    @router.route("GET", "/_sandbox/limits")
    def limits(request: Request) -> Response:
        return Response.json({"dailyUsage": app.daily.used, "dailyLimit": app.daily.maximum})

    @router.route("POST", "/_sandbox/limits")
    def set_limits(request: Request) -> Response:
        body = json_object(request)
        try:
            app.daily.set_usage(int(body.get("dailyUsage", app.daily.used)), int(body["dailyLimit"]) if "dailyLimit" in body else None)
        except (TypeError, ValueError) as exc:
            raise _bad(str(exc)) from exc
        return limits(request)

    @router.route("GET", "/_sandbox/clock")
    def clock(request: Request) -> Response:
        now = org.clock.now_ms()
        return Response.json({"nowMs": now, "iso": timefmt.format_datetime(now)})

    @router.route("POST", "/_sandbox/clock/advance")
    def advance(request: Request) -> Response:
        body = json_object(request)
        try:
            now = org.clock.advance(days=float(body.get("days", 0)), hours=float(body.get("hours", 0)), seconds=float(body.get("seconds", 0)), ms=int(body.get("ms", 0)))
        except (TypeError, ValueError) as exc:
            raise _bad(f"cannot advance the clock: {exc}") from exc
        return Response.json({"nowMs": now, "iso": timefmt.format_datetime(now)})

    @router.route("POST", "/_sandbox/faults")
    def faults(request: Request) -> Response:
        body = json_object(request)
        try:
            plan = SalesforceFaultPlan(rate=float(body.get("rate", 0)), seed=int(body.get("seed", 0)), kinds=tuple(str(k) for k in body.get("kinds") or ()),
                                       writes=str(body.get("writes", "skip")), slow_seconds=float(body.get("slowSeconds", 1.0)))
        except (TypeError, ValueError) as exc:
            raise _bad(str(exc)) from exc
        app.faults.configure(plan)
        return Response.json(app.faults.summary())

    @router.route("GET", "/_sandbox/state")
    def state(request: Request) -> Response:
        now = org.clock.now_ms()
        return Response.json({"objects": org.counts(), "customFields": [f"{d.table}.{d.field.name}" for d in app.custom_fields.definitions.values()],
                              "sessions": app.sessions.live_count, "dailyUsage": app.daily.used, "dailyLimit": app.daily.maximum,
                              "bulkJobs": {j.id: j.state for j in app.bulk.jobs.values()}, "openCursors": app.cursors.open_count,
                              "clock": {"nowMs": now, "iso": timefmt.format_datetime(now)}, "faults": app.faults.summary()})
