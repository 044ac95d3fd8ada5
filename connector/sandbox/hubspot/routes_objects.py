"""CRM objects v3 (search, batch read/update/create, list, create, get, patch), associations v4, owners.

Shapes: https://developers.hubspot.com/docs/api/crm/contacts ,
https://developers.hubspot.com/docs/api/crm/search , https://developers.hubspot.com/docs/api/crm/associations/v4 ,
https://developers.hubspot.com/docs/api/crm/owners .
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.errors import ApiError, not_found, validation_error
from connector.sandbox.hubspot.portal import Portal, paging_link
from connector.sandbox.hubspot.properties import canonical_object_type
from connector.sandbox.hubspot.search import parse_query, run_search
from connector.sandbox.hubspot.store import ASSOCIATION_TYPE_IDS, CREATED_PROP, MODIFIED_PROPS, Record

__all__ = ["register"]

MAX_BATCH = 100
_SINGULAR = {"contacts": "contact", "meetings": "meeting", "calls": "call", "emails": "email", "tasks": "task", "deals": "deal"}


def default_properties(object_type: str) -> list[str]:
    """What HubSpot returns when a request names no properties."""
    if object_type == "contacts":
        return ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"]
    return ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]


def requested_properties(portal: Portal, object_type: str, names: list[str] | None) -> list[str]:
    """Requested names that exist (unknown ones are ignored, as HubSpot does) plus the always-returned ones."""
    if not names:
        return default_properties(object_type)
    always = ["hs_object_id", CREATED_PROP.get(object_type, "hs_createdate"), *MODIFIED_PROPS.get(object_type, ("hs_lastmodifieddate",))]
    known = [n for n in dict.fromkeys(names) if portal.store.catalog.get(object_type, n) is not None]
    return list(dict.fromkeys(known + always))


def _batch_inputs(body: t.Any) -> list[dict[str, t.Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise validation_error("body must be an object with an 'inputs' list")
    inputs = body["inputs"]
    if len(inputs) > MAX_BATCH:
        raise validation_error(f"Too many inputs: {len(inputs)}. The maximum number of inputs per batch request is {MAX_BATCH}.",
                               context={"maxInputs": [str(MAX_BATCH)]})
    for i, item in enumerate(inputs):
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise validation_error(f"inputs[{i}].id is required")
    return inputs


def _not_found_error(object_type: str, ids: list[str]) -> dict[str, t.Any]:
    return {"status": "error", "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {_SINGULAR[object_type].upper()} objects, they may be deleted or not exist. Check that ids are valid.",
            "context": {"ids": ids}, "errors": [], "links": {}}


def _batch_answer(results: list[dict[str, t.Any]], missing: list[str], object_type: str, started: int, portal: Portal) -> Response:
    body: dict[str, t.Any] = {"status": "COMPLETE", "results": results, "startedAt": iso_ms(started), "completedAt": iso_ms(portal.clock.now_ms())}
    if missing:
        body["numErrors"] = 1
        body["errors"] = [_not_found_error(object_type, missing)]
        return Response.json(body, 207)
    return Response.json(body, 200)


def _association_type(from_type: str, to_type: str) -> int:
    type_id = ASSOCIATION_TYPE_IDS.get((from_type, to_type))
    if type_id is None:
        raise validation_error(f"{from_type} cannot be associated with {to_type} in the sandbox")
    return type_id


def _with_associations(portal: Portal, object_type: str, record: Record, names: list[str], assoc_types: list[str]) -> dict[str, t.Any]:
    body = record.to_json(names)
    if assoc_types:
        associations = {}
        for raw in assoc_types:
            to_type = canonical_object_type(raw)
            ids = portal.store.associated(object_type, record.id, to_type)
            if ids:
                label = f"{_SINGULAR[object_type]}_to_{_SINGULAR[to_type]}"
                associations[to_type] = {"results": [{"id": i, "type": label} for i in ids]}
        if associations:
            body["associations"] = associations
    return body


def register(router: Router, portal: Portal) -> None:
    """Add the CRM object routes."""
    store = portal.store

    @router.route("POST", "/crm/v3/objects/{objectType}/search")
    def search(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        query = parse_query(store, object_type, req.json())
        page = run_search(store, query, portal.search_cache)
        names = requested_properties(portal, object_type, query.properties)
        body: dict[str, t.Any] = {"total": page.total, "results": [r.to_json(names) for r in page.records]}
        if page.next_after is not None:
            body["paging"] = {"next": {"after": str(page.next_after), "link": f"?after={page.next_after}"}}
        return Response.json(body)

    @router.route("POST", "/crm/v3/objects/{objectType}/batch/read")
    def batch_read(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        body = req.json()
        inputs = _batch_inputs(body)
        if body.get("idProperty") not in (None, "", "hs_object_id"):
            raise validation_error("the sandbox only reads by record id (idProperty hs_object_id)")
        names = requested_properties(portal, object_type, body.get("properties"))
        started = portal.clock.now_ms()
        results, missing = [], []
        with store.lock:
            for item in inputs:
                record = store.get(object_type, str(item["id"]))
                if record is None or record.archived:
                    missing.append(str(item["id"]))
                else:
                    results.append(record.to_json(names))
        return _batch_answer(results, missing, object_type, started, portal)

    @router.route("POST", "/crm/v3/objects/{objectType}/batch/update")
    def batch_update(req: Request) -> Response:
        # Values are validated for every input before anything is written: an unknown or read-only
        # property rejects the whole request with 400 VALIDATION_ERROR ("Read-only and non-existent
        # properties will result in an error",
        # https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-update);
        # ids that do not exist are reported per input in a 207 multi-status answer.
        object_type = canonical_object_type(req.path_params["objectType"])
        inputs = _batch_inputs(req.json())
        ids = [str(i["id"]) for i in inputs]
        dupes = sorted({i for i in ids if ids.count(i) > 1}, key=str)
        if dupes:
            raise validation_error(f"Duplicate IDs found in batch input: {dupes}. IDs must be unique")
        started = portal.clock.now_ms()
        with store.lock:
            validated = []
            for i, item in enumerate(inputs):
                props = item.get("properties")
                if not isinstance(props, dict):
                    raise validation_error(f"inputs[{i}].properties must be an object")
                validated.append(store.catalog.validate_write(object_type, props))
            results, missing = [], []
            for item, values in zip(inputs, validated, strict=False):
                record = store.get(object_type, str(item["id"]))
                if record is None or record.archived:
                    missing.append(str(item["id"]))
                    continue
                record = store.update(object_type, record.id, {}, validated=values)
                results.append(record.to_json(requested_properties(portal, object_type, list(values))))
        return _batch_answer(results, missing, object_type, started, portal)

    @router.route("GET", "/crm/v3/objects/{objectType}")
    def list_page(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        limit = _int_arg(req, "limit", 10, 1, 100)
        after = _int_arg(req, "after", 0, 0, None)
        names = requested_properties(portal, object_type, req.args("properties") or None)
        assoc = req.args("associations")
        with store.lock:
            live = [r for r in store.objects(object_type).records.values() if not r.archived]
            page = live[after:after + limit]
            results = [_with_associations(portal, object_type, r, names, assoc) for r in page]
        body: dict[str, t.Any] = {"results": results}
        if after + limit < len(live):
            body["paging"] = paging_link(req.header("host"), req.path, after + limit)
        return Response.json(body)

    @router.route("POST", "/crm/v3/objects/{objectType}")
    def create(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise validation_error("body must be an object with 'properties'")
        links = _links(object_type, body.get("associations"), "associations")
        with store.lock:
            email = str(body["properties"].get("email") or "").lower()
            if object_type == "contacts" and email:
                for record in store.objects("contacts").records.values():
                    if (record.properties.get("email") or "").lower() == email:
                        raise ApiError(409, f"Contact already exists. Existing ID: {record.id}", "CONFLICT")
            _require_contacts(links)
            record = _create_linked(object_type, body["properties"], links)
            names = requested_properties(portal, object_type, list(body["properties"]))
            return Response.json(record.to_json(names), 201)

    @router.route("POST", "/crm/v3/objects/{objectType}/batch/create")
    def batch_create(req: Request) -> Response:
        # https://developers.hubspot.com/docs/api-reference/legacy/crm/activities/tasks/batch/create-tasks:
        # ``{"inputs": [{"properties", "associations": [{"to": {"id"}, "types": [...]}], "objectWriteTraceId"}]}``
        # (at most 100), answered 201 ``{"status", "results", "startedAt", "completedAt"}``; each result
        # echoes its input's ``objectWriteTraceId``. Every input is validated before anything is
        # created: one invalid input fails the whole request with 400 (the sandbox's choice where
        # HubSpot's documentation does not say; it never half-creates a batch).
        object_type = canonical_object_type(req.path_params["objectType"])
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise validation_error("body must be an object with an 'inputs' list")
        inputs = body["inputs"]
        if len(inputs) > MAX_BATCH:
            raise validation_error(f"Too many inputs: {len(inputs)}. The maximum number of inputs per batch request is {MAX_BATCH}.",
                                   context={"maxInputs": [str(MAX_BATCH)]})
        started = portal.clock.now_ms()
        with store.lock:
            planned = []
            for i, item in enumerate(inputs):
                if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
                    raise validation_error(f"inputs[{i}].properties must be an object")
                store.catalog.validate_write(object_type, dict(item["properties"]))
                links = _links(object_type, item.get("associations"), f"inputs[{i}].associations")
                _require_contacts(links)
                planned.append((item, links))
            results = []
            for item, links in planned:
                record = _create_linked(object_type, item["properties"], links)
                result = record.to_json(requested_properties(portal, object_type, list(item["properties"])))
                if item.get("objectWriteTraceId") is not None:
                    result["objectWriteTraceId"] = str(item["objectWriteTraceId"])
                results.append(result)
        answer = {"status": "COMPLETE", "results": results, "startedAt": iso_ms(started), "completedAt": iso_ms(portal.clock.now_ms())}
        return Response.json(answer, 201)

    def _require_contacts(links: list[str]) -> None:
        for to_id in links:
            if store.get("contacts", to_id) is None:
                raise ApiError(400, f"Contact {to_id} does not exist; cannot associate", "VALIDATION_ERROR")

    def _create_linked(object_type: str, properties: dict[str, t.Any], links: list[str]) -> Record:
        record = store.create(object_type, properties)
        for to_id in links:
            store.associate(object_type, record.id, "contacts", to_id)
        return record

    @router.route("GET", "/crm/v3/objects/{objectType}/{objectId}")
    def get_one(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        record = store.require(object_type, req.path_params["objectId"])
        names = requested_properties(portal, object_type, req.args("properties") or None)
        return Response.json(_with_associations(portal, object_type, record, names, req.args("associations")))

    @router.route("PATCH", "/crm/v3/objects/{objectType}/{objectId}")
    def patch_one(req: Request) -> Response:
        object_type = canonical_object_type(req.path_params["objectType"])
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise validation_error("body must be an object with 'properties'")
        record = store.update(object_type, req.path_params["objectId"], body["properties"])
        return Response.json(record.to_json(requested_properties(portal, object_type, list(body["properties"]))))

    @router.route("POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read")
    def associations_read(req: Request) -> Response:
        from_type = canonical_object_type(req.path_params["fromObjectType"])
        to_type = canonical_object_type(req.path_params["toObjectType"])
        inputs = _assoc_inputs(req.json())
        type_id = _association_type(from_type, to_type)
        started = portal.clock.now_ms()
        results, missing = [], []
        for item in inputs:
            from_id = str(item["id"])
            if store.get(from_type, from_id) is None:
                missing.append(from_id)
                continue
            to_ids = store.associated(from_type, from_id, to_type)
            results.append({"from": {"id": from_id}, "to": [
                {"toObjectId": int(i), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]} for i in to_ids]})
        return _batch_answer(results, missing, from_type, started, portal)

    @router.route("GET", "/crm/v3/owners")
    def owners(req: Request) -> Response:
        limit = _int_arg(req, "limit", 100, 1, 500)
        after = _int_arg(req, "after", 0, 0, None)
        email = (req.arg("email") or "").lower()
        with store.lock:
            everyone = [o for o in store.owners.values() if not email or o.email.lower() == email]
        body: dict[str, t.Any] = {"results": [o.to_json() for o in everyone[after:after + limit]]}
        if after + limit < len(everyone):
            body["paging"] = paging_link(req.header("host"), req.path, after + limit)
        return Response.json(body)

    @router.route("GET", "/crm/v3/owners/{ownerId}")
    def owner(req: Request) -> Response:
        found = store.owners.get(req.path_params["ownerId"])
        if found is None:
            raise not_found(f"Owner {req.path_params['ownerId']} does not exist.")
        return Response.json(found.to_json())


def _links(object_type: str, raw: t.Any, where: str) -> list[str]:
    """The contact ids of a create's inline ``associations`` (400 naming the input when malformed)."""
    links = []
    for i, assoc in enumerate(raw or []):
        try:
            to_id = str(assoc["to"]["id"])
            types = assoc["types"]
            type_ids = {int(x["associationTypeId"]) for x in types}
            categories = {x["associationCategory"] for x in types}
        except (KeyError, TypeError, ValueError) as exc:
            raise validation_error(f"{where}[{i}] must be {{to:{{id}}, types:[{{associationCategory, associationTypeId}}]}}") from exc
        expected = _association_type(object_type, "contacts")
        if type_ids != {expected} or categories != {"HUBSPOT_DEFINED"}:
            raise validation_error(f"{where}[{i}]: {object_type} -> contacts uses HUBSPOT_DEFINED associationTypeId {expected}, got {sorted(type_ids)}")
        links.append(to_id)
    return links


def _assoc_inputs(body: t.Any) -> list[dict[str, t.Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise validation_error("body must be an object with an 'inputs' list")
    if len(body["inputs"]) > 1000:
        raise validation_error(f"Too many inputs: {len(body['inputs'])}. The maximum is 1000.")
    for i, item in enumerate(body["inputs"]):
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise validation_error(f"inputs[{i}].id is required")
    return body["inputs"]


def _int_arg(req: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise validation_error(f"query parameter {name} must be an integer, got {raw!r}") from exc
    if value < low or (high is not None and value > high):
        raise validation_error(f"query parameter {name} must be between {low} and {high if high is not None else 'infinity'}, got {value}")
    return value
