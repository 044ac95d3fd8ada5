"""CRM search: HubSpot's filter groups, operators, one sort, paging and the 10,000-result cap.

https://developers.hubspot.com/docs/api/crm/search -- filters in a group are ANDed, groups are
ORed (at most 5 groups, 6 filters per group, 18 filters), one sort rule, ``limit`` <= 200, ``after``
is an offset, and no query can reach past its 10,000th result.

Speed matters (a sync pages 100,000 contacts): a query whose only filters are ranges on the
modification date and whose sort is that date (or none) is answered from the store's sorted
index with a bisect and a slice. A query whose only filters are ranges on another date property
and whose sort is that property (a keyset walk on ``createdate`` or on the customer date) is
answered likewise from an index of that property, sorted once per store version: each page of
such a walk has a filter of its own, so caching matching ids would not help, and evaluating every
record per page made the walk quadratic (a 1,000,000-contact portal's customer walk took minutes
per hundred pages). Other queries are evaluated once and their matching ids cached until the
store changes, so paging through them costs one evaluation, not one per page.
"""

from __future__ import annotations

import bisect
import dataclasses
import fnmatch
import functools
import json
import re
import typing as t

from connector.sandbox.hubspot.clock import parse_time_ms
from connector.sandbox.hubspot.errors import validation_error
from connector.sandbox.hubspot.properties import PropertyDef
from connector.sandbox.hubspot.sortedkeys import SortedKeys
from connector.sandbox.hubspot.store import MODIFIED_PROPS, Record, Store

__all__ = ["MAX_RESULTS", "SearchPage", "SearchQuery", "parse_query", "run_search"]

MAX_RESULTS = 10_000
MAX_LIMIT = 200
OPERATORS = ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN")
_RANGE_OPS = {"LT", "LTE", "GT", "GTE", "BETWEEN", "EQ"}


@dataclasses.dataclass(frozen=True)
class Filter:
    """One parsed filter."""

    prop: str
    operator: str
    value: t.Any = None
    high: t.Any = None
    values: tuple[t.Any, ...] = ()


@dataclasses.dataclass
class SearchQuery:
    """A validated search request."""

    object_type: str
    groups: list[list[Filter]]
    sort_prop: str | None
    descending: bool
    properties: list[str] | None
    limit: int
    after: int
    text: str | None = None

    def cache_key(self) -> str:
        """Identity of the result set (paging and properties excluded)."""
        return json.dumps([self.object_type, [[dataclasses.astuple(f) for f in g] for g in self.groups], self.sort_prop, self.descending, self.text], default=str)


@dataclasses.dataclass
class SearchPage:
    """One page of results."""

    total: int
    records: list[Record]
    next_after: int | None


@functools.lru_cache(maxsize=262_144)
def _time_ms(value: str) -> int:
    return parse_time_ms(value)


def _coerce(prop: PropertyDef, raw: t.Any, where: str) -> t.Any:
    """A filter value in the property's comparison domain; 400 naming the filter if impossible."""
    if raw is None:
        raise validation_error(f"{where}: a value is required for this operator")
    try:
        if prop.type == "number":
            return float(raw)
        if prop.type in ("datetime", "date"):
            return parse_time_ms(raw)
    except (TypeError, ValueError) as exc:
        raise validation_error(f"{where}: {raw!r} is not a valid {prop.type} value ({exc})") from exc
    return str(raw).casefold()


def _stored(prop: PropertyDef, value: str) -> t.Any:
    if prop.type == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if prop.type in ("datetime", "date"):
        try:
            return _time_ms(value)
        except ValueError:
            return None
    return value.casefold()


def _parse_sorts(raw: t.Any) -> tuple[str | None, bool]:
    """The sort property and direction of a search body.

    HubSpot accepts ``[{propertyName, direction}]``; the SDK types sorts as strings, so also
    ``"prop"``/``"-prop"`` and JSON-encoded objects.
    """
    if raw in (None, []):
        return None, False
    if not isinstance(raw, list):
        raise validation_error("sorts must be a list")
    if len(raw) > 1:
        raise validation_error("Only one sort is allowed per search request.")
    item = raw[0]
    if isinstance(item, str) and item.strip().startswith("{"):
        try:
            item = json.loads(item)
        except json.JSONDecodeError as exc:
            raise validation_error(f"sorts[0] is not valid JSON: {exc}") from exc
    if isinstance(item, str):
        return (item[1:], True) if item.startswith("-") else (item, False)
    if isinstance(item, dict) and item.get("propertyName"):
        direction = str(item.get("direction") or "ASCENDING").upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"sorts[0].direction must be ASCENDING or DESCENDING, not {direction!r}")
        return str(item["propertyName"]), direction == "DESCENDING"
    raise validation_error(f"sorts[0] must be {{propertyName, direction}}, got {item!r}")


