"""Leads and Contacts: incremental pull on ``SystemModstamp`` and translation to canonical ``Contact``.

Both objects are people the models score; their ids never collide (key prefixes ``00Q`` and
``003``), so the sync sees one stream of contacts. Leads are walked first, then Contacts.

**The walk.** One SOQL query per object, ``WHERE SystemModstamp >= since AND SystemModstamp <=
until ORDER BY SystemModstamp, Id``, read through ``queryAll`` (so deleted and merged records come
too) page by page along ``nextRecordsUrl`` (2,000 records a page: the call floor ceil(N/2000)).
Salesforce stamps to the second, and many records share one stamp, so the order has a tie-breaker
(``Id``) and the walk keeps a keyset -- the last ``(SystemModstamp, Id)`` read. When a query
locator dies (15 idle minutes, or an 11th cursor of the same user: 400 ``INVALID_QUERY_LOCATOR``),
the walk goes on with ``(SystemModstamp = last AND Id > last id) OR SystemModstamp > last``,
losing nothing and reading nothing twice. The lower bound is the whole second of ``since``
(inclusive): a record stamped in the second a previous run started may have been saved after that
run's query, so that second is read again (such records come back unchanged and are not rescored).
The upper bound is ``until``: the cursor never passes the run's start.

**Deleted, merged and converted.** A record with ``IsDeleted`` (a merge loser carries its winner in
``MasterRecordId``) and a converted lead (``IsConverted``, its contact in ``ConvertedContactId``)
are not people to score any more: each page names them in :attr:`Page.gone` with their successor,
and the sync moves their activity and pending writes to it (Salesforce moves the Tasks, Events and
campaign memberships itself; see :mod:`.activity`), so a converted lead is not scored twice.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from simple_salesforce.format import format_soql

from connector.adapters.base import Page, Reject
from connector.adapters.salesforce.client import SalesforceApiError
from connector.adapters.salesforce.mapping import ConversionError, PersonObjectMap, SalesforceMapping, convert, parse_sf_time
from connector.scoring.records import Contact, utc

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["EXTRA_FIELDS", "keyset_walk", "pull_people", "safe_cursor", "translate_person", "whole_second"]

STREAM = "contacts"
#: Bookkeeping fields read per object besides the mapping's.
EXTRA_FIELDS = {"Lead": ["IsConverted", "ConvertedContactId", "MasterRecordId"], "Contact": ["MasterRecordId"]}


def whole_second(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC, cut to the second (SOQL date-time literals have none smaller)."""
    return utc(value).replace(microsecond=0)


def keyset_walk(
    client: SalesforceClient,
    sobject: str,
    fields: t.Sequence[str],
    since: dt.datetime | None,
    until: dt.datetime,
    *,
    stamp: str = "SystemModstamp",
    include_deleted: bool = True,
    where: str = "",
) -> t.Iterator[list[dict[str, t.Any]]]:
    """Pages of ``sobject`` records with ``floor(since) <= stamp <= until``, in ``(stamp, Id)`` order.

    ``where``: an extra condition, already formatted with ``format_soql``.
    """
    select = ", ".join(dict.fromkeys(["Id", stamp, *fields]))
    extra = f" AND ({where})" if where else ""
    last: tuple[str, str] | None = None
    while True:
        if last is None:
            lower = format_soql(f" AND {stamp} >= {{}}", whole_second(since)) if since is not None else ""
        else:
            lower = format_soql(f" AND ({stamp} > {{stamp:literal}} OR ({stamp} = {{stamp:literal}} AND Id > {{}}))", last[1], stamp=last[0])
        # Field and object names are identifiers the mapping validated; every value goes through format_soql.
        head = f"SELECT {select} FROM {sobject} WHERE {stamp} <= {{}}"  # noqa: S608
        soql = format_soql(head, whole_second(until)) + lower + extra + f" ORDER BY {stamp}, Id"
        try:
            for records in client.query_pages(soql, include_deleted=include_deleted):
                if records:
                    tail = records[-1]
                    last = (_soql_datetime(tail.get(stamp)), str(tail["Id"]))
                yield records
            return
        except SalesforceApiError as exc:
            if exc.code != "INVALID_QUERY_LOCATOR" or last is None:
                raise
            # The cursor died between two pages: go on from the last record read.


def _soql_datetime(value: t.Any) -> str:
    """A record's stamp as a SOQL date-time literal (``2025-01-15T12:00:00Z``)."""
    return format_soql("{}", whole_second(parse_sf_time(value)))


