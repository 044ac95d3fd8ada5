"""Forms API v3: list the portal's forms and read one by its GUID.

https://developers.hubspot.com/docs/api-reference/marketing-forms-v3/forms/get-marketing-v3-forms- --
``GET /marketing/v3/forms`` with ``after`` (the cursor from ``paging.next.after``), ``limit``,
``archived`` and ``formTypes`` ("By default, it returns the first 20 ``hubspot`` forms", SDK 12
docstring of ``forms_api.get_page``); ``GET /marketing/v3/forms/{formId}`` with ``archived``.
The maximum ``limit`` is not in HubSpot's reference; a third-party transcript of a real answer
shows 400 ``"limit": ["must be less than or equal to 100"]``, which the sandbox follows.
"""

from __future__ import annotations

import base64
import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.errors import not_found, validation_error
from connector.sandbox.hubspot.portal import Portal, paging_link

__all__ = ["register"]

FORM_TYPES = ("hubspot", "captured", "flow", "blog_comment", "all")
MAX_LIMIT = 100


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"form:{position}".encode()).decode().rstrip("=")


def _position(after: str) -> int:
    try:
        text = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "form" or not number.isdecimal():
            raise ValueError(text)
        return int(number)
    except ValueError as exc:
        raise validation_error(f"after {after!r} is not a paging cursor returned by this endpoint") from exc


def _limit(req: Request) -> int:
    raw = req.arg("limit")
    if raw in (None, ""):
        return 20
    try:
        value = int(raw)
    except ValueError as exc:
        raise validation_error(f"query parameter limit must be an integer, got {raw!r}") from exc
    if value > MAX_LIMIT or value < 1:
        message = f"must be less than or equal to {MAX_LIMIT}" if value > MAX_LIMIT else "must be greater than or equal to 1"
        raise validation_error("Invalid value for limit. Reduce the limit and retry.", context={"limit": [message]})
    return value


def register(router: Router, portal: Portal) -> None:
    """Add the forms routes."""
    forms = portal.store.forms

    @router.route("GET", "/marketing/v3/forms")
    def listing(req: Request) -> Response:
        types = req.args("formTypes") or ["hubspot"]
        wrong = [x for x in types if x not in FORM_TYPES]
        if wrong:
            raise validation_error(f"formTypes {wrong} are not among {list(FORM_TYPES)}")
        limit = _limit(req)
        start = _position(req.arg("after") or "") if req.arg("after") else 0
        found = forms.all(archived=(req.arg("archived") or "").lower() == "true", form_types=types)
        body: dict[str, t.Any] = {"results": [f.to_json() for f in found[start:start + limit]]}
        if start + limit < len(found):
            body["paging"] = paging_link(req.header("host"), req.path, _cursor(start + limit))
        return Response.json(body)

    @router.route("GET", "/marketing/v3/forms/{formId}")
    def one(req: Request) -> Response:
        form = forms.require(req.path_params["formId"])
        if form.archived != ((req.arg("archived") or "").lower() == "true"):
            raise not_found(f"Form {form.id} was not found", context={"formId": [form.id]})
        return Response.json(form.to_json())