def parse_query(store: Store, object_type: str, body: t.Any) -> SearchQuery:
    """Validate a search body as HubSpot does; raises 400 with a message naming the bad part."""
    if not isinstance(body, dict):
        raise validation_error("search body must be a JSON object")
    limit = body.get("limit", 10)
    try:
        limit = int(limit)
    except (TypeError, ValueError) as exc:
        raise validation_error(f"limit must be an integer, got {limit!r}") from exc
    if limit < 1 or limit > MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
    after_raw = body.get("after") or 0
    try:
        after = int(after_raw)
    except (TypeError, ValueError) as exc:
        raise validation_error(f"after must be an offset returned in paging.next.after; got {after_raw!r}") from exc
    if after < 0:
        raise validation_error("after must not be negative")
    if after + limit > MAX_RESULTS:
        raise validation_error(
            f"Search results are limited to {MAX_RESULTS:,} total results; after={after} limit={limit} goes past that. "
            "Narrow the query (e.g. split it into smaller time windows).",
            subCategory="SearchErrorCategory.RESULTS_CAP_EXCEEDED",
        )
    groups_raw = body.get("filterGroups") or []
    if not isinstance(groups_raw, list):
        raise validation_error("filterGroups must be a list")
    if len(groups_raw) > 5:
        raise validation_error(f"Too many filter groups ({len(groups_raw)}); the maximum is 5")
    groups: list[list[Filter]] = []
    total = 0
    for gi, group in enumerate(groups_raw):
        filters_raw = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters_raw, list):
            raise validation_error(f"filterGroups[{gi}].filters must be a list")
        if len(filters_raw) > 6:
            raise validation_error(f"filterGroups[{gi}] has {len(filters_raw)} filters; the maximum is 6 per group")
        total += len(filters_raw)
        parsed = []
        for fi, raw in enumerate(filters_raw):
            parsed.append(_parse_filter(store, object_type, raw, f"filterGroups[{gi}].filters[{fi}]"))
        groups.append(parsed)
    if total > 18:
        raise validation_error(f"Too many filters ({total}); the maximum is 18 in total")
    sort_prop, descending = _parse_sorts(body.get("sorts"))
    if sort_prop is not None and store.catalog.get(object_type, sort_prop) is None:
        raise validation_error(f"Cannot sort by property '{sort_prop}': it does not exist on {object_type}")
    props = body.get("properties")
    if props is not None and not isinstance(props, list):
        raise validation_error("properties must be a list of property names")
    text = body.get("query")
    return SearchQuery(object_type, groups, sort_prop, descending, [str(p) for p in props] if props else None, limit, after, str(text) if text else None)


def _parse_filter(store: Store, object_type: str, raw: t.Any, where: str) -> Filter:
    if not isinstance(raw, dict):
        raise validation_error(f"{where} must be an object")
    name, operator = raw.get("propertyName"), str(raw.get("operator") or "").upper()
    if not name:
        raise validation_error(f"{where}.propertyName is required")
    if operator not in OPERATORS:
        raise validation_error(f"{where}.operator {raw.get('operator')!r} is not one of {list(OPERATORS)}")
    prop = store.catalog.get(object_type, str(name))
    if prop is None:
        raise validation_error(f"{where}: property '{name}' does not exist on {object_type}")
    where = f"{where} ({name} {operator})"
    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return Filter(str(name), operator)
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"{where}: 'values' must be a non-empty list")
        return Filter(str(name), operator, values=tuple(_coerce(prop, v, where) for v in values))
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        if raw.get("value") in (None, ""):
            raise validation_error(f"{where}: a value is required")
        return Filter(str(name), operator, value=str(raw["value"]).casefold())
    value = _coerce(prop, raw.get("value"), where)
    high = _coerce(prop, raw.get("highValue"), where + " highValue") if operator == "BETWEEN" else None
    return Filter(str(name), operator, value=value, high=high)


_TOKEN = re.compile(r"[^\W_]+(?:[.'@-][^\W_]+)*")


