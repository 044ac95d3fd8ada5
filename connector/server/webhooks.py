"""``POST /webhooks/{crm}``: a CRM's signed change notifications, stored before they are acknowledged.

Thin: the CRM's adapter verifies the signature and reads the payload (its
:class:`~connector.adapters.base.WebhookReceiver`, e.g. HubSpot's v3 signature); the events go to
the state database (:class:`~connector.sync.events.EventQueue`), unreadable ones to the
quarantine; the CRM's worker is woken. The answer comes as soon as the events are committed:
HubSpot waits a few seconds at most before it retries (and a retry is recognised by event id).
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import logging
import typing as t

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.adapters.base import ChangeEvent, Reject, WebhookError, WebhookReceiver
from connector.scoring.records import utc
from connector.server.body import Refused, read_body, refusal
from connector.sync.events import NewEvent

if t.TYPE_CHECKING:
    from connector.server.state import ServerState

__all__ = ["CRMWebhooks", "router"]

log = logging.getLogger(__name__)

router = APIRouter()


@dc.dataclass(frozen=True)
class CRMWebhooks:
    """One CRM's webhook reader and signing secret (``None``: the variable is not set)."""

    receiver: WebhookReceiver
    secret: str | None
    #: The variable the secret is read from (named in the 503 answer when it is missing).
    variable: str

    def __repr__(self) -> str:  # never the secret
        return f"CRMWebhooks(variable={self.variable!r}, secret={'set' if self.secret else 'missing'})"


def _uri(request: Request, public_base_url: str | None) -> str:
    """The URI the sender called: the configured public base URL (behind a proxy) or the request's own."""
    if public_base_url:
        query = request.url.query
        return public_base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")
    return str(request.url)


def _new_event(e: ChangeEvent) -> NewEvent:
    detail: dict[str, t.Any] = {}
    if e.merged_ids:
        detail["merged_ids"] = list(e.merged_ids)
    if e.field:
        detail["field"] = e.field
    if e.activity:
        detail["activity"] = True
    return NewEvent(key=e.event_id, kind=e.kind, contact_id=e.contact_id, occurred_at=e.occurred_at, detail=detail)


@router.post("/webhooks/{crm}")
async def receive(crm: str, request: Request) -> JSONResponse:
    """Verify, store, acknowledge."""
    state: ServerState = request.app.state.connector
    metrics = state.metrics
    try:
        hooks = state.webhooks.get(crm)
        if hooks is None:
            raise Refused(404, "unknown_crm", "no CRM with webhooks is configured under this name")
        if hooks.secret is None:
            raise Refused(503, "no_secret", f"webhooks of this CRM cannot be verified: set {hooks.variable}")
        body = await read_body(request, state.config.serve.max_body_bytes)
        now = utc(state.clock())
        try:
            hooks.receiver.verify(hooks.secret, request.method, _uri(request, state.config.serve.public_base_url), body, request.headers, now)
            events, rejects = hooks.receiver.parse(body)
        except WebhookError as exc:
            status = 400 if exc.reason in ("malformed_json", "wrong_shape", "too_many_events") else 401
            raise Refused(413 if exc.reason == "too_many_events" else status, exc.reason, str(exc)) from None
    except Refused as exc:
        metrics.reject("webhooks", exc.reason)
        log.info("webhook for %r refused: %s", crm[:64], exc.reason)
        return refusal(exc)
    stored, duplicates = await run_in_threadpool(_store, state, crm, events, rejects, now)
    metrics.accepted.labels(crm, "webhook").inc(stored)
    metrics.duplicates.labels(crm, "webhook").inc(duplicates)
    if rejects:
        metrics.reject("webhooks", "bad_event", len(rejects))
    state.wake(crm)
    return JSONResponse({"accepted": stored, "duplicates": duplicates, "rejected": len(rejects)})


def _store(state: ServerState, crm: str, events: list[ChangeEvent], rejects: list[Reject], now: dt.datetime) -> tuple[int, int]:
    stored = state.queue(crm).accept("webhook", [_new_event(e) for e in events], now)
    store = state.store(crm)
    for reject in rejects:
        store.add_quarantine(reject.stream, reject.record_id, reject.reason, reject.raw, now, None)
    return stored
