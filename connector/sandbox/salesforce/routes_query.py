"""``query`` and ``queryAll`` (REST API Developer Guide, "Query", "QueryAll", "Query More Results").

``GET /services/data/vXX.X/query?q=SOQL`` excludes deleted records; ``queryAll`` includes records in
the recycle bin and merged-away records (``IsDeleted = true``, ``MasterRecordId`` set). A bad query
answers 400 with Salesforce's code (``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``,
``INVALID_QUERY_FILTER_OPERATOR``) and its message, including the caret echo of the query.
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce.errors import ApiError
from connector.sandbox.salesforce.query import OrgSource, batch_size
from connector.sandbox.salesforce.soql import QueryError, execute

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["register", "run_query"]


def run_query(app: SalesforceApp, request: Request, source: OrgSource, include_deleted: bool, text: str | None) -> Response:
    """Run the query of a request and answer its first page (shared with the Tooling API)."""
    if text is None or not text.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        result = execute(text, source, app.org.clock.now_ms(), include_deleted)
    except QueryError as exc:
        raise ApiError(400, exc.error_code, exc.render(text)) from exc
    user = source.user_id or ""
    page = app.cursors.first_page(user, result, source, source.version, batch_size(request.header("sforce-query-options")))
    return Response.json(page)


def register(router: Router, app: SalesforceApp) -> None:
    """Add the query routes."""

    def handler(include_deleted: bool) -> t.Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            source = OrgSource(app.org, app.user_id(request), request.path_params["version"])
            return run_query(app, request, source, include_deleted, request.arg("q"))

        return answer

    def more(request: Request) -> Response:
        page = app.cursors.next_page(app.user_id(request), request.path_params["locator"])
        return Response.json(page)

    router.add("GET", "/services/data/v{version}/query", handler(False))
    router.add("GET", "/services/data/v{version}/queryAll", handler(True))
    router.add("GET", "/services/data/v{version}/query/{locator}", more)
    router.add("GET", "/services/data/v{version}/queryAll/{locator}", more)
