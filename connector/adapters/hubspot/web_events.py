"""Web analytics events (``GET /events/v3/events``): the window, earlier visits, and portals without them.

Three things real portals do that a plain "events that occurred since the last run" walk misses
(docs/hubspot.md, "How real portals behave"):

1. **A visitor's page views before it became a contact.** "If and when a visitor fills out a form,
   HubSpot will associate their previous page views based on the tracking cookie"
   (https://knowledge.hubspot.com/account/how-does-hubspot-track-visitors): after a conversion the
   contact owns page views dated weeks back, which a window on ``occurredAt`` already passed. So
   the contacts *created* in the window (a search on ``createdate``) and the contacts that
   *submitted a form* in it (seen in the window's own events: the submission is how a known contact
   is identified) get their earlier events read once per pull, with the per-contact query
   (``objectType=contact&objectId=<id>&occurredBefore=<since>``, every type, filtered here). Cost:
   one search per pull plus one GET per such contact (more for a contact with more than
   ``page_size`` earlier events).
2. **Portals without an Enterprise hub.** "Requires ... Marketing Hub Enterprise, Sales Hub
   Enterprise, ..." (https://developers.hubspot.com/docs/guides/api/analytics-and-events/event-analytics);
   such a portal answers the events query ``403 MISSING_SCOPES`` while every other call works. The
   stream is then skipped for the pull with one notice saying what that means for scores; e-mail
   events and engagements go on.
3. **Portals that serve one record at a time.** The current reference makes ``objectId`` an
   optional filter (same page: "To retrieve event data for a specific CRM record, include the
   additional objectId"), the older guide says "This API returns events for one CRM record at a
   time" (https://developers.hubspot.com/docs/api/events/event-analytics). A ``400`` on the
   portal-wide query (one that names no record) switches the pull to per-contact queries for the
   contacts modified in the window (the search on ``lastmodifieddate``: a page view moves a
   contact's analytics properties, so a contact with new events is among them). Cost: one GET per
   changed contact per pull (10,000 changed contacts: at least 526 s of a 190/10 s budget), plus
   one more for each of them created or identified in the window.

Ids are ``hs-event:<id>``, the same whichever query found the event, so the store keeps one copy.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import re
import typing as t

from connector.adapters.base import CRMError, Reject
from connector.adapters.hubspot.client import call_json
from connector.adapters.hubspot.mapping import ConversionError, HubSpotMapping, parse_hubspot_time
from connector.adapters.hubspot.search import keyset_search, record_millis
from connector.scoring.records import Activity

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient
    from connector.adapters.hubspot.forms import FormNames

__all__ = ["FORM_EVENT_TYPES", "WebEventPull", "events_unavailable", "stable"]

PATH = "/events/v3/events"
#: Event types that record a form submission: the moment a visitor is created or identified.
FORM_EVENT_TYPES = frozenset({"e_submitted_form", "e_form_submission_v2"})
Batch = tuple[list[Activity], list[Reject]]


def events_unavailable(exc: CRMError) -> str | None:
    """The notice for a portal that does not offer web analytics events (a 403), else ``None``."""
    if exc.status != 403:
        return None
    return (
        "HubSpot web analytics events are not available to this portal (403 on GET /events/v3/events: the events "
        "API needs an Enterprise hub, or the app lacks the 'business-intelligence' scope). Page views and form "
        "submissions are not pulled, so rules on them score nothing; e-mail events and engagements still are. "
        f"Set activities.web_events.enabled: false to stop trying. HubSpot said: {stable(exc)}"
    )


def stable(exc: CRMError) -> str:
    """The error's text without its correlation id, so the same refusal reads the same every run."""
    return re.sub(r", correlationId [^\]]*", "", str(exc))


def _refused_portal_wide(exc: CRMError) -> bool:
    """A portal that serves events one record at a time answers 400 to a query naming none (text undocumented)."""
    return exc.status == 400


