"""Activity for scoring from three Salesforce sources, as canonical ``Activity`` records.

1. **Task** -- logged e-mails and calls: the canonical type by ``TaskSubtype`` (``Email``, ``Call``,
   ``ListEmail``...) and else by ``Type``; tasks of other kinds (the to-dos the connector creates
   for owners among them) are not activity. Id ``sf-task:<Id>``, occurred at ``CompletedDateTime``
   or else ``CreatedDate``.
2. **Event** -- meetings: a subject containing a mapped key (``demo``) gives its type, else the
   mapping's default (``meeting``). Id ``sf-event:<Id>``, occurred at ``StartDateTime``.
3. **CampaignMember** -- campaign responses: the campaign's ``Type`` and the member's ``Status``
   (webinar ``Attended``, content ``Downloaded``, web form ``Submitted``, e-mail ``Clicked``...).
   A member whose status changes is one activity per status reached:
   ``sf-cm:<Id>:<Status>``, occurred at the ``SystemModstamp`` that showed it.

Each source is walked like people (:func:`.people.keyset_walk`) on ``SystemModstamp``: a Task
moved to a converted lead's contact or a merge winner changes its stamp and is read again. Only
records naming a person (``WhoId``; a member's ``ContactId`` or ``LeadId``) are read. Earlier
pages carry ``since`` as their cursor and only the last page ``until``: no earlier point is
complete for all three sources.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.adapters.base import Page, Reject
from connector.adapters.salesforce.mapping import ConversionError, SalesforceMapping, parse_sf_time
from connector.adapters.salesforce.people import keyset_walk
from connector.scoring.records import Activity, utc

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["pull_activities"]

STREAM = "activities"
Batch = tuple[list[Activity], list[Reject]]


def _time(record: t.Mapping[str, t.Any], *fields: str) -> dt.datetime:
    for field in fields:
        value = record.get(field)
        if value:
            return parse_sf_time(value)
    raise ConversionError(f"none of {', '.join(fields)} is set")


def _raw(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _tasks(client: SalesforceClient, mapping: SalesforceMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Batch]:
    spec = mapping.activities.tasks
    fields = ["WhoId", "TaskSubtype", "Type", "Subject", "Status", "CallType", "CallDurationInSeconds", "CompletedDateTime", "CreatedDate"]
    for records in keyset_walk(client, "Task", fields, since, until, include_deleted=False, where="WhoId != null"):
        out: list[Activity] = []
        rejects: list[Reject] = []
        for r in records:
            kind = spec.subtypes.get(str(r.get("TaskSubtype") or "")) or spec.types.get(str(r.get("Type") or ""))
            if kind is None:
                continue
            try:
                when = _time(r, "CompletedDateTime", "CreatedDate")
            except ConversionError as exc:
                rejects.append(Reject(STREAM, f"sf-task:{r.get('Id')}", f"Task: {exc}", _raw(r)))
                continue
            attributes = {k: v for k, v in (("subject", r.get("Subject")), ("subtype", r.get("TaskSubtype")), ("call_type", r.get("CallType")),
                                              ("duration_seconds", r.get("CallDurationInSeconds"))) if v not in (None, "")}
            out.append(Activity(id=f"sf-task:{r['Id']}", type=kind, occurred_at=when, contact_id=str(r["WhoId"]), attributes=attributes))
        yield out, rejects


def _events(client: SalesforceClient, mapping: SalesforceMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Batch]:
    spec = mapping.activities.events
    subjects = {k.lower(): v for k, v in spec.subjects.items()}
    for records in keyset_walk(client, "Event", ["WhoId", "Subject", "Type", "Location", "StartDateTime", "ActivityDateTime", "CreatedDate"], since, until,
                               include_deleted=False, where="WhoId != null"):
        out: list[Activity] = []
        rejects: list[Reject] = []
        for r in records:
            subject = str(r.get("Subject") or "")
            kind = next((v for k, v in subjects.items() if k in subject.lower()), spec.default)
            if kind is None:
                continue
            try:
                when = _time(r, "StartDateTime", "ActivityDateTime", "CreatedDate")
            except ConversionError as exc:
                rejects.append(Reject(STREAM, f"sf-event:{r.get('Id')}", f"Event: {exc}", _raw(r)))
                continue
            attributes = {k: v for k, v in (("subject", subject), ("location", r.get("Location"))) if v not in (None, "")}
            out.append(Activity(id=f"sf-event:{r['Id']}", type=kind, occurred_at=when, contact_id=str(r["WhoId"]), attributes=attributes))
        yield out, rejects


def _members(client: SalesforceClient, mapping: SalesforceMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Batch]:
    types = {ctype.lower(): {status.lower(): kind for status, kind in statuses.items()} for ctype, statuses in mapping.activities.campaign_members.types.items()}
    fields = ["LeadId", "ContactId", "Status", "CampaignId", "Campaign.Type", "Campaign.Name"]
    for records in keyset_walk(client, "CampaignMember", fields, since, until, include_deleted=False):
        out: list[Activity] = []
        rejects: list[Reject] = []
        for r in records:
            related = r.get("Campaign")
            campaign: dict[str, t.Any] = related if isinstance(related, dict) else {}
            status = str(r.get("Status") or "")
            kind = types.get(str(campaign.get("Type") or "").lower(), {}).get(status.lower())
            person = r.get("ContactId") or r.get("LeadId")
            if kind is None or not person:
                continue
            try:
                when = _time(r, "SystemModstamp")
            except ConversionError as exc:
                rejects.append(Reject(STREAM, f"sf-cm:{r.get('Id')}", f"CampaignMember: {exc}", _raw(r)))
                continue
            attributes = {"campaign": campaign.get("Name"), "campaign_type": campaign.get("Type"), "status": status, "form_id": campaign.get("Name")}
            out.append(Activity(id=f"sf-cm:{r['Id']}:{status}", type=kind, occurred_at=when, contact_id=str(person), attributes={k: v for k, v in attributes.items() if v}))
        yield out, rejects


def pull_activities(client: SalesforceClient, mapping: SalesforceMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
    """All mapped activity of records stamped in ``[floor(since), until]``."""
    hold = utc(since) if since is not None else None
    acts = mapping.activities
    sources: list[t.Iterator[Batch]] = []
    if acts.tasks.enabled:
        sources.append(_tasks(client, mapping, since, until))
    if acts.events.enabled:
        sources.append(_events(client, mapping, since, until))
    if acts.campaign_members.enabled and acts.campaign_members.types:
        sources.append(_members(client, mapping, since, until))
    for source in sources:
        for records, rejects in source:
            yield Page(records, rejects, hold)
    yield Page([], [], utc(until))
