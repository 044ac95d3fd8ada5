"""``/_sandbox/*``: admin endpoints for tests in other processes (no auth, not logged, no faults).

Read the request log, add or change contacts and activity (including an anonymous visitor's page
views and its conversion into a contact), add forms, advance the clock, read state back, and
change the fault plan.
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.errors import not_found, validation_error
from connector.sandbox.hubspot.faults import ALL_KINDS, FaultPlan
from connector.sandbox.hubspot.properties import canonical_object_type
from connector.sandbox.hubspot.seed import contact_rows
from connector.sandbox.hubspot.visitors import add_visitor_events, convert_visitor

if t.TYPE_CHECKING:
    from connector.sandbox.hubspot.app import HubSpotApp

__all__ = ["register"]


def _obj(req: Request) -> dict[str, t.Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise validation_error("body must be a JSON object")
    return body


def register(router: Router, app: HubSpotApp) -> None:
    """Add the admin routes."""
    portal = app.portal
    store = portal.store

    @router.route("GET", "/_sandbox/requests")
    def requests_log(req: Request) -> Response:
        return Response.json({"requests": [r.to_json() for r in app.log.snapshot()]})

    @router.route("DELETE", "/_sandbox/requests")
    def requests_clear(req: Request) -> Response:
        app.log.clear()
        return Response.empty(204)

    @router.route("POST", "/_sandbox/contacts")
    def add_contacts(req: Request) -> Response:
        body = _obj(req)
        rows = body.get("contacts")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise validation_error("'contacts' must be a list of property objects")
        return Response.json({"ids": store.add_contacts(rows, modified_at_ms=body.get("modifiedAtMs"))}, 201)

    @router.route("POST", "/_sandbox/contacts/bulk")
    def bulk(req: Request) -> Response:
        body = _obj(req)
        count = int(body.get("count") or 0)
        if count < 1 or count > 1_000_000:
            raise validation_error("count must be between 1 and 1,000,000")
        rows = contact_rows(count, int(body.get("seed", 7)), list(store.owners), start=store.count("contacts") + 1_000_000)
        ids = store.add_contacts(rows, modified_at_ms=body.get("modifiedAtMs"))
        return Response.json({"count": len(ids), "firstId": ids[0], "lastId": ids[-1]}, 201)

    @router.route("PATCH", "/_sandbox/contacts/{contactId}")
    def patch_contact(req: Request) -> Response:
        props = _obj(req).get("properties")
        if not isinstance(props, dict):
            raise validation_error("'properties' must be an object")
        record = store.update_contact(req.path_params["contactId"], props)
        return Response.json(record.to_json(None))

    @router.route("GET", "/_sandbox/objects/{objectType}/{objectId}")
    def get_object(req: Request) -> Response:
        record = store.get(canonical_object_type(req.path_params["objectType"]), req.path_params["objectId"])
        if record is None:
            raise not_found(f"no {req.path_params['objectType']} {req.path_params['objectId']}")
        return Response.json(record.to_json(None))

    @router.route("GET", "/_sandbox/state")
    def state(req: Request) -> Response:
        summary = store.summary()
        summary["lists"] = len(portal.lists.all())
        summary["faults"] = app.faults.summary()
        return Response.json(summary)

    @router.route("POST", "/_sandbox/events")
    def events(req: Request) -> Response:
        rows = _obj(req).get("events")
        if not isinstance(rows, list):
            raise validation_error("'events' must be a list")
        return Response.json({"ids": store.add_events(rows)}, 201)

    @router.route("POST", "/_sandbox/email-events")
    def email_events(req: Request) -> Response:
        rows = _obj(req).get("events")
        if not isinstance(rows, list):
            raise validation_error("'events' must be a list")
        return Response.json({"ids": store.add_email_events(rows)}, 201)

    @router.route("POST", "/_sandbox/engagements/{objectType}")
    def engagement(req: Request) -> Response:
        body = _obj(req)
        object_type = canonical_object_type(req.path_params["objectType"])
        engagement_id = store.add_engagement(object_type, body.get("properties") or {}, [str(i) for i in body.get("contactIds") or []])
        return Response.json({"id": engagement_id}, 201)

    @router.route("POST", "/_sandbox/visitors/{utk}/events")
    def visitor_events(req: Request) -> Response:
        rows = _obj(req).get("events")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise validation_error("'events' must be a list of {eventType, occurredAt, properties}")
        return Response.json({"ids": add_visitor_events(store, req.path_params["utk"], rows)}, 201)

    @router.route("POST", "/_sandbox/visitors/{utk}/convert")
    def visitor_converts(req: Request) -> Response:
        body = _obj(req)
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise validation_error("'properties' must be an object")
        done = convert_visitor(store, req.path_params["utk"], email=str(body.get("email") or ""), properties=props,
                               form_id=body.get("formId"), page_url=body.get("pageUrl"))
        return Response.json({"contactId": done.contact_id, "created": done.created, "associatedEvents": done.associated_events,
                              "formEventId": done.form_event_id}, 201 if done.created else 200)

    @router.route("POST", "/_sandbox/forms")
    def add_form(req: Request) -> Response:
        body = _obj(req)
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise validation_error("'name' (the form's human name) is required")
        form = store.forms.add(body["name"], portal.clock.now_ms(), form_id=body.get("id"))
        return Response.json(form.to_json(), 201)

    @router.route("GET", "/_sandbox/clock")
    def clock(req: Request) -> Response:
        now = portal.clock.now_ms()
        return Response.json({"nowMs": now, "iso": iso_ms(now)})

    @router.route("POST", "/_sandbox/clock/advance")
    def advance(req: Request) -> Response:
        body = _obj(req)
        try:
            now = portal.clock.advance(days=float(body.get("days", 0)), hours=float(body.get("hours", 0)),
                                       seconds=float(body.get("seconds", 0)), ms=int(body.get("ms", 0)))
        except (TypeError, ValueError) as exc:
            raise validation_error(f"cannot advance the clock: {exc}") from exc
        return Response.json({"nowMs": now, "iso": iso_ms(now)})

    @router.route("POST", "/_sandbox/faults")
    def faults(req: Request) -> Response:
        body = _obj(req)
        try:
            plan = FaultPlan(rate=float(body.get("rate", 0)), seed=int(body.get("seed", 0)),
                             kinds=tuple(str(k) for k in body.get("kinds") or ALL_KINDS), writes=str(body.get("writes", "skip")),
                             slow_seconds=float(body.get("slowSeconds", 1.0)))
        except (TypeError, ValueError) as exc:
            raise validation_error(str(exc)) from exc
        app.configure_faults(plan)
        return Response.json(app.faults.summary())