def _matches(store: Store, object_type: str, record: Record, flt: Filter) -> bool:
    raw = record.properties.get(flt.prop) or ""
    has = raw != ""
    op = flt.operator
    if op == "HAS_PROPERTY":
        return has
    if op == "NOT_HAS_PROPERTY":
        return not has
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        found = False
        if has:
            text = raw.casefold()
            tokens = set(_TOKEN.findall(text)) | set(re.split(r"\s+", text))
            pattern = flt.value
            found = any(fnmatch.fnmatchcase(tok, pattern) for tok in tokens) if "*" in pattern else pattern in tokens
        return found if op == "CONTAINS_TOKEN" else not found
    prop = store.catalog.get(object_type, flt.prop)
    assert prop is not None
    if not has:
        return op in ("NEQ", "NOT_IN")
    parts = raw.split(";") if prop.type == "enumeration" and prop.field_type == "checkbox" else [raw]
    stored = [_stored(prop, p) for p in parts]
    stored = [s for s in stored if s is not None]
    if not stored:
        return op in ("NEQ", "NOT_IN")
    if op == "EQ":
        return flt.value in stored
    if op == "NEQ":
        return flt.value not in stored
    if op == "IN":
        return any(s in flt.values for s in stored)
    if op == "NOT_IN":
        return not any(s in flt.values for s in stored)
    s = stored[0]
    if op == "LT":
        return s < flt.value
    if op == "LTE":
        return s <= flt.value
    if op == "GT":
        return s > flt.value
    if op == "GTE":
        return s >= flt.value
    if op == "BETWEEN":
        return flt.value <= s <= flt.high
    return False


def _group_bounds(group: list[Filter], index_props: tuple[str, ...]) -> tuple[tuple[int, int] | None, bool]:
    """Bounds on the modification-date index implied by a group's range filters on it.

    Also whether those range filters are the group's only filters. ``None`` bounds: the group has no such filter.
    """
    lo, hi = -(2**62), 2**62
    bounded, only = False, True
    for flt in group:
        if flt.prop not in index_props or flt.operator not in _RANGE_OPS:
            only = False
            continue
        bounded = True
        v = int(flt.value)
        if flt.operator == "GT":
            lo = max(lo, v + 1)
        elif flt.operator == "GTE":
            lo = max(lo, v)
        elif flt.operator == "LT":
            hi = min(hi, v - 1)
        elif flt.operator == "LTE":
            hi = min(hi, v)
        elif flt.operator == "EQ":
            lo, hi = max(lo, v), min(hi, v)
        elif flt.operator == "BETWEEN":
            lo, hi = max(lo, v), min(hi, int(flt.high))
    return ((lo, hi) if bounded else None), only


def _index_range(query: SearchQuery, index_props: tuple[str, ...]) -> tuple[int, int] | None:
    """Bounds on the index when the answer is exactly an index slice (one group of date ranges, sorted by the date)."""
    if len(query.groups) > 1 or query.sort_prop not in index_props or query.text:
        return None
    if not query.groups:
        return -(2**62), 2**62
    bounds, only = _group_bounds(query.groups[0], index_props)
    return bounds if only else None


def _slice(index: list[tuple[int, int]] | SortedKeys, bounds: tuple[int, int]) -> tuple[int, int]:
    if isinstance(index, SortedKeys):
        return index.bisect_left((bounds[0], -1)), index.bisect_right((bounds[1], 2**62))
    return bisect.bisect_left(index, (bounds[0], -1)), bisect.bisect_right(index, (bounds[1], 2**62))


def _date_range(store: Store, query: SearchQuery) -> tuple[int, int] | None:
    """Bounds on the sort property's index when the answer is exactly a slice of it (one group of ranges on that date property)."""
    prop = store.catalog.get(query.object_type, query.sort_prop) if query.sort_prop else None
    if prop is None or prop.type not in ("datetime", "date") or len(query.groups) != 1 or query.text:
        return None
    bounds, only = _group_bounds(query.groups[0], (prop.name,))
    return bounds if only else None


def _build_index(store: Store, table: t.Any, object_type: str, name: str) -> list[tuple[int, int]]:
    """``(value in ms, id)`` of every live record that has a readable value of the date property ``name``, sorted."""
    prop = store.catalog.get(object_type, name)
    assert prop is not None
    index = []
    for record in table.records.values():
        raw = record.properties.get(name)
        if raw and not record.archived:
            value = _stored(prop, raw)
            if value is not None:
                index.append((int(value), int(record.id)))
    index.sort()
    return index


