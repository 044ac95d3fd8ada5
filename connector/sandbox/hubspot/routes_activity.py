"""Activity: web analytics events (events API v3), marketing email events (v1), OAuth token refresh.

- https://developers.hubspot.com/docs/api/events/web-analytics -- ``GET /events/v3/events``;
  ``occurredAfter``/``occurredBefore`` are exclusive bounds; default sort is newest first
  (``sort=-occurredAt``), ``sort=occurredAt`` is oldest first; ``after`` is the cursor from ``paging``.
  Only for portals with an Enterprise hub (``tiers.py``); the event-types list answers on every tier.
  Whether a query needs a record: the current reference describes ``objectType`` as "the type of
  CRM object to filter event instances on (e.g., contact). To retrieve event data for a specific
  CRM record, include the additional objectId" and ``objectId`` as an optional filter
  (https://developers.hubspot.com/docs/reference/api/analytics-and-events/event-analytics, the
  SDK 12 docstring of ``events_api.get_page`` says the same), so a portal-wide query is served.
  The older guide said "This API returns events for one CRM record at a time"
  (https://developers.hubspot.com/docs/api/events/event-analytics) and the older v3 spec
  "objectId: If not present, then the objectProperty parameter is required": the portal option
  ``events_per_record_only`` answers that way (400; HubSpot's exact body for it is undocumented).
  ``objectProperty.email=`` selects a contact by e-mail, as both versions document.
- https://legacydocs.hubspot.com/docs/methods/email/get_events -- ``GET /email/public/v1/events``
  with ``startTimestamp``/``endTimestamp`` (inclusive, ms). "Events will be returned in
  reverse-chronological order"; ``limit`` defaults to 10, at most 1000 (the v1 reference,
  https://developers.hubspot.com/docs/api-reference/legacy/email-analytics-v1/events/get-email-public-v1-events:
  "If omitted, the default value of 10 is used. The maximum allowed value is 1000"). "The
  returned offset is an opaque token ... not meant to be used for anything other than subsequent
  requests on this endpoint with the same query parameters (excluding offset itself and limit)":
  the sandbox's token names its query and is refused (400) with any other query; what HubSpot
  does then is not documented, so a client must never rely on either.
- https://developers.hubspot.com/docs/api/oauth/tokens -- ``POST /oauth/v1/token``.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot.clock import parse_time_ms
from connector.sandbox.hubspot.errors import validation_error
from connector.sandbox.hubspot.portal import Portal, paging_link
from connector.sandbox.hubspot.store import EmailEvent, WebEvent

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


#: Web events of a query, filtered and ordered, by (source list, its length, slice, type, newest first).
_Windows = dict[tuple[int, int, int, int, str | None, bool], list[WebEvent]]


def _window(cache: _Windows, source: list[WebEvent], start: int, stop: int, event_type: str | None, newest_first: bool) -> list[WebEvent]:
    """``source[start:stop]`` of ``event_type``, newest first if asked; the last few kept (callers hold the store's lock).

    Why: each page of a walk asks for the same window with another ``after``; filtering the whole
    window again for every page made a portal-wide walk quadratic (a 1,000,000-contact portal's
    321,499 events: 86 ms per page of 100, against 15 ms at 200,000 contacts). Events are only ever
    added, and adding one changes the source list's length (its sort happens on the next read), so
    the length keys the cache.
    """
    key = (id(source), len(source), start, stop, event_type, newest_first)
    window = cache.get(key)
    if window is None:
        window = source[start:stop]
        if event_type:
            window = [e for e in window if e.event_type == event_type]
        if newest_first:
            window = window[::-1]
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = window
    return window


def register(router: Router, portal: Portal) -> None:
    """Add the activity and OAuth routes."""
    store = portal.store
    windows: _Windows = {}

    @router.route("GET", "/events/v3/events/event-types")
    def event_types(req: Request) -> Response:
        return Response.json({"eventTypes": list(EVENT_TYPES)})

    @router.route("GET", "/events/v3/events")
    def events(req: Request) -> Response:
        portal.tier.require_web_analytics()
        object_type = (req.arg("objectType") or "contact").lower()
        if object_type not in ("contact", "contacts", "0-1"):
            raise validation_error(f"objectType {object_type!r} is not supported by the sandbox (contact only)")
        object_id, event_type = req.arg("objectId"), req.arg("eventType")
        by_property = {k.split(".", 1)[1]: v[0] for k, v in req.query.items() if k.startswith("objectProperty.") and v}
        if set(by_property) - {"email"}:
            raise validation_error(f"objectProperty.{sorted(set(by_property) - {'email'})[0]} is not supported by the sandbox (email only)")
        if portal.events_per_record_only and not object_id and not by_property:
            raise validation_error("objectId is required: events are returned for one CRM record at a time "
                                   "(give objectType and objectId, or objectProperty.email)")
        if event_type and event_type not in EVENT_TYPES:
            raise validation_error(f"eventType {event_type!r} is not one of {list(EVENT_TYPES)}")
        lo, hi = _time_arg(req, "occurredAfter"), _time_arg(req, "occurredBefore")
        limit = _int(req, "limit", 100, 1, 1000)
        after = _int(req, "after", 0, 0, 10**12)
        sort = (req.args("sort") or ["-occurredAt"])[0]
        if sort not in ("occurredAt", "-occurredAt", "ASCENDING", "DESCENDING"):
            raise validation_error(f"sort must be occurredAt or -occurredAt, got {sort!r}")
        with store.lock:
            if "email" in by_property:
                object_id = store.contact_id_by_email(by_property["email"]) or "-"
            source: list[WebEvent]
            if object_id:
                source = store.web_events_of(object_id)
                keys = [e.occurred_ms for e in source]
            else:
                source, keys = store.sorted_web_events(), store.web_event_keys()
            start = bisect.bisect_right(keys, lo) if lo is not None else 0
            stop = bisect.bisect_left(keys, hi) if hi is not None else len(source)
            window = _window(windows, source, start, stop, event_type, sort in ("-occurredAt", "DESCENDING"))
            page = window[after:after + limit]
            body: dict[str, t.Any] = {"results": [e.to_json() for e in page]}
        if after + limit < len(window):
            body["paging"] = paging_link(req.header("host"), req.path, after + limit)
        return Response.json(body)

    @router.route("GET", "/email/public/v1/events")
    def email_events(req: Request) -> Response:
        lo, hi = _time_arg(req, "startTimestamp"), _time_arg(req, "endTimestamp")
        limit = _int(req, "limit", 10, 1, 1000)
        kind = (req.arg("eventType") or "").upper()
        recipient = (req.arg("recipient") or "").lower()
        query = _query_fingerprint(req)
        before = _read_offset(req.arg("offset"), query)
        with store.lock:
            source, keys = store.sorted_email_events(), store.email_event_keys()
            start = bisect.bisect_left(keys, lo) if lo is not None else 0
            stop = bisect.bisect_right(keys, hi) if hi is not None else len(source)
            window = [e for e in source[start:stop] if (not kind or e.type == kind) and (not recipient or e.recipient == recipient)
                      and (before is None or (e.created_ms, e.id) < before)]
            page = window[::-1][:limit]  # newest first
            body = {"events": [e.to_json(store.portal_id) for e in page], "hasMore": len(window) > limit,
                    "offset": _offset_token(query, page[-1]) if page else (req.arg("offset") or "")}
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


def _query_fingerprint(req: Request) -> str:
    """What an offset token is bound to: every parameter but ``offset`` and ``limit``."""
    params = sorted((k, v) for k, values in req.query.items() if k not in ("offset", "limit") for v in values)
    return hashlib.sha256(json.dumps(params).encode()).hexdigest()[:16]


def _offset_token(query: str, last: EmailEvent) -> str:
    """An opaque cursor: the query it belongs to and the oldest event already returned."""
    raw = json.dumps([query, last.created_ms, last.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_offset(token: str | None, query: str) -> tuple[int, str] | None:
    """The position an offset token names; 400 for a token of another query or no token at all."""
    if not token:
        return None
    try:
        bound, created, event_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = (int(created), str(event_id))
    except (ValueError, TypeError) as exc:
        raise validation_error(f"offset {token!r} is not an offset returned by this endpoint") from exc
    if bound != query:
        raise validation_error(f"offset {token!r} was returned for another query; an offset is valid only with the same "
                               "query parameters (all but offset and limit)")
    return position
