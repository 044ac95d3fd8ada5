"""Lists v3: MANUAL lists with explicit members, DYNAMIC lists whose filterBranch HubSpot evaluates.

https://developers.hubspot.com/docs/api/crm/lists and the filter reference
https://developers.hubspot.com/docs/api/crm/lists/lists-filters . A DYNAMIC list's membership is
computed from the contacts' current properties whenever it is read, so it follows the scores the
connector writes, as HubSpot's own re-evaluation does (minus HubSpot's processing delay).
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.errors import ApiError, not_found, validation_error
from connector.sandbox.hubspot.properties import OBJECT_TYPES
from connector.sandbox.hubspot.store import Record, Store

__all__ = ["ListStore", "ObjectList", "branch_matches", "check_branch"]

PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")
_OPS: dict[str, set[str]] = {
    "NUMBER": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_GREATER_THAN", "IS_GREATER_THAN_OR_EQUAL_TO", "IS_LESS_THAN",
               "IS_LESS_THAN_OR_EQUAL_TO", "IS_BETWEEN", "IS_NOT_BETWEEN", "IS_KNOWN", "IS_UNKNOWN"},
    "STRING": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH", "IS_KNOWN", "IS_UNKNOWN"},
    "MULTISTRING": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"},
    "ENUMERATION": {"IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY", "IS_NOT_EXACTLY", "CONTAINS_ALL", "DOES_NOT_CONTAIN_ALL", "IS_KNOWN", "IS_UNKNOWN"},
    "BOOL": {"IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "IS_KNOWN", "IS_UNKNOWN"},
    "ALL_PROPERTY": {"IS_KNOWN", "IS_UNKNOWN"},
}
_NEGATIVE = {"IS_NOT_EQUAL_TO", "DOES_NOT_CONTAIN", "IS_NONE_OF", "IS_NOT_EXACTLY", "DOES_NOT_CONTAIN_ALL", "IS_NOT_BETWEEN"}


@dataclasses.dataclass
class ObjectList:
    """One list."""

    list_id: str
    name: str
    object_type_id: str
    processing_type: str
    filter_branch: dict[str, t.Any] | None
    created_ms: int
    updated_ms: int
    filters_updated_ms: int
    members: dict[str, int] = dataclasses.field(default_factory=dict)
    version: int = 1
    deleted: bool = False

    def to_json(self, size: int, include_filters: bool) -> dict[str, t.Any]:
        """HubSpot's ``PublicObjectList``."""
        body: dict[str, t.Any] = {
            "listId": self.list_id, "listVersion": self.version, "name": self.name,
            "objectTypeId": self.object_type_id, "processingType": self.processing_type,
            "processingStatus": "COMPLETE", "createdAt": iso_ms(self.created_ms), "updatedAt": iso_ms(self.updated_ms),
            "filtersUpdatedAt": iso_ms(self.filters_updated_ms), "createdById": "1", "updatedById": "1", "size": size,
        }
        if include_filters and self.filter_branch is not None:
            body["filterBranch"] = self.filter_branch
        return body


def check_branch(branch: t.Any, where: str = "filterBranch", root: bool = True) -> None:
    """400 naming the first part of a filter branch the sandbox does not understand."""
    if not isinstance(branch, dict):
        raise validation_error(f"{where} must be an object")
    kind = branch.get("filterBranchType")
    if kind not in ("OR", "AND"):
        raise validation_error(f"{where}.filterBranchType {kind!r} is not supported (OR or AND)")
    if root and kind != "OR":
        raise validation_error(f"{where}: the root filter branch must be of type OR")
    children = branch.get("filterBranches") or []
    filters = branch.get("filters") or []
    if not isinstance(children, list) or not isinstance(filters, list):
        raise validation_error(f"{where}.filterBranches and .filters must be lists")
    if kind == "OR" and root and filters:
        raise validation_error(f"{where}: the root OR branch cannot have filters; put them in AND branches")
    for i, child in enumerate(children):
        check_branch(child, f"{where}.filterBranches[{i}]", root=False)
    for i, flt in enumerate(filters):
        _check_filter(flt, f"{where}.filters[{i}]")


