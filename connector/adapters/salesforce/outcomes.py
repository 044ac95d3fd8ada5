"""What became of people in the org: converted leads and won opportunities, for learning and the report.

- **A converted lead** (``IsConverted``) is an outcome of kind ``converted`` for the contact it became
  (``ConvertedContactId``; the lead's score history moved there, see :mod:`.people`), dated by
  ``ConvertedDate``, its source the lead's id. Read from ``Lead`` on a ``SystemModstamp`` keyset:
  conversion stamps the lead.
- **A won opportunity** (``IsWon``) is an outcome of kind ``closed_won`` for its primary contact,
  dated by ``CloseDate``, with its ``Amount``. ``Opportunity.ContactId`` is "the contact associated
  with this opportunity, set as the primary contact ... derived from the opportunity contact role"
  (Object Reference, Opportunity, API 46.0 and later:
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm;
  the primary role is ``OpportunityContactRole.IsPrimary``, "Each Opportunity has only one primary
  contact": https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-opportunitycontactrole.html).
  An opportunity with no primary contact is nobody's outcome and is skipped. Not checked against a
  live org: if ``ContactId`` is empty there, reading the primary contact role is the fallback.

Both are read only when the mapping's ``outcomes`` section asks for them; one query per object a run.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

from simple_salesforce.format import format_soql

from connector.adapters.base import Outcome, Page, Reject
from connector.adapters.salesforce.mapping import ConversionError, SalesforceMapping, parse_sf_time
from connector.adapters.salesforce.people import EXTRA_FIELDS, keyset_walk, safe_cursor, translate_person
from connector.scoring.records import Contact, utc

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["pull_outcomes", "read_people"]

STREAM = "outcomes"
#: A record id: 15 case-sensitive or 18 case-insensitive letters and digits. Salesforce refuses a
#: whole query over one malformed id in ``Id IN (...)`` (400 ``INVALID_QUERY_FILTER_OPERATOR``,
#: "invalid ID field"), so ids that cannot exist are left out before the query.
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def _date(value: t.Any) -> dt.datetime | None:
    """A Salesforce date (``2025-01-15``, midnight UTC) or date-time as a UTC instant; ``None`` when blank."""
    return None if value in (None, "") else parse_sf_time(value)


def _converted(record: t.Mapping[str, t.Any]) -> Outcome | Reject | None:
    contact = record.get("ConvertedContactId")
    if not contact:
        return None
    try:
        when = _date(record.get("ConvertedDate"))
    except (ConversionError, ValueError) as exc:
        return Reject(STREAM, str(record.get("Id")), f"Lead.ConvertedDate: {exc}", dict(record))
    return Outcome(contact_id=str(contact), kind="converted", source_id=str(record["Id"]), occurred_at=when)


def _won(record: t.Mapping[str, t.Any]) -> Outcome | Reject | None:
    contact = record.get("ContactId")
    if not contact:
        return None
    try:
        when = _date(record.get("CloseDate"))
        amount = float(record["Amount"]) if record.get("Amount") not in (None, "") else None
    except (ConversionError, ValueError, TypeError) as exc:
        return Reject(STREAM, str(record.get("Id")), f"Opportunity CloseDate/Amount: {exc}", dict(record))
    return Outcome(contact_id=str(contact), kind="closed_won", source_id=str(record["Id"]), occurred_at=when, amount=amount)


def pull_outcomes(client: SalesforceClient, mapping: SalesforceMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
    """Converted leads, then won opportunities, stamped in ``[floor(since), until]``."""
    plans: list[tuple[str, list[str], str, t.Callable[[t.Mapping[str, t.Any]], Outcome | Reject | None]]] = []
    if mapping.outcomes.converted_leads:
        plans.append(("Lead", ["ConvertedContactId", "ConvertedDate"], "IsConverted = true", _converted))
    if mapping.outcomes.won_opportunities:
        plans.append(("Opportunity", ["ContactId", "CloseDate", "Amount"], "IsWon = true", _won))
    hold = utc(since) if since is not None else None
    for i, (sobject, fields, where, translate) in enumerate(plans):
        last_object = i == len(plans) - 1
        for records in keyset_walk(client, sobject, fields, since, until, include_deleted=False, where=where):
            found: list[Outcome] = []
            rejects: list[Reject] = []
            for record in records:
                item = translate(record)
                if isinstance(item, Reject):
                    rejects.append(item)
                elif item is not None:
                    found.append(item)
            # Only the last object's pages move the cursor: an earlier point is not complete for both.
            cursor = (safe_cursor(records[-1]) or hold) if last_object and records else hold
            yield Page(found, rejects, cursor)
    yield Page([], [], utc(until))


#: Ids per query when reading people by id (keeps the SOQL text well under its 100,000-character limit).
READ_BATCH = 200


def read_people(client: SalesforceClient, mapping: SalesforceMapping, ids: t.Sequence[str]) -> t.Iterator[Page[Contact]]:
    """The current Leads (``00Q``) and Contacts (``003``) of ``ids``, a page per query; converted, deleted, unknown and malformed ones left out."""
    for sobject, prefix, spec in (("Lead", "00Q", mapping.people.lead), ("Contact", "003", mapping.people.contact)):
        wanted = list(dict.fromkeys(str(i) for i in ids if str(i).startswith(prefix) and _RECORD_ID.match(str(i))))
        if not spec.enabled:
            continue
        for start in range(0, len(wanted), READ_BATCH):
            # Field and object names are identifiers the mapping validated; the ids go through format_soql.
            soql = format_soql(f"SELECT {', '.join(spec.soql_fields(EXTRA_FIELDS[sobject]))} FROM {sobject} WHERE Id IN {{}}", wanted[start : start + READ_BATCH])  # noqa: S608
            for records in client.query_pages(soql):
                people: list[Contact] = []
                rejects: list[Reject] = []
                for record in records:
                    if record.get("IsDeleted") or record.get("IsConverted"):
                        continue
                    item = translate_person(record, spec, sobject)
                    if isinstance(item, Reject):
                        rejects.append(item)
                    else:
                        people.append(item)
                yield Page(people, rejects, None)