class SearchCache:
    """Matching ids of recent queries, and sorted date indexes, valid while the store version is unchanged."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._entries: dict[str, tuple[int, list[str]]] = {}
        self._indexes: dict[tuple[str, str], tuple[int, list[tuple[int, int]]]] = {}

    def index(self, store: Store, table: t.Any, object_type: str, name: str) -> list[tuple[int, int]]:
        """The sorted index of date property ``name`` (built again when the store changed)."""
        entry = self._indexes.get((object_type, name))
        if entry is None or entry[0] != store.version:
            entry = (store.version, _build_index(store, table, object_type, name))
            self._indexes[(object_type, name)] = entry
        return entry[1]

    def get(self, key: str, version: int) -> list[str] | None:
        entry = self._entries.get(key)
        return entry[1] if entry and entry[0] == version else None

    def put(self, key: str, version: int, ids: list[str]) -> None:
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (version, ids)


def run_search(store: Store, query: SearchQuery, cache: SearchCache | None = None) -> SearchPage:
    """Evaluate a query against the store (caller need not hold the lock)."""
    with store.lock:
        table = store.objects(query.object_type)
        index_props = MODIFIED_PROPS.get(query.object_type, ("hs_lastmodifieddate",))
        bounds = _index_range(query, index_props)
        index: list[tuple[int, int]] | SortedKeys = table.by_modified
        if bounds is None and (bounds := _date_range(store, query)) is not None:
            assert query.sort_prop is not None
            index = cache.index(store, table, query.object_type, query.sort_prop) if cache else _build_index(store, table, query.object_type, query.sort_prop)
        if bounds is not None:
            start, stop = _slice(index, bounds)
            total = max(0, stop - start)
            if query.descending:
                window = index[max(start, stop - query.after - query.limit):stop - query.after][::-1] if query.after < total else []
            else:
                window = index[start + query.after:min(stop, start + query.after + query.limit)]
            records = [table.records[str(rid)] for _, rid in window]
        else:
            ids = cache.get(query.cache_key(), store.version) if cache else None
            if ids is None:
                ids = _evaluate(store, query, _candidates(query, table, index_props))
                if cache:
                    cache.put(query.cache_key(), store.version, ids)
            total = len(ids)
            records = [table.records[i] for i in ids[query.after:query.after + query.limit]]
        end = query.after + len(records)
        # like HubSpot, paging goes on up to the cap; asking for the page past 10,000 is then a 400
        next_after = end if end < total else None
        return SearchPage(total, records, next_after)


def _candidates(query: SearchQuery, table: t.Any, index_props: tuple[str, ...]) -> list[Record]:
    """Records that can match: index slices when every group bounds the modification date, else all."""
    slices = []
    for group in query.groups:
        bounds, _only = _group_bounds(group, index_props)
        if bounds is None:
            return list(table.records.values())
        slices.append(_slice(table.by_modified, bounds))
    if not slices:
        return list(table.records.values())
    ids: set[int] = set()
    for start, stop in slices:
        ids.update(rid for _, rid in table.by_modified[start:stop])
    return [table.records[str(i)] for i in ids]


def _evaluate(store: Store, query: SearchQuery, records: list[Record]) -> list[str]:
    candidates = [r for r in records if not r.archived]
    if query.text:
        needle = query.text.casefold()
        candidates = [r for r in candidates if any(needle in (r.properties.get(p) or "").casefold() for p in ("email", "firstname", "lastname", "company", "hs_meeting_title", "hs_task_subject"))]
    if query.groups:
        candidates = [r for r in candidates if any(all(_matches(store, query.object_type, r, f) for f in g) for g in query.groups)]
    if query.sort_prop is None:
        candidates.sort(key=lambda r: int(r.id))
    else:
        prop = store.catalog.get(query.object_type, query.sort_prop)
        assert prop is not None

        def key(record: Record) -> tuple[int, t.Any, int]:
            raw = record.properties.get(query.sort_prop or "")
            value = _stored(prop, raw) if raw else None
            if value is None:
                return (1, 0, int(record.id))
            return (0, value, int(record.id))

        present = [r for r in candidates if key(r)[0] == 0]
        missing = [r for r in candidates if key(r)[0] == 1]
        present.sort(key=key, reverse=query.descending)  # ties: by id, in the sort's direction
        missing.sort(key=lambda r: int(r.id))
        candidates = present + missing
    return [r.id for r in candidates]