def _raw(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _lookup(record: t.Mapping[str, t.Any], field: str) -> t.Any:
    """A field's value, one relationship level up for ``Account.Industry``."""
    if "." in field:
        parent, name = field.split(".", 1)
        related = record.get(parent)
        return related.get(name) if isinstance(related, dict) else None
    return record.get(field)


def translate_person(record: t.Mapping[str, t.Any], spec: PersonObjectMap, sobject: str) -> Contact | Reject:
    """One Lead or Contact -> ``Contact``; any unreadable value makes the whole record a ``Reject``."""
    record_id = str(record.get("Id") or "")
    if not record_id:
        return Reject(STREAM, None, f"{sobject} record without an Id", _raw(record))
    values: dict[str, t.Any] = {}
    problems = []
    for canonical, field in spec.fields.items():
        try:
            value = convert(_lookup(record, field.field), field)
        except ConversionError as exc:
            problems.append(f"{sobject}.{field.field} (-> {canonical}, {field.type}): {exc}")
            continue
        if value is not None:
            values[canonical] = value
    stage_dates: dict[str, dt.datetime] = {}
    for stage, field_name in spec.stage_dates.items():
        raw_date = _lookup(record, field_name)
        if raw_date is None or (isinstance(raw_date, str) and not raw_date.strip()):
            continue
        try:  # a Date field (2025-01-15) is taken as midnight UTC of that day
            stage_dates[stage] = parse_sf_time(raw_date)
        except ConversionError as exc:
            problems.append(f"{sobject}.{field_name} (stage date of {stage}): {exc}")
    updated_at = None
    try:
        updated_at = parse_sf_time(record.get("SystemModstamp"))
    except ConversionError as exc:
        problems.append(f"{sobject}.SystemModstamp: {exc}")
    if problems:
        return Reject(STREAM, record_id, "; ".join(problems), _raw(record))
    email = record.get(spec.email_field)
    owner = record.get(spec.owner_field)
    return Contact(
        id=record_id,
        email=email.strip() if isinstance(email, str) and email.strip() else None,
        properties=values,
        updated_at=updated_at,
        owner_id=str(owner) if owner else None,
        stage_dates=stage_dates,
    )


def _successor(record: t.Mapping[str, t.Any]) -> tuple[bool, str | None]:
    """Whether the record left the people to score, and who continues it (merge winner, converted contact)."""
    if record.get("IsDeleted"):
        return True, record.get("MasterRecordId") or None
    if record.get("IsConverted"):
        return True, record.get("ConvertedContactId") or None
    return False, None


def pull_people(client: SalesforceClient, mapping: SalesforceMapping, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Contact]]:
    """Leads, then Contacts, changed in ``[floor(since), until]``, oldest first, in pages of up to 2,000."""
    objects = [(name, spec) for name, spec in (("Lead", mapping.people.lead), ("Contact", mapping.people.contact)) if spec.enabled]
    hold = utc(since) if since is not None else None
    if since is not None and utc(since) >= utc(until):
        yield Page([], [], min(utc(since), utc(until)))  # an empty window (a clock step back): the cursor stays
        return
    for i, (sobject, spec) in enumerate(objects):
        last_object = i == len(objects) - 1
        for records in keyset_walk(client, sobject, spec.soql_fields(EXTRA_FIELDS[sobject]), since, until):
            people: list[Contact] = []
            rejects: list[Reject] = []
            gone: dict[str, str | None] = {}
            for record in records:
                left, successor = _successor(record)
                if left:
                    gone[str(record["Id"])] = successor
                    continue
                item = translate_person(record, spec, sobject)
                (rejects if isinstance(item, Reject) else people).append(item)  # type: ignore[arg-type]
            # Only the last object's pages move the cursor: an earlier point is not complete for both.
            cursor = safe_cursor(records[-1]) if last_object and records else hold
            yield Page(people, rejects, cursor, gone=gone)
    yield Page([], [], utc(until))


def safe_cursor(record: t.Mapping[str, t.Any]) -> dt.datetime | None:
    """The cursor safe after a page that ends with ``record`` (``None``: its stamp is unreadable)."""
    try:
        # The last stamp may continue on the next page: the safe point is one second before it.
        return parse_sf_time(record.get("SystemModstamp")) - dt.timedelta(seconds=1)
    except ConversionError:
        return None
