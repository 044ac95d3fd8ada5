"""Anonymous visitors: page views before a contact exists, and the conversion that claims them.

HubSpot "tracks visitors anonymously even before they become contacts. If and when a visitor
fills out a form, HubSpot will associate their previous page views based on the tracking cookie.
If the email address filled in the form is associated with an existing contact, this visitor
will be identified as the contact" (https://knowledge.hubspot.com/account/how-does-hubspot-track-visitors).
So a contact created today can own page views from last month: a connector that reads web events
only by when they occurred never sees them; the per-contact query does
(``GET /events/v3/events?objectType=contact&objectId=...``, with their original ``occurredAt``).

Before conversion the events belong to no contact, so no events query returns them. The
conversion creates the contact (or identifies the existing one with that e-mail, or the one the
cookie already belongs to: "if two people share a single computer, their submissions will be
associated with the same contact record"), moves the events onto it, records the form
submission when a form is named, and sets the contact's calculated ``hs_analytics_num_page_views``,
so the contact's ``lastmodifieddate`` is the conversion time.
"""

from __future__ import annotations

import dataclasses
import typing as t

from connector.sandbox.hubspot.errors import validation_error

if t.TYPE_CHECKING:
    from connector.sandbox.hubspot.store import Store

__all__ = ["Conversion", "add_visitor_events", "convert_visitor"]

PAGE_VIEW = "e_visited_page"
FORM_SUBMISSION = "e_submitted_form"


@dataclasses.dataclass(frozen=True)
class Conversion:
    """What a conversion did."""

    contact_id: str
    created: bool
    associated_events: int
    form_event_id: str | None


def _utk(utk: str) -> str:
    text = str(utk or "").strip()
    if not text:
        raise validation_error("a visitor needs its tracking cookie value (utk)")
    return text


def add_visitor_events(store: Store, utk: str, rows: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
    """Web events of one browser: anonymous until it converts, then straight onto its contact."""
    utk = _utk(utk)
    with store.lock:
        contact_id = store.identified_visitors.get(utk, "")
        events = [store.web_event(row, contact_id) for row in rows]
        if contact_id:
            store.attach_web_events(events)
        else:
            store.anonymous_events.setdefault(utk, []).extend(events)
    return [e.id for e in events]


def convert_visitor(store: Store, utk: str, *, email: str, properties: t.Mapping[str, t.Any] | None = None,
                    form_id: str | None = None, page_url: str | None = None) -> Conversion:
    """The visitor fills out a form with ``email``: create or identify its contact (see the module doc)."""
    utk = _utk(utk)
    if not str(email or "").strip():
        raise validation_error("a conversion needs the e-mail address the visitor submitted")
    with store.lock:
        if form_id:
            store.forms.require(form_id)
        now = store.clock.now_ms()
        earlier = store.anonymous_events.pop(utk, [])
        existing = store.identified_visitors.get(utk) or store.contact_id_by_email(email)
        values = dict(properties or {})
        if existing is None:
            views = sum(e.event_type == PAGE_VIEW for e in earlier)
            record = store.create("contacts", {**values, "email": email, "hs_analytics_num_page_views": views}, admin=True)
            contact_id = record.id
        else:
            contact_id = existing
            views = sum(e.event_type == PAGE_VIEW for e in store.web_events_of(contact_id) + earlier)
            store.update("contacts", contact_id, {**values, "hs_analytics_num_page_views": views}, admin=True)
        for event in earlier:
            event.object_id = contact_id
        store.attach_web_events(earlier)
        form_event = None
        if form_id:
            form_event = store.web_event({"eventType": FORM_SUBMISSION, "occurredAt": now,
                                          "properties": {"hs_form_id": form_id, "hs_url": page_url or ""}}, contact_id)
            store.attach_web_events([form_event])
        store.identified_visitors[utk] = contact_id
        return Conversion(contact_id, existing is None, len(earlier), form_event.id if form_event else None)
