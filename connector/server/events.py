"""``POST /events``: first-party activity (page views, downloads, form fills, custom events) and identify calls.

Authenticated by an API key (``Authorization: Bearer ck_...`` or ``X-API-Key``), which belongs to
one CRM; each key has its own rate limit (requests per minute). The body is one event or
``{"events": [...]}``; every field is checked (types, lengths, unknown fields refused) before
anything is stored, and the whole request is refused with the first problem named
(``events[3].occurred_at: ...``). Accepted activity is stored at once as the CRM's activity
(so it counts in scores exactly like CRM activity, also for the scheduled sync) and queued for the
worker, which rescores its contact within seconds. Activity known only by an anonymous id counts
once that id is linked to a contact: by an ``identify`` event, or by an event carrying both the
anonymous id and the contact's e-mail address.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import typing as t

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.concurrency import run_in_threadpool

from connector.scoring.identity import email_id
from connector.scoring.records import Activity, utc
from connector.server.body import Refused, read_body, refusal
from connector.sync.apikeys import ApiKey, authenticate
from connector.sync.events import NewEvent

if t.TYPE_CHECKING:
    from connector.server.state import ServerState

__all__ = ["EventIn", "KeyLimiter", "router"]

router = APIRouter()

_TYPE = r"^[a-z][a-z0-9_]{0,63}$"
Scalar = str | int | float | bool | None


class EventIn(BaseModel):
    """One event as a website or product sends it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    #: The sender's id of the event: sending it again is harmless (stored once).
    id: str = Field(min_length=1, max_length=200)
    #: ``page_view``, ``download``, ``form_fill``, any custom name the models score, or ``identify``.
    type: str = Field(pattern=_TYPE)
    occurred_at: dt.datetime
    contact_id: str | None = Field(default=None, min_length=1, max_length=128)
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=400)
    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    attributes: dict[str, Scalar] = Field(default_factory=dict, max_length=50)

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _time(cls, value: t.Any) -> t.Any:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError("an ISO 8601 date-time with a zone (2026-05-01T10:00:00Z)")
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("an ISO 8601 date-time with a zone (2026-05-01T10:00:00Z)") from None
        if parsed.tzinfo is None:
            raise ValueError("the date-time needs a zone (Z or +hh:mm)")
        return parsed

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        for key, item in value.items():
            if not 0 < len(key) <= 64:
                raise ValueError("attribute names are 1 to 64 characters")
            if isinstance(item, str) and len(item) > 1000:
                raise ValueError(f"attribute {key[:64]!r} is longer than 1000 characters")
        return value

    @model_validator(mode="after")
    def _someone(self) -> EventIn:
        if self.contact_id is None and self.anonymous_id is None and self.email is None:
            raise ValueError("an event names someone: contact_id, anonymous_id or email")
        if self.type == "identify" and self.anonymous_id is None:
            raise ValueError("identify links an anonymous_id to a contact_id or email")
        if self.type == "identify" and self.contact_id is None and self.email is None:
            raise ValueError("identify links an anonymous_id to a contact_id or email")
        return self


class KeyLimiter:
    """Requests per minute per key, a token bucket each, in this process."""

    def __init__(self, clock: t.Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def allow(self, key: ApiKey) -> float:
        """0 when the request may go; else the seconds to wait."""
        rate = key.rate_per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key.id, (float(key.rate_per_minute), now))
            tokens = min(float(key.rate_per_minute), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key.id] = (tokens, now)
                return (1 - tokens) / rate
            self._buckets[key.id] = (tokens - 1, now)
            return 0.0


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def _parse(body: bytes, max_events: int) -> list[EventIn]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Refused(400, "malformed_json", f"the body is not JSON: {str(exc)[:200]}") from None
    if isinstance(data, dict) and set(data) == {"events"}:
        items, where = data["events"], "events"
        if not isinstance(items, list):
            raise Refused(422, "wrong_shape", "'events' must be a list of events")
    elif isinstance(data, dict):
        items, where = [data], ""
    else:
        raise Refused(422, "wrong_shape", "the body is one event (an object) or {\"events\": [...]}")
    if not items:
        raise Refused(422, "wrong_shape", "no events")
    if len(items) > max_events:
        raise Refused(413, "too_many_events", f"{len(items)} events in one request; at most {max_events}")
    events: list[EventIn] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Refused(422, "wrong_shape", f"{where}[{i}]: an event is an object")
        try:
            events.append(EventIn.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            prefix = f"{where}[{i}]." if where else ""
            raise Refused(422, "invalid_event", f"{prefix}{field}: {first['msg']}"[:500]) from None
    return events


@router.post("/events")
async def receive(request: Request) -> JSONResponse:
    """Authenticate, check, store, acknowledge (202)."""
    state: ServerState = request.app.state.connector
    try:
        presented = _presented_key(request)
        if not presented:
            raise Refused(401, "missing_key", "send the API key as 'Authorization: Bearer <key>' or 'X-API-Key'")
        now = utc(state.clock())
        key = await run_in_threadpool(authenticate, state.engine, presented, now)
        if key is None:
            raise Refused(401, "unknown_key", "unknown or revoked API key")
        if key.crm not in state.workers_by_crm:
            raise Refused(403, "unknown_crm", "this key's CRM is not configured on this server")
        wait = state.key_limiter.allow(key)
        if wait > 0:
            raise Refused(429, "rate_limited", "too many requests for this key", {"Retry-After": str(max(1, round(wait)))})
        body = await read_body(request, state.config.serve.max_body_bytes)
        events = _parse(body, state.config.serve.max_events_per_request)
    except Refused as exc:
        state.metrics.reject("events", exc.reason)
        return refusal(exc)
    stored, duplicates = await run_in_threadpool(_store, state, key, events, now)
    state.metrics.accepted.labels(key.crm, "api").inc(stored)
    state.metrics.duplicates.labels(key.crm, "api").inc(duplicates)
    state.wake(key.crm)
    return JSONResponse({"accepted": stored, "duplicates": duplicates}, status_code=202)


def _store(state: ServerState, key: ApiKey, events: list[EventIn], now: dt.datetime) -> tuple[int, int]:
    """Activity into the CRM's activity table, then one queued event each (ids scoped by key)."""
    activities: list[Activity] = []
    queued: list[NewEvent] = []
    for e in events:
        ident = f"api:{key.id}:{e.id}"
        detail = {k: v for k, v in (("anonymous_id", e.anonymous_id), ("email", e.email.strip().lower() if e.email else None)) if v is not None}
        if e.type == "identify" or (e.anonymous_id and (e.email or e.contact_id)):
            queued.append(NewEvent(f"{ident}:identify", "identify", e.contact_id, utc(e.occurred_at), detail))
        if e.type != "identify":
            anon = e.anonymous_id or (email_id(e.email) if e.email else None)
            activities.append(Activity(id=ident, type=e.type, occurred_at=utc(e.occurred_at), contact_id=e.contact_id, attributes=dict(e.attributes), anonymous_id=anon))
            queued.append(NewEvent(ident, "activity", e.contact_id, utc(e.occurred_at), detail))
    state.store(key.crm).save_activities(activities, now)
    return state.queue(key.crm).accept("api", queued, now)
