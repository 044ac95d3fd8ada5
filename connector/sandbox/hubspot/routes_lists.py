"""Lists v3 routes: create, read by id or name, search, update filters, memberships.

https://developers.hubspot.com/docs/api/crm/lists
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.errors import validation_error
from connector.sandbox.hubspot.portal import Portal, paging_link

__all__ = ["register"]


def _flag(req: Request, name: str) -> bool:
    return (req.arg(name) or "").lower() == "true"


def register(router: Router, portal: Portal) -> None:
    """Add the list routes."""
    lists = portal.lists

    def as_json(lst: t.Any, include_filters: bool) -> dict[str, t.Any]:
        return lst.to_json(len(lists.member_ids(lst)), include_filters)

    @router.route("POST", "/crm/v3/lists")
    def create(req: Request) -> Response:
        lst = lists.create(req.json())
        # HubSpot answers 200 with the list including its filterBranch
        return Response.json({"list": as_json(lst, True)})

    @router.route("POST", "/crm/v3/lists/search")
    def search(req: Request) -> Response:
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise validation_error("body must be a JSON object")
        query = str(body.get("query") or "").casefold()
        kinds = body.get("processingTypes") or []
        wanted_ids = {str(i) for i in body.get("listIds") or []}
        try:
            offset, count = int(body.get("offset") or 0), int(body.get("count") or 20)
        except (TypeError, ValueError) as exc:
            raise validation_error(f"offset and count must be integers: {exc}") from exc
        if not isinstance(kinds, list) or not isinstance(body.get("listIds") or [], list):
            raise validation_error("processingTypes and listIds must be lists")
        if count < 1 or count > 500:
            raise validation_error(f"count must be between 1 and 500, got {count}")
        found = [lst for lst in lists.all()
                 if query in lst.name.casefold() and (not kinds or lst.processing_type in kinds) and (not wanted_ids or lst.list_id in wanted_ids)]
        page = found[offset:offset + count]
        results = []
        for lst in page:
            item = as_json(lst, False)
            size = item.pop("size")
            item.pop("filtersUpdatedAt", None)
            item["additionalProperties"] = {"hs_list_size": str(size), "hs_list_reference_count": "0"}
            results.append(item)
        return Response.json({"lists": results, "offset": offset + len(page), "hasMore": offset + len(page) < len(found), "total": len(found)})

    @router.route("GET", "/crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}")
    def by_name(req: Request) -> Response:
        lst = lists.by_name(req.path_params["objectTypeId"], req.path_params["listName"])
        return Response.json({"list": as_json(lst, _flag(req, "includeFilters"))})

    @router.route("GET", "/crm/v3/lists/{listId}")
    def by_id(req: Request) -> Response:
        return Response.json({"list": as_json(lists.get(req.path_params["listId"]), _flag(req, "includeFilters"))})

    @router.route("DELETE", "/crm/v3/lists/{listId}")
    def delete(req: Request) -> Response:
        lists.delete(req.path_params["listId"])
        return Response.empty(204)

    @router.route("PUT", "/crm/v3/lists/{listId}/update-list-filters")
    def update_filters(req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or "filterBranch" not in body:
            raise validation_error("body must be an object with 'filterBranch'")
        lst = lists.update_filters(req.path_params["listId"], body["filterBranch"])
        return Response.json({"updatedList": as_json(lst, True)})

    @router.route("PUT", "/crm/v3/lists/{listId}/memberships/add")
    def add(req: Request) -> Response:
        return Response.json(lists.change(req.path_params["listId"], req.json(), add=True))

    @router.route("PUT", "/crm/v3/lists/{listId}/memberships/remove")
    def remove(req: Request) -> Response:
        return Response.json(lists.change(req.path_params["listId"], req.json(), add=False))

    @router.route("GET", "/crm/v3/lists/{listId}/memberships")
    def memberships(req: Request) -> Response:
        lst = lists.get(req.path_params["listId"])
        try:
            limit = int(req.arg("limit") or 100)
            after = int(req.arg("after") or 0)
        except ValueError as exc:
            raise validation_error(f"limit and after must be integers: {exc}") from exc
        if limit < 1 or limit > 250:
            raise validation_error(f"limit must be between 1 and 250, got {limit}")
        members = lists.member_ids(lst)
        page = members[after:after + limit]
        body: dict[str, t.Any] = {"results": [{"recordId": rid, "membershipTimestamp": iso_ms(ms)} for rid, ms in page], "total": len(members)}
        if after + limit < len(members):
            body["paging"] = paging_link(req.header("host"), req.path, after + limit)
        return Response.json(body)
