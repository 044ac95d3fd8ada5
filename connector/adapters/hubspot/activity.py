"""Activity for scoring, from three HubSpot sources, as canonical ``Activity`` records.

1. Web analytics events -- ``GET /events/v3/events`` (https://developers.hubspot.com/docs/api/events/web-analytics),
   see :mod:`.web_events`: the window portal-wide per mapped event type, then the earlier visits of
   contacts created or identified in it; skipped with a notice on a portal without an Enterprise
   hub; per contact on a portal that serves one record at a time. Ids ``hs-event:<id>``.
2. Marketing email events -- ``GET /email/public/v1/events?startTimestamp=&endTimestamp=&limit=&offset=``
   (https://developers.hubspot.com/docs/methods/email/get_events). These name only the recipient's
   email, so they are emitted with the scoring core's e-mail anonymous id
   (:func:`connector.scoring.identity.email_id`, ``email:<lowercased address>``); the sync engine
   resolves those against stored contact emails. Ids ``hs-email:<id>``. ``STATUSCHANGE`` counts as
   an unsubscribe only when a subscription (or the portal status) became ``UNSUBSCRIBED``. Newest
   first; ``limit`` is always sent (HubSpot's default is 10) and ``offset`` is an opaque token valid
   only "with the same query parameters (excluding offset itself and limit)", so every page repeats
   the first page's query exactly.
3. CRM engagements (meetings, calls, emails) -- searched on ``hs_lastmodifieddate`` (when HubSpot
   recorded or last edited them) with the keyset walk, not on ``hs_timestamp`` (when they happened):
   a meeting held on the 1st and logged on the 8th has ``hs_timestamp`` = the 1st, which a window on
   occurrence time had already passed ("hs_timestamp ... determines where the call sits on the
   record timeline", https://developers.hubspot.com/docs/api/crm/calls). ``occurred_at`` stays
   ``hs_timestamp``. Contacts come from ``POST /crm/v4/associations/{type}/contacts/batch/read``;
   one activity per engagement and contact, ``hs-meeting:<id>:<contact id>``, so an engagement
   edited again (and pulled again) is stored once. Engagements without a contact (a call from an
   unknown number, an internal meeting) are skipped and counted, not quarantined.

Window: ``(since, until]``, on occurrence time for events and on modification time for
engagements, enforced here whatever the server's edge semantics. The sources are read one after
another; only the last page carries ``until`` as its cursor (earlier pages carry ``since``),
because email events come newest first and no earlier point is complete for all three sources.
"""

from __future__ import annotations

import collections
import datetime as dt
import typing as t

from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest, PublicFetchAssociationsBatchRequest

from connector.adapters.base import Page, Reject
from connector.adapters.hubspot.contacts import to_millis
from connector.adapters.hubspot.mapping import ConversionError, HubSpotMapping, parse_hubspot_time
from connector.adapters.hubspot.search import keyset_search
from connector.adapters.hubspot.web_events import WebEventPull
from connector.scoring.identity import email_id
from connector.scoring.records import Activity, utc

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient
    from connector.adapters.hubspot.forms import FormNames

__all__ = ["ENGAGEMENT_PROPERTIES", "associated_contacts", "pull_activities"]

#: Properties read per engagement type; kept as attributes (without the ``hs_`` prefix noise).
ENGAGEMENT_PROPERTIES: dict[str, dict[str, str]] = {
    "meetings": {"hs_meeting_title": "title", "hs_meeting_outcome": "outcome", "hs_meeting_location": "location"},
    "calls": {"hs_call_title": "title", "hs_call_direction": "direction", "hs_call_disposition": "disposition", "hs_call_duration": "duration_ms"},
    "emails": {"hs_email_subject": "subject", "hs_email_direction": "direction"},
}
_SINGULAR = {"meetings": "meeting", "calls": "call", "emails": "email"}
ASSOCIATION_BATCH = 100
Batch = tuple[list[Activity], list[Reject]]


def pull_activities(
    client: HubSpotClient, mapping: HubSpotMapping, since: dt.datetime | None, until: dt.datetime, forms: FormNames | None = None
) -> t.Iterator[Page[Activity]]:
    """All mapped activity HubSpot recorded in ``(since, until]`` (see the module doc for each source).

    ``forms`` names the forms of submissions (attributes ``form`` and ``form_name``).
    """
    since_ms = to_millis(since) if since is not None else None
    until_ms = to_millis(until)
    hold = utc(since) if since is not None else None
    acts = mapping.activities
    web = WebEventPull(client, mapping, since_ms, until_ms, forms=forms) if acts.web_events.enabled and acts.web_events.types else None
    skipped: collections.Counter[str] = collections.Counter()
    sources: list[t.Iterator[Batch]] = []
    if web is not None:
        sources.append(web.batches())
    if acts.email_events.enabled and acts.email_events.types:
        sources.append(_email_events(client, mapping, since_ms, until_ms))
    if acts.engagements.enabled:
        sources += [_engagements(client, mapping, kind, since_ms, until_ms, skipped) for kind in acts.engagements.types]
    pending: Batch | None = None
    for source in sources:
        for records, rejects in source:
            if pending is not None:
                yield Page(pending[0], pending[1], hold)
            pending = (records, rejects)
    last = pending or ([], [])
    notices = tuple(n for n in (web.notice if web is not None else None, forms.notice if forms is not None else None) if n)
    yield Page(last[0], last[1], dt.datetime.fromtimestamp(until_ms / 1000, tz=dt.UTC), skipped=dict(skipped), notices=notices)


def _in_window(ms: int, since_ms: int | None, until_ms: int) -> bool:
    return (since_ms is None or ms > since_ms) and ms <= until_ms


