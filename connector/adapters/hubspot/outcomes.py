"""Outcomes: contacts that became customers, and won deals with their associated contacts.

Two sources, each read only when the mapping's ``outcomes`` section names it:

* ``customer``: the contacts search walked (keyset, see :mod:`.search`) on the date HubSpot sets
  when a contact enters the customer lifecycle stage (``hs_lifecyclestage_customer_date``), so a
  run reads only the contacts that became customers in its window. One outcome per contact,
  ``source_id`` = the contact id.
* ``deals``: the deals search (https://developers.hubspot.com/docs/api/crm/deals, ``POST
  /crm/v3/objects/deals/search``) walked on ``hs_lastmodifieddate``; of the deals modified in the
  window, those with ``hs_is_closed_won`` = ``"true"`` become an outcome of each associated contact
  (``POST /crm/v4/associations/deals/contacts/batch/read``, association type 3 "deal to contact",
  https://developers.hubspot.com/docs/api/crm/associations/v4), dated by ``closedate``, with the
  deal's ``amount``. ``source_id`` = the deal id, so a contact with two won deals has two outcomes.

A record whose date or amount cannot be read is a :class:`Reject` (quarantined, the pull goes on).
A deal that was won and is later reopened keeps its stored outcome (the connector only adds).
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.adapters.base import Outcome, Page, Reject
from connector.adapters.hubspot.activity import associated_contacts
from connector.adapters.hubspot.contacts import to_millis
from connector.adapters.hubspot.mapping import ConversionError, CustomerOutcomeMap, DealOutcomeMap, HubSpotMapping, parse_hubspot_time
from connector.adapters.hubspot.search import keyset_search

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["pull_outcomes"]

STREAM = "outcomes"


def pull_outcomes(client: HubSpotClient, mapping: HubSpotMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
    """Customers and won deals of ``(since, until]``, page by page; nothing (no request) when the mapping asks for none."""
    since_ms = to_millis(since) if since is not None else None
    until_ms = to_millis(until)
    if since_ms is not None and since_ms >= until_ms:
        return
    customer, deals = mapping.outcomes.customer, mapping.outcomes.deals
    if customer is not None and customer.enabled:
        yield from _customers(client, customer, since_ms, until_ms)
    if deals is not None and deals.enabled:
        yield from _deals(client, deals, since_ms, until_ms)


def _cursor(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _customers(client: HubSpotClient, spec: CustomerOutcomeMap, since_ms: int | None, until_ms: int) -> t.Iterator[Page[Outcome]]:
    for page in keyset_search(client, client.contacts_search, "contacts", spec.date_property, [spec.date_property], since_ms, until_ms):
        records: list[Outcome] = []
        rejects: list[Reject] = []
        for r in page.records:
            try:
                at = parse_hubspot_time(r.properties.get(spec.date_property))
            except ConversionError as exc:
                rejects.append(Reject(STREAM, f"contact:{r.id}", f"property '{spec.date_property}': {exc}", {"id": r.id, "properties": dict(r.properties)}))
                continue
            records.append(Outcome(contact_id=str(r.id), kind="customer", source_id=str(r.id), occurred_at=at))
        # The deals walk comes after this one, over the same window: its pages carry the cursor.
        yield Page(records, rejects, None)


def _deals(client: HubSpotClient, spec: DealOutcomeMap, since_ms: int | None, until_ms: int) -> t.Iterator[Page[Outcome]]:
    props = [spec.won_property, spec.date_property, spec.amount_property]
    for page in keyset_search(client, client.deals_search, "deals", "hs_lastmodifieddate", props, since_ms, until_ms):
        won = [r for r in page.records if str(r.properties.get(spec.won_property) or "").strip().lower() == "true"]
        linked = associated_contacts(client, "deals", [str(r.id) for r in won]) if won else {}
        records: list[Outcome] = []
        rejects: list[Reject] = []
        for r in won:
            raw = {"id": str(r.id), "properties": dict(r.properties)}
            try:
                at = parse_hubspot_time(r.properties[spec.date_property]) if r.properties.get(spec.date_property) not in (None, "") else None
                amount_text = r.properties.get(spec.amount_property)
                amount = float(amount_text) if amount_text not in (None, "") else None
            except (ConversionError, ValueError) as exc:
                rejects.append(Reject(STREAM, f"deal:{r.id}", f"won deal: {exc}", raw))
                continue
            contacts = linked.get(str(r.id), [])
            if not contacts:
                rejects.append(Reject(STREAM, f"deal:{r.id}", "won deal has no associated contact", raw))
            records += [Outcome(contact_id=c, kind="closed_won", source_id=str(r.id), occurred_at=at, amount=amount) for c in contacts]
        yield Page(records, rejects, _cursor(page.safe_ms))