def _check_filter(flt: t.Any, where: str) -> None:
    if not isinstance(flt, dict) or flt.get("filterType") != "PROPERTY":
        raise validation_error(f"{where}: only filterType PROPERTY is supported by the sandbox, got {flt!r}"[:300])
    if not flt.get("property"):
        raise validation_error(f"{where}.property is required")
    op = flt.get("operation")
    if not isinstance(op, dict):
        raise validation_error(f"{where}.operation must be an object")
    kind, operator = op.get("operationType"), op.get("operator")
    if kind not in _OPS:
        raise validation_error(f"{where}.operation.operationType {kind!r} is not supported; use one of {sorted(_OPS)}")
    if operator not in _OPS[kind]:
        raise validation_error(f"{where}.operation.operator {operator!r} is not valid for {kind}; use one of {sorted(_OPS[kind])}")
    if kind in ("MULTISTRING", "ENUMERATION") and operator not in ("IS_KNOWN", "IS_UNKNOWN") and not isinstance(op.get("values"), list):
        raise validation_error(f"{where}.operation.values must be a list for {kind}")
    if kind == "NUMBER" and operator in ("IS_BETWEEN", "IS_NOT_BETWEEN"):
        for bound in ("lowerBound", "upperBound"):
            _num(op.get(bound), f"{where}.operation.{bound}")
    elif kind == "NUMBER" and operator not in ("IS_KNOWN", "IS_UNKNOWN"):
        _num(op.get("value"), f"{where}.operation.value")


