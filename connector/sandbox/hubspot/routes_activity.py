"""Activity: web analytics events (events API v3), marketing email events (v1), OAuth token refresh.

- https://developers.hubspot.com/docs/api/events/web-analytics -- ``GET /events/v3/events``;
  ``occurredAfter``/``occurredBefore`` are exclusive bounds; default sort is newest first
  (``sort=-occurredAt``), ``sort=occurredAt`` is oldest first; ``after`` is the cursor from ``paging``.
- https://legacydocs.hubspot.com/docs/methods/email/get_events -- ``GET /email/public/v1/events``
  with ``startTimestamp``/``endTimestamp`` (inclusive, ms), ``offset``/``hasMore`` paging.
- https://developers.hubspot.com/docs/api/oauth/tokens -- ``POST /oauth/v1/token``.
"""

from __future__ import annotations

import bisect
import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.clock import parse_time_ms
from connector.sandbox.hubspot.errors import validation_error
from connector.sandbox.hubspot.portal import Portal, paging_link

__all__ = ["EVENT_TYPES", "register"]

EVENT_TYPES = ("e_visited_page", "e_submitted_form", "e_form_submission_v2", "e_ad_interaction")


def _time_arg(req: Request, name: str) -> int | None:
    raw = req.arg(name)
    if raw in (None, ""):
        return None
    try:
        return parse_time_ms(raw)
    except ValueError as exc:
        raise validation_error(f"query parameter {name}: {exc}") from exc


def _int(req: Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise validation_error(f"query parameter {name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise validation_error(f"query parameter {name} must be between {low} and {high}, got {value}")
    return value


def register(router: Router, portal: Portal) -> None:
    """Add the activity and OAuth routes."""
    store = portal.store

    @router.route("GET", "/events/v3/events/event-types")
    def event_types(req: Request) -> Response:
        return Response.json({"eventTypes": list(EVENT_TYPES)})

    @router.route("GET", "/events/v3/events")
    def events(req: Request) -> Response:
        object_type = (req.arg("objectType") or "contact").lower()
        if object_type not in ("contact", "contacts", "0-1"):
            raise validation_error(f"objectType {object_type!r} is not supported by the sandbox (contact only)")
        object_id, event_type = req.arg("objectId"), req.arg("eventType")
        if event_type and event_type not in EVENT_TYPES:
            raise validation_error(f"eventType {event_type!r} is not one of {list(EVENT_TYPES)}")
        lo, hi = _time_arg(req, "occurredAfter"), _time_arg(req, "occurredBefore")
        limit = _int(req, "limit", 100, 1, 1000)
        after = _int(req, "after", 0, 0, 10**12)
        sort = (req.args("sort") or ["-occurredAt"])[0]
        if sort not in ("occurredAt", "-occurredAt", "ASCENDING", "DESCENDING"):
            raise validation_error(f"sort must be occurredAt or -occurredAt, got {sort!r}")
        with store.lock:
            if object_id:
                source = store.web_events_of(object_id)
                keys = [e.occurred_ms for e in source]
            else:
                source, keys = store.sorted_web_events(), store.web_event_keys()
            start = bisect.bisect_right(keys, lo) if lo is not None else 0
            stop = bisect.bisect_left(keys, hi) if hi is not None else len(source)
            window = source[start:stop]
            if event_type:
                window = [e for e in window if e.event_type == event_type]
            if sort in ("-occurredAt", "DESCENDING"):
                window = window[::-1]
            page = window[after:after + limit]
            body: dict[str, t.Any] = {"results": [e.to_json() for e in page]}
        if after + limit < len(window):
            body["paging"] = paging_link(req.header("host"), req.path, after + limit)
        return Response.json(body)

    @router.route("GET", "/email/public/v1/events")
    def email_events(req: Request) -> Response:
        lo, hi = _time_arg(req, "startTimestamp"), _time_arg(req, "endTimestamp")
        limit = _int(req, "limit", 100, 1, 1000)
        offset = _int(req, "offset", 0, 0, 10**12)
        kind = (req.arg("eventType") or "").upper()
        recipient = (req.arg("recipient") or "").lower()
        with store.lock:
            source, keys = store.sorted_email_events(), store.email_event_keys()
            start = bisect.bisect_left(keys, lo) if lo is not None else 0
            stop = bisect.bisect_right(keys, hi) if hi is not None else len(source)
            window = [e for e in source[start:stop] if (not kind or e.type == kind) and (not recipient or e.recipient == recipient)]
            page = window[offset:offset + limit]
            body = {"events": [e.to_json(store.portal_id) for e in page], "hasMore": offset + limit < len(window), "offset": str(offset + len(page))}
        return Response.json(body)

    @router.route("POST", "/oauth/v1/token")
    def token(req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "refresh_token":
            return Response.json({"status": "BAD_GRANT_TYPE", "message": "the sandbox supports grant_type=refresh_token only",
                                  "correlationId": "sandbox"}, 400)
        creds = portal.oauth
        if form.get("client_id") != creds.client_id or form.get("client_secret") != creds.client_secret:
            return Response.json({"status": "BAD_CLIENT_ID", "message": "missing or unknown client id or secret", "correlationId": "sandbox"}, 400)
        if form.get("refresh_token") != creds.refresh_token:
            return Response.json({"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token", "correlationId": "sandbox"}, 400)
        access, expires_in = portal.issue_access_token()
        return Response.json({"access_token": access, "refresh_token": creds.refresh_token, "expires_in": expires_in, "token_type": "bearer"})
