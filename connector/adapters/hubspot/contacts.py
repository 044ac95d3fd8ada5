"""Contacts: incremental pull on ``lastmodifieddate`` and translation to canonical ``Contact``.

The walk itself (no missed record, no 10,000 cap) is :func:`keyset_search`; this module asks for
only the properties the mapping names and turns each HubSpot record into a ``Contact`` or, when a
value does not fit its declared type, a ``Reject`` carrying the reason and the raw record. The
contact's owner (``hubspot_owner_id``, or the mapping's ``contacts.owner_property``) is pulled with
it, so a trigger's task goes to that owner without reading the contact again.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.adapters.base import Echo, Page, Reject
from connector.adapters.hubspot.client import PlainJSON
from connector.adapters.hubspot.mapping import ConversionError, HubSpotMapping, convert, parse_hubspot_time
from connector.adapters.hubspot.search import Alternative, keyset_search, read_search_answer
from connector.scoring.records import Contact, utc

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

#: HubSpot's largest batch read.
BATCH_READ_SIZE = 100

__all__ = ["EchoFilters", "echo_filters", "pull_contacts", "read_contacts", "to_millis", "translate_contact"]

#: The alternatives of :func:`echo_filters` (one filter group each).
EchoFilters = list[Alternative]

STREAM = "contacts"


def to_millis(value: dt.datetime) -> int:
    """Epoch milliseconds of an aware (or UTC-naive) datetime."""
    return int(utc(value).timestamp() * 1000)


def _from_millis(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _raw(record: t.Any) -> dict[str, t.Any]:
    return {
        "id": str(record.id),
        "properties": dict(record.properties or {}),
        "updatedAt": _text_time(getattr(record, "updated_at", None)),
    }


def _text_time(value: t.Any) -> str | None:
    """``updatedAt`` as text for the quarantine (search records keep HubSpot's text; SDK models a datetime)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value if isinstance(value, str) else None


def translate_contact(record: t.Any, mapping: HubSpotMapping) -> Contact | Reject:
    """One HubSpot contact -> ``Contact``; any unreadable value makes the whole record a ``Reject``."""
    props = record.properties or {}
    record_id = str(record.id) if record.id is not None else None
    if not record_id:
        return Reject(STREAM, None, "record without an id", _raw(record))
    values: dict[str, t.Any] = {}
    problems = []
    for canonical, spec in mapping.contacts.properties.items():
        try:
            value = convert(props.get(spec.property), spec)
        except ConversionError as exc:
            problems.append(f"property '{spec.property}' (-> {canonical}, {spec.type}): {exc}")
            continue
        if value is not None:
            values[canonical] = value
    stage_dates: dict[str, dt.datetime] = {}
    for stage, prop in mapping.contacts.stage_dates.items():
        raw_date = props.get(prop)
        if raw_date in (None, "") or (isinstance(raw_date, str) and not raw_date.strip()):
            continue
        try:
            stage_dates[stage] = parse_hubspot_time(raw_date)
        except ConversionError as exc:
            problems.append(f"property '{prop}' (stage date of {stage}): {exc}")
    updated_at: dt.datetime | None = None
    raw_updated = props.get("lastmodifieddate") or getattr(record, "updated_at", None)
    if raw_updated:
        try:
            updated_at = parse_hubspot_time(raw_updated)
        except ConversionError as exc:
            problems.append(f"property 'lastmodifieddate': {exc}")
    if problems:
        return Reject(STREAM, record_id, "; ".join(problems), _raw(record))
    email = props.get(mapping.contacts.email_property)
    owner = props.get(mapping.contacts.owner_property)
    return Contact(
        id=record_id,
        email=email.strip() if isinstance(email, str) and email.strip() else None,
        properties=values,
        updated_at=updated_at,
        owner_id=str(owner).strip() if owner not in (None, "") and str(owner).strip() else None,
        stage_dates=stage_dates,
    )


def pull_contacts(
    client: HubSpotClient, mapping: HubSpotMapping, since: dt.datetime | None, until: dt.datetime, echo: EchoFilters | None = None
) -> t.Iterator[Page[Contact]]:
    """Contacts with ``since < lastmodifieddate <= until``, oldest first, in pages of up to 200.

    ``echo``: the filters that leave the connector's own writes out (:func:`echo_filters`).
    """
    until_ms = to_millis(until)
    since_ms = to_millis(since) if since is not None else None
    if since is not None and since_ms is not None and since_ms >= until_ms:
        # Empty window (e.g. a clock step backwards): nothing to read, and the cursor stays put.
        yield Page([], [], min(utc(since), utc(until)))
        return
    walk = keyset_search(
        client, client.contacts_search, "contacts", "lastmodifieddate", mapping.contact_properties(), since_ms, until_ms, alternatives=echo or ()
    )
    for page in walk:
        records: list[Contact] = []
        rejects: list[Reject] = []
        for raw in page.records:
            item = translate_contact(raw, mapping)
            (rejects if isinstance(item, Reject) else records).append(item)  # type: ignore[arg-type]
        cursor = _from_millis(page.safe_ms) if page.safe_ms is not None else None
        yield Page(records, rejects, cursor)


def echo_filters(echo: Echo, marker_property: str, marker_value: str) -> EchoFilters:
    """The filter groups that leave out contacts the connector itself wrote in ``echo.window``.

    HubSpot stamps ``lastmodifieddate`` when the connector writes a contact, so the next pull
    would read back every contact written (100,000 contacts after a full sync: 500 searches, 100 s
    at 5 searches per second). A search filter compares a property with a constant, so the echo
    is described by what only those writes did: inside the window, the marker property
    (``scored_at``) holds the run's ``as_of``. A contact is pulled when any of these holds:
    modified before the window, after it, or inside it without the marker value (``NOT_IN``) or
    without the marker at all (``NOT_HAS_PROPERTY``, in case ``NOT_IN`` leaves empty values out).
    The contacts the run wrote are read again by the sync in batches of 100
    (:func:`read_contacts`), on the general budget.
    """
    start, end = to_millis(echo.window[0]), to_millis(echo.window[1])
    return [
        ("lastmodifieddate", "LT", str(start)),
        ("lastmodifieddate", "GT", str(end)),
        (marker_property, "NOT_IN", [marker_value]),
        (marker_property, "NOT_HAS_PROPERTY", None),
    ]


def read_contacts(client: HubSpotClient, mapping: HubSpotMapping, ids: t.Sequence[str]) -> t.Iterator[Page[Contact]]:
    """These contacts as they are now: ``POST /crm/v3/objects/contacts/batch/read``, 100 per call.

    https://developers.hubspot.com/docs/api/crm/contacts (batch read: ``inputs`` of ids, at most
    100, and the ``properties`` to return). Spends the general budget, not the search budget. Ids
    that do not exist (archived, merged away) come back as errors of a 207 answer, not as records:
    they are simply left out. The answer has the search answer's shape and is read the same way, as
    plain JSON (:func:`~connector.adapters.hubspot.search.read_search_answer`): a value that does not
    fit its property's type makes that record a ``Reject``, not the whole answer an error.
    """
    path = "/crm/v3/objects/contacts/batch/read"
    props = list(dict.fromkeys([*mapping.contact_properties(), "lastmodifieddate", "hs_object_id"]))
    unique = list(dict.fromkeys(str(i) for i in ids))
    for start in range(0, len(unique), BATCH_READ_SIZE):
        body = PlainJSON({"inputs": [{"id": cid} for cid in unique[start : start + BATCH_READ_SIZE]], "properties": props, "propertiesWithHistory": []})
        answer = client.call("POST", path, client.contacts_batch.read, batch_read_input_simple_public_object_id=body, archived=False, _preload_content=False)
        try:
            data = answer.data
        finally:
            answer.release_conn()
        records: list[Contact] = []
        rejects: list[Reject] = []
        for raw in read_search_answer(data, path):
            item = translate_contact(raw, mapping)
            (rejects if isinstance(item, Reject) else records).append(item)  # type: ignore[arg-type]
        yield Page(records, rejects, None)