@dc.dataclass
class WebEventPull:
    """The web events of one pull ``(since_ms, until_ms]``; ``notice`` is set when the portal has none."""

    client: HubSpotClient
    mapping: HubSpotMapping
    since_ms: int | None
    until_ms: int
    #: Why the stream was skipped (set by :meth:`batches` on a 403).
    notice: str | None = None
    #: Whether the portal refused the portal-wide query and contacts were read one by one.
    per_record: bool = False
    #: Contacts whose earlier events were read in this pull.
    history_read: set[str] = dc.field(default_factory=set)
    #: Form GUID -> name (``None``: submissions keep only their GUID).
    forms: FormNames | None = None

    def batches(self) -> t.Iterator[Batch]:
        """Every batch of events: the window portal-wide (or per changed contact), then earlier visits."""
        spec = self.mapping.activities.web_events
        submitted: set[str] = set()
        try:
            for event_type in spec.types:
                for records, rejects in self._walk({"event_type": event_type}, windowed=True):
                    submitted.update(a.contact_id for a in records if a.contact_id and event_type in FORM_EVENT_TYPES)
                    yield records, rejects
        except CRMError as exc:
            self.notice = events_unavailable(exc)
            if self.notice is not None:
                return
            if not _refused_portal_wide(exc):
                raise
            self.per_record = True
        if self.per_record:
            yield from self._per_contact()
            return
        if self.since_ms is not None:
            yield from self._history(sorted(self._created() | submitted, key=_numeric))

    def _created(self) -> set[str]:
        """Contacts created in the window (they may own page views made before, as a visitor)."""
        walk = keyset_search(self.client, self.client.contacts_search, "contacts", "createdate", [], self.since_ms, self.until_ms)
        return {str(r.id) for page in walk for r in page.records}

    def _history(self, contact_ids: t.Iterable[str]) -> t.Iterator[Batch]:
        """Each contact's events up to ``since`` (the window itself came portal-wide), once per contact."""
        for cid in contact_ids:
            if cid in self.history_read or not cid.isdecimal():
                continue
            self.history_read.add(cid)
            yield from self._walk({"object_id": int(cid), "before_ms": self.since_ms}, windowed=False)

    def _per_contact(self) -> t.Iterator[Batch]:
        """The fallback: the window's events of each contact modified in it, and earlier visits where it converted."""
        walk = keyset_search(self.client, self.client.contacts_search, "contacts", "lastmodifieddate", ["createdate"], self.since_ms, self.until_ms)
        for page in walk:
            converted: list[str] = []
            for record in page.records:
                cid = str(record.id)
                if not cid.isdecimal():
                    continue
                created = record_millis(record, "createdate")
                if self.since_ms is None or (created is not None and created > self.since_ms):
                    self.history_read.add(cid)  # new: everything it has, one walk without a lower bound
                    yield from self._walk({"object_id": int(cid), "before_ms": self.until_ms}, windowed=False)
                    continue
                submitted = False
                for records, rejects in self._walk({"object_id": int(cid), "after_ms": self.since_ms}, windowed=True):
                    submitted |= any(a.attributes.get("hubspot_event_type") in FORM_EVENT_TYPES for a in records)
                    yield records, rejects
                if submitted:
                    converted.append(cid)
            yield from self._history(converted)

    def _walk(self, query: dict[str, t.Any], *, windowed: bool) -> t.Iterator[Batch]:
        """Page through one events query, translated; ``windowed``: keep only events in ``(since, until]``.

        ``query``: ``event_type`` (portal-wide, one type), or ``object_id`` with ``after_ms`` /
        ``before_ms`` (one contact, every type; the unmapped ones are dropped here).
        """
        spec = self.mapping.activities.web_events
        kwargs: dict[str, t.Any] = {"object_type": "contact", "limit": spec.page_size}
        if "event_type" in query:
            kwargs["event_type"] = query["event_type"]
        if "object_id" in query:
            kwargs["object_id"] = query["object_id"]
        before = query.get("before_ms", self.until_ms)
        kwargs["occurred_before"] = _at(before + 1)  # exclusive bound
        after_ms = query.get("after_ms", self.since_ms if "event_type" in query else None)
        if after_ms is not None:
            kwargs["occurred_after"] = _at(after_ms)
        after: str | None = None
        while True:
            if after:
                kwargs["after"] = after
            # Read as plain JSON: the SDK's models would parse every occurredAt with dateutil (most
            # of the CPU of a large activity pull); the fields used are checked per event.
            body = json_body(self.client, kwargs)
            records: list[Activity] = []
            rejects: list[Reject] = []
            for event in body["results"]:
                item = self._activity(event, query.get("event_type"))
                if isinstance(item, Reject):
                    rejects.append(item)
                elif item is not None and (not windowed or _in_window(item.occurred_at, self.since_ms, self.until_ms)):
                    records.append(item)
            yield records, rejects
            paging = body.get("paging")
            nxt = paging.get("next") if isinstance(paging, dict) else None
            after = str(nxt["after"]) if isinstance(nxt, dict) and nxt.get("after") not in (None, "") else None
            if not after:
                return

    def _activity(self, event: t.Any, asked_type: str | None) -> Activity | Reject | None:
        """One event as an ``Activity`` (``None``: a type the mapping does not read)."""
        spec = self.mapping.activities.web_events
        if not isinstance(event, dict):
            return Reject("activities", None, "web event that is not a JSON object", {"event": _jsonable(event)})
        event_type = str(event.get("eventType") or asked_type or "")
        if event_type not in spec.types:
            return None
        event_id, props = event.get("id"), event.get("properties")
        if event.get("occurredAt") in (None, "") or event_id in (None, ""):
            return Reject("activities", f"hs-event:{event_id}", "web event without id or occurredAt", _jsonable(event))
        try:
            occurred = parse_hubspot_time(event["occurredAt"])
        except ConversionError as exc:
            return Reject("activities", f"hs-event:{event_id}", f"web event 'occurredAt': {exc}", _jsonable(event))
        if props is not None and not isinstance(props, dict):
            return Reject("activities", f"hs-event:{event_id}", "web event 'properties' is not an object", _jsonable(event))
        attributes: dict[str, t.Any] = {str(spec.attributes.get(k, k)): v for k, v in (props or {}).items()}
        attributes["hubspot_event_type"] = event_type
        form_id = (props or {}).get("hs_form_id")
        if form_id and self.forms is not None:
            name = self.forms.name_of(str(form_id))
            if name is not None:  # models match the mapping's value for the name, or the name itself
                attributes["form_name"] = name
                attributes["form"] = spec.forms.get(name, name)
        object_id = event.get("objectId")
        return Activity(
            id=f"hs-event:{event_id}",
            type=spec.types[event_type],
            occurred_at=occurred,
            contact_id=str(object_id) if object_id else None,
            anonymous_id=None if object_id else f"hs-event-visitor:{event_id}",
            attributes=attributes,
        )


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _numeric(cid: str) -> tuple[int, str]:
    return (int(cid), cid) if cid.isdecimal() else (0, cid)


def _in_window(occurred: dt.datetime, since_ms: int | None, until_ms: int) -> bool:
    ms = int(occurred.timestamp() * 1000)
    return (since_ms is None or ms > since_ms) and ms <= until_ms


def json_body(client: HubSpotClient, kwargs: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """One events query as a JSON object with a ``results`` list.

    Raises:
        CRMError: anything else (the page cannot be read; the run fails with this message).
    """
    body = call_json(client, "GET", PATH, client.events.get_page, **kwargs)
    if not isinstance(body.get("results"), list):
        raise CRMError(f"HubSpot answered GET {PATH} without a 'results' list: {str(body)[:200]}")
    return body


def _jsonable(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
