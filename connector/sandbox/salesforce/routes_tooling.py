"""Tooling API endpoints for custom fields: create, read, update, delete ``CustomField`` and ``tooling/query``."""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce.errors import ApiError
from connector.sandbox.salesforce.routes_data import json_object
from connector.sandbox.salesforce.soql import QueryError, execute, render
from connector.sandbox.salesforce.tooling import CUSTOM_FIELD, ToolingSource

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["register"]

_ONE_ROW = ("When retrieving results with Metadata or FullName fields, the query qualificatio ns must specify no more than one row for retrieval. "
            "Result size: {n}")


def register(router: Router, app: SalesforceApp) -> None:
    """Add the Tooling API routes."""
    fields = app.custom_fields
    base = "/services/data/v{version}/tooling"

    def check_type(request: Request) -> None:
        if request.path_params["sobject"].lower() != "customfield":
            raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: the sandbox's Tooling API serves CustomField, not {request.path_params['sobject']}")

    @router.route("POST", base + "/sobjects/{sobject}")
    def create(request: Request) -> Response:
        check_type(request)
        body = json_object(request)
        unknown = [k for k in body if k.lower() not in ("fullname", "metadata", "attributes")]
        if unknown:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type CustomField", [])
        full_name = next((v for k, v in body.items() if k.lower() == "fullname"), None)
        metadata = next((v for k, v in body.items() if k.lower() == "metadata"), None)
        record_id = fields.create(full_name, metadata)
        return Response.json({"id": record_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201)

    @router.route("GET", base + "/sobjects/{sobject}/{recordId}")
    def read(request: Request) -> Response:
        check_type(request)
        record = fields.record(fields.get(request.path_params["recordId"]))
        source = ToolingSource(fields, request.path_params["version"])
        out: dict[str, t.Any] = {"attributes": {"type": "CustomField", "url": source.url(CUSTOM_FIELD, record["Id"])}}
        from connector.sandbox.salesforce.values import output_value

        for field in CUSTOM_FIELD.fields.values():
            out[field.name] = output_value(field, record.get(field.name))
        return Response.json(out)

    @router.route("PATCH", base + "/sobjects/{sobject}/{recordId}")
    def update(request: Request) -> Response:
        check_type(request)
        body = json_object(request)
        metadata = next((v for k, v in body.items() if k.lower() == "metadata"), None)
        fields.update(request.path_params["recordId"], metadata)
        return Response.empty(204)

    @router.route("DELETE", base + "/sobjects/{sobject}/{recordId}")
    def delete(request: Request) -> Response:
        check_type(request)
        fields.delete(request.path_params["recordId"])
        return Response.empty(204)

    @router.route("GET", base + "/query")
    def query(request: Request) -> Response:
        text = request.arg("q")
        if not text or not text.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        source = ToolingSource(fields, request.path_params["version"])
        try:
            result = execute(text, source, app.org.clock.now_ms())
        except QueryError as exc:
            raise ApiError(400, exc.error_code, exc.render(text)) from exc
        if len(result.rows) > 1 and any(c.field.name in ("FullName", "Metadata") for c in result.columns):
            raise ApiError(400, "MALFORMED_QUERY", _ONE_ROW.format(n=len(result.rows)))
        records = [render(result, row, source) for row in result.rows]
        return Response.json({"size": len(records), "totalSize": len(records), "done": True, "queryLocator": None,
                              "entityTypeName": "CustomField", "records": records})
