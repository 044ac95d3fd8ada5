"""Walking a CRM search over a time window without ever missing a record.

HubSpot's search (https://developers.hubspot.com/docs/api/crm/search) pages with an ``after``
offset, stops at 10,000 results per query, and allows one sort. Offsets are fragile twice over:
past 10,000 they fail, and when a record in the window is modified during the walk it leaves the
window (its timestamp moves past ``until``) and every later record shifts one place up, so one
unchanged record is silently skipped.

So this walk never uses ``after``: it is a *keyset* walk. Each request asks for the first 200
records with ``time > lo`` and ``time <= until``, sorted ascending. The records of the page's last
millisecond may continue on the next page, so they are held back and ``lo`` moves to just before
that millisecond; everything older is final. Every request starts at offset 0, so the 10,000 cap
cannot be reached however many records a window holds, and a record leaving the window shifts
nothing. When a whole page shares one millisecond (more than 200 records stamped in the same ms,
e.g. an import) that millisecond is walked by the secondary key ``hs_object_id`` (``EQ ms`` and
``hs_object_id > last id``, sorted by id), which has no ties. Cost: one extra request per run plus
the held-back records (normally one per page), i.e. ~0.5% above ceil(N/200).

The answers are read as plain JSON (``_preload_content=False``), not turned into the SDK's models:
the SDK parses every record's ``createdAt``/``updatedAt`` with dateutil and type-checks each
attribute, which cost more CPU than everything else in a large pull (0.8 ms of ~2.5 ms per
contact) for two fields we never use. :func:`read_search_answer` checks what the walk relies on
instead (a JSON object with a ``results`` list of objects, each with an ``id`` and a
``properties`` object) and fails the call with a :class:`CRMError` otherwise, as the SDK did.
The request is still built and validated by the SDK.
"""

from __future__ import annotations

import dataclasses as dc
import json
import typing as t

from connector.adapters.hubspot.mapping import ConversionError, parse_hubspot_time

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["PAGE_SIZE", "Alternative", "SearchPage", "SearchRecord", "keyset_search", "read_search_answer", "record_millis"]

#: One filter ``(property, operator, value)``: ``value`` a string, a list (``IN``/``NOT_IN``) or ``None`` (``HAS_PROPERTY``...).
Alternative = tuple[str, str, "str | list[str] | None"]

#: HubSpot's largest search page.
PAGE_SIZE = 200


@dc.dataclass(frozen=True, slots=True)
class SearchRecord:
    """One record of a search answer (HubSpot's ``SimplePublicObject``), read from its JSON.

    Same attribute names as the SDK's model; ``updated_at`` stays HubSpot's ISO text (it is only a
    fallback when ``lastmodifieddate`` is missing, and :func:`parse_hubspot_time` reads it).
    """

    id: str
    properties: dict[str, t.Any]
    updated_at: str | None = None


def read_search_answer(data: bytes | str, path: str) -> list[SearchRecord]:
    """The records of one search answer (``{"total", "results": [{"id", "properties", ...}], "paging"}``).

    See https://developers.hubspot.com/docs/api/crm/search for the shape.

    Raises:
        CRMError: the answer is not that shape (not JSON, no ``results`` list, a record without an
            id or without a ``properties`` object): the page cannot be walked safely.
    """
    from connector.adapters.base import CRMError

    def bad(why: str) -> CRMError:
        return CRMError(f"HubSpot answered POST {path} with something unreadable: {why}")

    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"not JSON ({exc}): {str(data[:200])!r}") from None
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise bad(f"no 'results' list: {str(body)[:200]}")
    out: list[SearchRecord] = []
    for i, item in enumerate(body["results"]):
        if not isinstance(item, dict):
            raise bad(f"result {i} is not an object: {str(item)[:200]}")
        rid = item.get("id")
        if rid is None or isinstance(rid, (dict, list, bool)) or str(rid).strip() == "":
            raise bad(f"result {i} has no id: {str(item)[:200]}")
        props = item.get("properties")
        if not isinstance(props, dict):
            raise bad(f"result {i} (id {rid}) has no 'properties' object")
        updated = item.get("updatedAt")
        out.append(SearchRecord(str(rid), props, updated if isinstance(updated, str) else None))
    return out


@dc.dataclass(frozen=True, slots=True)
class SearchPage:
    """Search records, and the millisecond up to which (inclusive) the window is fully read."""

    records: list[t.Any]
    safe_ms: int | None