def _unsubscribed(event: t.Mapping[str, t.Any]) -> bool:
    if str(event.get("portalSubscriptionStatus", "")).upper() == "UNSUBSCRIBED":
        return True
    return any(str(s.get("status", "")).upper() == "UNSUBSCRIBED" for s in event.get("subscriptions") or [] if isinstance(s, dict))


def _email_events(
    client: HubSpotClient, mapping: HubSpotMapping, since_ms: int | None, until_ms: int
) -> t.Iterator[Batch]:
    spec = mapping.activities.email_events
    offset: str | None = None
    while True:
        query: dict[str, t.Any] = {"endTimestamp": until_ms, "limit": spec.page_size}
        if since_ms is not None:
            query["startTimestamp"] = since_ms + 1
        if offset:
            query["offset"] = offset
        answer = client.raw("GET", "/email/public/v1/events", query)
        if not isinstance(answer, dict):
            raise _bad_answer("/email/public/v1/events", answer)
        records: list[Activity] = []
        rejects: list[Reject] = []
        for event in answer.get("events") or []:
            item = _email_activity(event, spec.types, since_ms, until_ms)
            if isinstance(item, Reject):
                rejects.append(item)
            elif item is not None:
                records.append(item)
        yield records, rejects
        offset = answer.get("offset")
        if not answer.get("hasMore") or not offset:
            return


def _email_activity(event: t.Any, types: t.Mapping[str, str], since_ms: int | None, until_ms: int) -> Activity | Reject | None:
    if not isinstance(event, dict):
        return Reject("activities", None, "email event is not a JSON object", {"value": repr(event)[:500]})
    kind = str(event.get("type") or "")
    if kind not in types:
        return None
    if kind == "STATUSCHANGE" and not _unsubscribed(event):
        return None
    event_id, recipient, created = event.get("id"), event.get("recipient"), event.get("created")
    if not event_id or not isinstance(recipient, str) or "@" not in recipient or created is None:
        return Reject("activities", f"hs-email:{event_id}" if event_id else None, "email event without id, recipient or created", event)
    try:
        occurred = parse_hubspot_time(created)
    except ConversionError as exc:
        return Reject("activities", f"hs-email:{event_id}", f"email event 'created': {exc}", event)
    if not _in_window(to_millis(occurred), since_ms, until_ms):
        return None
    attributes = {"email_event_type": kind}
    for key, name in (("url", "url"), ("emailCampaignId", "campaign_id"), ("subject", "subject"), ("appName", "app_name")):
        if event.get(key) is not None:
            attributes[name] = event[key]
    return Activity(
        id=f"hs-email:{event_id}",
        type=types[kind],
        occurred_at=occurred,
        anonymous_id=email_id(recipient),
        attributes=attributes,
    )


def _engagements(
    client: HubSpotClient, mapping: HubSpotMapping, kind: str, since_ms: int | None, until_ms: int, skipped: collections.Counter[str]
) -> t.Iterator[Batch]:
    canonical = mapping.activities.engagements.types[kind]  # type: ignore[index]
    props = ENGAGEMENT_PROPERTIES[kind]
    singular = _SINGULAR[kind]
    # hs_timestamp must be asked for: an engagement search returns only hs_createdate,
    # hs_lastmodifieddate and hs_object_id by default (CRM search guide, "Engagements").
    walk = keyset_search(client, client.engagement_search[kind], kind, "hs_lastmodifieddate", [*props, "hs_timestamp"], since_ms, until_ms)
    for page in walk:
        records: list[Activity] = []
        rejects: list[Reject] = []
        contacts = associated_contacts(client, kind, [str(r.id) for r in page.records])
        for record in page.records:
            raw = {"id": str(record.id), "properties": dict(record.properties or {})}
            try:
                occurred = parse_hubspot_time((record.properties or {}).get("hs_timestamp"))
            except ConversionError as exc:
                rejects.append(Reject("activities", f"hs-{singular}:{record.id}", f"{kind} 'hs_timestamp': {exc}", raw))
                continue
            linked = contacts.get(str(record.id), [])
            if not linked:
                skipped[f"{singular} without contact"] += 1  # a call from an unknown number: not an error
                continue
            attributes = {name: (record.properties or {}).get(prop) for prop, name in props.items() if (record.properties or {}).get(prop) not in (None, "")}
            for contact_id in linked:
                records.append(
                    Activity(
                        id=f"hs-{singular}:{record.id}:{contact_id}",
                        type=canonical,
                        occurred_at=occurred,
                        contact_id=contact_id,
                        attributes=attributes,
                    )
                )
        yield records, rejects


def associated_contacts(client: HubSpotClient, kind: str, ids: list[str]) -> dict[str, list[str]]:
    """Contacts of each engagement; an engagement's further association pages are followed (``after``)."""
    out: dict[str, list[str]] = {}
    path = f"/crm/v4/associations/{kind}/contacts/batch/read"
    pending: list[tuple[str, str | None]] = [(i, None) for i in ids]
    while pending:
        chunk, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
        request = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i, after=after) if after else PublicFetchAssociationsBatchRequest(id=i) for i, after in chunk]
        )
        answer = client.call(
            "POST", path, client.associations.get_page, from_object_type=kind, to_object_type="contacts",
            batch_input_public_fetch_associations_batch_request=request,
        )
        for result in answer.results or []:
            source = str(result._from.id)
            out.setdefault(source, []).extend(str(to.to_object_id) for to in result.to or [])
            nxt = result.paging.next if getattr(result, "paging", None) is not None else None
            if nxt is not None and nxt.after:
                pending.append((source, str(nxt.after)))
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def _bad_answer(path: str, answer: t.Any) -> Exception:
    from connector.adapters.base import CRMError

    return CRMError(f"HubSpot answered GET {path} with something that is not a JSON object: {str(answer)[:200]}")