def _num(value: t.Any, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise validation_error(f"{where} must be a number, got {value!r}") from exc


def _filter_matches(record: Record, flt: dict[str, t.Any]) -> bool:
    op = flt["operation"]
    kind, operator = op["operationType"], op["operator"]
    raw = record.properties.get(flt["property"]) or ""
    known = raw != ""
    if operator == "IS_KNOWN":
        return known
    if operator == "IS_UNKNOWN":
        return not known
    if not known:
        return bool(op.get("includeObjectsWithNoValueSet", False))
    if kind == "NUMBER":
        try:
            x = float(raw)
        except ValueError:
            return False
        if operator in ("IS_BETWEEN", "IS_NOT_BETWEEN"):
            inside = float(op["lowerBound"]) <= x <= float(op["upperBound"])
            return inside if operator == "IS_BETWEEN" else not inside
        v = float(op["value"])
        return {"IS_EQUAL_TO": x == v, "IS_NOT_EQUAL_TO": x != v, "IS_GREATER_THAN": x > v, "IS_GREATER_THAN_OR_EQUAL_TO": x >= v,
                "IS_LESS_THAN": x < v, "IS_LESS_THAN_OR_EQUAL_TO": x <= v}[operator]
    if kind == "BOOL":
        same = raw.lower() == str(op.get("value")).lower()
        return same if operator == "IS_EQUAL_TO" else not same
    if kind == "ENUMERATION":
        have = {p.casefold() for p in raw.split(";")}
        want = {str(v).casefold() for v in op.get("values") or []}
        return {"IS_ANY_OF": bool(have & want), "IS_NONE_OF": not (have & want), "IS_EXACTLY": have == want,
                "IS_NOT_EXACTLY": have != want, "CONTAINS_ALL": want <= have, "DOES_NOT_CONTAIN_ALL": not want <= have}[operator]
    text = raw.casefold()
    wanted = [str(v).casefold() for v in (op.get("values") if kind == "MULTISTRING" else [op.get("value")]) or []]
    tests = {"IS_EQUAL_TO": lambda w: text == w, "IS_NOT_EQUAL_TO": lambda w: text == w, "CONTAINS": lambda w: w in text,
             "DOES_NOT_CONTAIN": lambda w: w in text, "STARTS_WITH": text.startswith, "ENDS_WITH": text.endswith}
    hit = any(tests[operator](w) for w in wanted)
    return not hit if operator in _NEGATIVE else hit


def branch_matches(record: Record, branch: dict[str, t.Any]) -> bool:
    """Whether a record satisfies a (validated) filter branch."""
    filters = [_filter_matches(record, f) for f in branch.get("filters") or []]
    children = [branch_matches(record, b) for b in branch.get("filterBranches") or []]
    parts = filters + children
    if branch["filterBranchType"] == "AND":
        return all(parts)
    return any(parts)


class ListStore:
    """Every list of the portal; DYNAMIC memberships cached per store version."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lists: dict[str, ObjectList] = {}
        self._next = 1
        self._lock = threading.RLock()
        self._dyn_cache: dict[str, tuple[int, int, list[str]]] = {}  # list id -> (store version, list version, unused)

    def create(self, body: t.Any) -> ObjectList:
        """Create from a ``ListCreateRequest`` body; 400 for bad input, 409 for a taken name."""
        if not isinstance(body, dict):
            raise validation_error("list body must be a JSON object")
        name, object_type_id, kind = body.get("name"), str(body.get("objectTypeId") or ""), body.get("processingType")
        if not name or not isinstance(name, str):
            raise validation_error("name is required")
        if object_type_id not in OBJECT_TYPES.values():
            raise validation_error(f"objectTypeId {object_type_id!r} is not supported; contacts are '0-1'")
        if kind not in PROCESSING_TYPES:
            raise validation_error(f"processingType must be one of {list(PROCESSING_TYPES)}, got {kind!r}")
        branch = body.get("filterBranch")
        if kind == "MANUAL" and branch is not None:
            raise validation_error("MANUAL lists cannot have a filterBranch")
        if kind in ("DYNAMIC", "SNAPSHOT"):
            if branch is None:
                raise validation_error(f"{kind} lists require a filterBranch")
            check_branch(branch)
        with self._lock:
            if any(lst.name.casefold() == name.casefold() and lst.object_type_id == object_type_id and not lst.deleted for lst in self._lists.values()):
                raise ApiError(409, f"A list named '{name}' already exists.", "CONFLICT", subCategory="ILS.DUPLICATE_LIST_NAMES")
            now = self.store.clock.now_ms()
            lst = ObjectList(str(self._next), name, object_type_id, kind, branch, now, now, now)
            self._next += 1
            if kind == "SNAPSHOT":
                lst.members = {rid: now for rid in self._evaluate(lst)}
            self._lists[lst.list_id] = lst
            return lst

    def get(self, list_id: str) -> ObjectList:
        """A list by id, or 404."""
        lst = self._lists.get(str(list_id))
        if lst is None or lst.deleted:
            raise not_found(f"List {list_id} does not exist.")
        return lst

    def by_name(self, object_type_id: str, name: str) -> ObjectList:
        """A list by object type and name, or 404."""
        for lst in self._lists.values():
            if not lst.deleted and lst.object_type_id == object_type_id and lst.name.casefold() == name.casefold():
                return lst
        raise not_found(f"List with name '{name}' does not exist for object type {object_type_id}.")

    def all(self) -> list[ObjectList]:
        """Every live list, by id."""
        return [lst for lst in self._lists.values() if not lst.deleted]

    def delete(self, list_id: str) -> None:
        """Delete a list."""
        self.get(list_id).deleted = True

    def update_filters(self, list_id: str, branch: t.Any) -> ObjectList:
        """Replace a DYNAMIC list's filters."""
        lst = self.get(list_id)
        if lst.processing_type != "DYNAMIC":
            raise validation_error(f"List {list_id} is a {lst.processing_type} list; only DYNAMIC list filters can be updated")
        check_branch(branch)
        with self._lock:
            lst.filter_branch = branch
            lst.version += 1
            lst.filters_updated_ms = lst.updated_ms = self.store.clock.now_ms()
            self._dyn_cache.pop(lst.list_id, None)
        return lst

    def _evaluate(self, lst: ObjectList) -> list[str]:
        with self.store.lock:
            table = self.store.objects(lst.object_type_id)
            return [r.id for r in table.records.values() if not r.archived and branch_matches(r, lst.filter_branch or {})]

    def member_ids(self, lst: ObjectList) -> list[tuple[str, int]]:
        """Current members with the time they joined, sorted by record id.

        A DYNAMIC list is re-evaluated when the store or the filters changed; a record that newly
        matches joins at the sandbox's current time, one that stops matching leaves.
        """
        if lst.processing_type != "DYNAMIC":
            return sorted(lst.members.items(), key=lambda kv: int(kv[0]))
        cached = self._dyn_cache.get(lst.list_id)
        if not (cached and cached[0] == self.store.version and cached[1] == lst.version):
            now = self.store.clock.now_ms()
            matching = self._evaluate(lst)
            lst.members = {rid: lst.members.get(rid, now) for rid in matching}
            self._dyn_cache[lst.list_id] = (self.store.version, lst.version, [])
        return sorted(lst.members.items(), key=lambda kv: int(kv[0]))

    def change(self, list_id: str, ids: t.Any, add: bool) -> dict[str, list[str]]:
        """Add or remove members of a MANUAL/SNAPSHOT list, idempotently."""
        lst = self.get(list_id)
        if lst.processing_type == "DYNAMIC":
            raise validation_error(f"List {list_id} is a DYNAMIC list; its memberships cannot be edited manually")
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
            raise validation_error("body must be a JSON list of record ids")
        added, removed, missing = [], [], []
        with self._lock:
            now = self.store.clock.now_ms()
            for raw in ids:
                rid = str(raw)
                if self.store.get(lst.object_type_id, rid) is None:
                    missing.append(rid)
                elif add and rid not in lst.members:
                    lst.members[rid] = now
                    added.append(rid)
                elif not add and rid in lst.members:
                    del lst.members[rid]
                    removed.append(rid)
            if added or removed:
                lst.updated_ms = now
        return {"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing}