def record_millis(record: t.Any, time_property: str) -> int | None:
    """The record's value of ``time_property`` in epoch ms (None if absent or unreadable)."""
    value = (record.properties or {}).get(time_property)
    if value in (None, ""):
        value = getattr(record, "updated_at", None) if time_property in ("lastmodifieddate", "hs_lastmodifieddate") else None
    if value in (None, ""):
        return None
    try:
        return int(parse_hubspot_time(value).timestamp() * 1000)
    except (ConversionError, ValueError, OverflowError):
        return None


def keyset_search(
    client: HubSpotClient,
    search_api: t.Any,
    object_type: str,
    time_property: str,
    properties: t.Sequence[str],
    since_ms: int | None,
    until_ms: int,
    *,
    page_size: int = PAGE_SIZE,
    alternatives: t.Sequence[Alternative] = (),
) -> t.Iterator[SearchPage]:
    """Yield every record with ``since_ms < time <= until_ms`` (``since_ms=None``: from the start).

    ``alternatives``: only records matching at least one of these filters as well. Each becomes a
    filter group of its own holding the walk's filters too (groups are ORed, filters in a group
    ANDed): with the walk's two filters, four alternatives use 4 groups of 3, 12 filters in all,
    within HubSpot's limits (5 groups; 6 filters per group and 18 in all before the
    August 2024 change, 10 and 25 since: https://developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api).

    Records without a readable time cannot take part in the walk's bookkeeping; they are still
    yielded (a translator turns them into rejects) and the walk goes on.
    """
    models = _models(search_api)
    config = search_api.api_client.configuration
    path = f"/crm/v3/objects/{object_type}/search"
    props = list(dict.fromkeys([*properties, time_property, "hs_object_id"]))

    def one(p: str, op: str, v: str | list[str] | None) -> t.Any:
        if isinstance(v, list):
            return models.Filter(property_name=p, operator=op, values=v, local_vars_configuration=config)
        return models.Filter(property_name=p, operator=op, value=v, local_vars_configuration=config)

    def search(filters: list[tuple[str, str, str]], sort_by: str) -> list[t.Any]:
        cfg = config  # the API's Configuration: no default copy per model instance
        groups = [[*filters, alt] for alt in alternatives] if alternatives else [filters]
        request = models.PublicObjectSearchRequest(
            filter_groups=[models.FilterGroup(filters=[one(*f) for f in group], local_vars_configuration=cfg) for group in groups],
            sorts=[{"propertyName": sort_by, "direction": "ASCENDING"}],
            properties=props,
            limit=page_size,
            local_vars_configuration=cfg,
        )
        answer = client.call("POST", path, search_api.do_search, public_object_search_request=request, _preload_content=False)
        try:
            data = answer.data
        finally:
            answer.release_conn()
        return read_search_answer(data, path)

    lo = since_ms
    while True:
        filters = [(time_property, "LTE", str(until_ms))]
        if lo is not None:
            filters.append((time_property, "GT", str(lo)))
        results = search(filters, time_property)
        if len(results) < page_size:
            yield SearchPage(results, until_ms)
            return
        stamps = [record_millis(r, time_property) for r in results]
        known = [s for s in stamps if s is not None]
        if not known:
            raise _walk_error(object_type, time_property)
        last = max(known)
        if min(known) == last:
            # A full page in one millisecond: walk it by the secondary key.
            yield from _walk_millisecond(search, time_property, last, page_size)
            lo = last
            continue
        done = [r for r, s in zip(results, stamps, strict=False) if s is None or s < last]
        lo = last - 1
        yield SearchPage(done, lo)


def _walk_millisecond(
    search: t.Callable[[list[tuple[str, str, str]], str], list[t.Any]], time_property: str, ms: int, page_size: int
) -> t.Iterator[SearchPage]:
    after_id = 0
    while True:
        results = search([(time_property, "EQ", str(ms)), ("hs_object_id", "GT", str(after_id))], "hs_object_id")
        done = len(results) < page_size
        yield SearchPage(results, ms if done else ms - 1)
        if done:
            return
        after_id = max(int(r.id) for r in results)


def _walk_error(object_type: str, time_property: str) -> Exception:
    from connector.adapters.base import CRMError

    return CRMError(f"HubSpot search on {object_type} returned a full page without readable '{time_property}' values; cannot page safely")


def _models(search_api: t.Any) -> t.Any:
    """The generated models module that belongs to this search API (contacts, meetings, ...)."""
    import importlib

    package = search_api.__class__.__module__.rsplit(".api.", 1)[0]
    return importlib.import_module(f"{package}.models")
